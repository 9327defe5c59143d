// Builds native/exchange.c into dist/native/exchange-<platform>-<arch>.node with the system C compiler
// and Node's own headers. Only Linux has RENAME_EXCHANGE; elsewhere, or without a compiler, daebug
// writes logs without it (see docs/daemon.md) and this script says so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const out = join(root, 'dist', 'native', `exchange-${process.platform}-${process.arch}.node`);
if (process.platform !== 'linux') {
  console.log(`native: no exchange rename on ${process.platform}; logs are written with link and rename`);
  process.exit(0);
}
const headers = [resolve(process.execPath, '../../include/node'), '/usr/include/node'].find((dir) => existsSync(join(dir, 'node_api.h')));
if (!headers) {
  console.warn("native: Node's headers (node_api.h) not found; logs are written without the exchange rename");
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const compiler = process.env.CC || 'cc';
const built = spawnSync(compiler, ['-O2', '-shared', '-fPIC', '-Wall', '-Werror', `-I${headers}`, join(root, 'native', 'exchange.c'), '-o', out], { stdio: 'inherit' });
if (built.error || built.status !== 0) {
  console.warn(`native: ${compiler} could not build exchange.c; logs are written without the exchange rename`);
  process.exit(0);
}
console.log(`native: built ${out}`);
