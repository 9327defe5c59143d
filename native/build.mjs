// Puts the exchange rename into dist/native/exchange-linux-<arch>.node: this machine's CPU built from
// native/exchange.c with the system C compiler and Node's headers when it can, and the prebuilt
// builds of native/prebuilt/ for every other CPU (and for this one when it cannot compile). Only Linux
// has RENAME_EXCHANGE; elsewhere, or where none fits, daebug writes logs without it (docs/daemon.md).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const here = dirname(new URL(import.meta.url).pathname);

/** The folder with Node's node_api.h, or undefined. */
export function nodeHeaders() {
  return [resolve(process.execPath, '../../include/node'), '/usr/include/node'].find((dir) => existsSync(join(dir, 'node_api.h')));
}

/** A shared object that links no C library (exchange.c makes its own system call). */
export function compileFlags(headers) {
  return ['-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-nostdlib', '-fno-stack-protector', `-I${headers}`];
}

function build() {
  const dist = join(here, '..', 'dist', 'native');
  mkdirSync(dist, { recursive: true });
  const prebuilt = join(here, 'prebuilt');
  for (const name of readdirSync(prebuilt).filter((file) => file.endsWith('.node'))) copyFileSync(join(prebuilt, name), join(dist, name));
  if (process.platform !== 'linux') return console.log(`native: no exchange rename on ${process.platform}; logs are written with link and rename`);
  const out = join(dist, `exchange-linux-${process.arch}.node`);
  const headers = nodeHeaders();
  const compiler = process.env.CC || 'cc';
  const built = headers ? spawnSync(compiler, [...compileFlags(headers), join(here, 'exchange.c'), '-o', out], { stdio: 'inherit' }) : null;
  if (built && !built.error && built.status === 0) return console.log(`native: built ${out}`);
  console.log(existsSync(out) ? `native: using the prebuilt ${out}` : `native: no exchange rename for linux-${process.arch}; logs are written with link and rename`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(here, 'build.mjs')) build();
