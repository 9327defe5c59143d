/**
 * The exchange rename: two paths swapped in one step (Linux `renameat2(RENAME_EXCHANGE)`, built from
 * native/exchange.c into dist/native). Node has no such call, and without it a new version renamed
 * over a log replaces whatever file is there at that instant, an editor's save included. Where there
 * is none (another platform, no compiler at build time, a filesystem that refuses it), `exchange` is
 * null and logs are written with a link and a rename (see docs/daemon.md). `DAEBUG_NO_EXCHANGE=1`
 * turns it off (a filesystem that misbehaves with it; CI runs the stress tests that way too).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

/** Swaps two paths; 0, or the errno of the failure. */
export type Exchange = (first: string, second: string) => number;

let loaded: Exchange | null | undefined;

/** The exchange rename of this platform, or null. */
export function nativeExchange(): Exchange | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.DAEBUG_NO_EXCHANGE === '1') return loaded;
  try {
    const file = join(packageRoot(), 'dist', 'native', `exchange-${process.platform}-${process.arch}.node`);
    if (existsSync(file)) loaded = (createRequire(import.meta.url)(file) as { exchange: Exchange }).exchange;
  } catch {
    loaded = null;
  }
  return loaded;
}
