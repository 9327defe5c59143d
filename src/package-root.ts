/**
 * Where daebug itself is installed: its built client code and native helper live under it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder above this module with daebug's package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'daebug') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the daebug package root');
    dir = parent;
  }
}
