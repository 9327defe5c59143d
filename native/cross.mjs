// Builds native/exchange.c for every Linux CPU daebug ships a prebuilt exchange rename for, into
// native/prebuilt/ (committed: a machine without a C compiler, or of another CPU, gets them from the
// package). Needs Debian's cross compilers: apt-get install gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf.
// The builds link no C library (exchange.c makes its system call itself), so each serves glibc and musl.
// SOURCE.sha256 records the source they were built from; a test fails when exchange.c changes without them.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { compileFlags, nodeHeaders } from './build.mjs';

const here = dirname(new URL(import.meta.url).pathname);
const source = join(here, 'exchange.c');
const headers = nodeHeaders();
if (!headers) throw new Error("Node's headers (node_api.h) not found");
const targets = { x64: 'gcc', arm64: 'aarch64-linux-gnu-gcc', arm: 'arm-linux-gnueabihf-gcc' };
for (const [arch, compiler] of Object.entries(targets)) {
  const out = join(here, 'prebuilt', `exchange-linux-${arch}.node`);
  const built = spawnSync(compiler, [...compileFlags(headers), source, '-o', out], { stdio: 'inherit' });
  if (built.error || built.status !== 0) throw new Error(`${compiler} could not build ${out}`);
  console.log(`native: built ${resolve(out)}`);
}
writeFileSync(join(here, 'prebuilt', 'SOURCE.sha256'), createHash('sha256').update(readFileSync(source)).digest('hex') + '\n');
