// The exchange rename ships prebuilt for each Linux CPU (native/prebuilt/, built by native/cross.mjs):
// built from today's exchange.c, each an ELF shared object for its CPU that links no C library (so it
// serves glibc and musl alike), and the one of this machine's CPU swaps two files when Node loads it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';
import { tempRoot } from '../helpers/temp.js';

const native = join(packageRoot(), 'native');
/** ELF e_machine of each CPU daebug ships a build for. */
const MACHINES: Record<string, number> = { x64: 62, arm64: 183, arm: 40 };

/** The e_machine and the DT_NEEDED count of an ELF shared object. */
function readElf(bytes: Buffer): { machine: number; type: number; needed: number } {
  assert.equal(bytes.toString('latin1', 0, 4), '\x7fELF', 'an ELF file');
  const wide = bytes[4] === 2;
  assert.equal(bytes[5], 1, 'little-endian');
  const word = (at: number) => (wide ? Number(bytes.readBigUInt64LE(at)) : bytes.readUInt32LE(at));
  const [phoff, phentsize, phnum] = wide ? [word(32), bytes.readUInt16LE(54), bytes.readUInt16LE(56)] : [word(28), bytes.readUInt16LE(42), bytes.readUInt16LE(44)];
  let needed = 0;
  for (let index = 0; index < phnum; index++) {
    const header = phoff + index * phentsize;
    // PT_DYNAMIC: its entries are (tag, value) words; DT_NEEDED is 1, DT_NULL 0 ends them.
    if (bytes.readUInt32LE(header) !== 2) continue;
    const offset = wide ? word(header + 8) : word(header + 4);
    const size = wide ? word(header + 32) : word(header + 16);
    const step = wide ? 16 : 8;
    for (let at = offset; at < offset + size; at += step) {
      const tag = word(at);
      if (tag === 0) break;
      if (tag === 1) needed++;
    }
  }
  return { machine: bytes.readUInt16LE(18), type: bytes.readUInt16LE(16), needed };
}

test('the prebuilt exchange renames are built from today’s exchange.c (rebuild with node native/cross.mjs)', () => {
  const source = createHash('sha256').update(readFileSync(join(native, 'exchange.c'))).digest('hex');
  assert.equal(readFileSync(join(native, 'prebuilt', 'SOURCE.sha256'), 'utf8').trim(), source);
});

test('each prebuilt exchange rename is a shared object for its CPU that links no C library', () => {
  for (const [arch, machine] of Object.entries(MACHINES)) {
    const elf = readElf(readFileSync(join(native, 'prebuilt', `exchange-linux-${arch}.node`)));
    assert.deepEqual(elf, { machine, type: 3, needed: 0 }, arch);
    assert.ok(existsSync(join(packageRoot(), 'dist', 'native', `exchange-linux-${arch}.node`)), `the build puts ${arch}'s into dist/native`);
  }
  // The check can fail: the build Node itself uses needs the C library.
  assert.ok(readElf(readFileSync(process.execPath)).needed > 0);
});

test("the prebuilt exchange rename of this machine's CPU swaps two files when Node loads it", () => {
  const file = join(native, 'prebuilt', `exchange-linux-${process.arch}.node`);
  assert.ok(existsSync(file), `daebug ships a prebuilt exchange rename for linux-${process.arch}`);
  const { exchange } = createRequire(import.meta.url)(file) as { exchange: (a: string, b: string) => number };
  const root = tempRoot();
  const [a, b] = [join(root, 'a'), join(root, 'b')];
  writeFileSync(a, 'A');
  writeFileSync(b, 'B');
  assert.equal(exchange(a, b), 0);
  assert.deepEqual([readFileSync(a, 'utf8'), readFileSync(b, 'utf8')], ['B', 'A']);
  assert.equal(exchange(a, join(root, 'missing')), 2, 'ENOENT');
});
