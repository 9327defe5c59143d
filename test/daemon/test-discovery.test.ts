// Test discovery on a real folder with a real symlink: what it finds, what it refuses, and that no
// pattern lists anything outside the root.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { discoverTestFiles } from '../../src/daemon/test-discovery.js';
import { tempRoot } from '../helpers/temp.js';

const base = tempRoot();
const outside = join(base, 'outside');
const root = join(base, 'project');
for (const [path, text] of Object.entries({
  'outside/a.test.js': 'outside the root',
  'up.test.js': 'next to the root',
  'project/tests/a.test.js': '',
  'project/tests/b.test.mjs': '',
  'project/lib/test-util.js': '',
  'project/node_modules/pkg/c.test.js': '',
})) {
  mkdirSync(join(base, path, '..'), { recursive: true });
  writeFileSync(join(base, path), text);
}
symlinkSync(outside, join(root, 'link'));
symlinkSync(join(outside, 'a.test.js'), join(root, 'linked.test.js'));

async function files(patterns: string[], limit?: number): Promise<string[]> {
  const found = await discoverTestFiles(root, patterns, limit);
  assert.ok(found.ok, `${patterns.join(', ')} was refused: ${found.ok ? '' : found.error}`);
  return found.files;
}

test('the default patterns find test files under the root, outside node_modules', async () => {
  assert.deepEqual(await files([]), ['/lib/test-util.js', '/tests/a.test.js', '/tests/b.test.mjs']);
});

test('relative patterns work, braces included', async () => {
  assert.deepEqual(await files(['tests/*.test.js']), ['/tests/a.test.js']);
  assert.deepEqual(await files(['**/*.test.{js,mjs}']), ['/tests/a.test.js', '/tests/b.test.mjs']);
  assert.deepEqual(await files(['./tests/{a,b}.test.*', '{lib,nowhere}/test-*.js']), ['/lib/test-util.js', '/tests/a.test.js', '/tests/b.test.mjs']);
  assert.deepEqual(await files(['tests/*.test.{js,mjs}', '!tests/b.*']), ['/tests/a.test.js']);
});

test('absolute patterns, .. and backslashes are refused, also when braces would produce them', async () => {
  for (const pattern of ['{/etc/*,x}', '/etc/*', '{/usr/**,x}', '../*', 'tests/../../*', '{tests,..}/*', 'C:/Windows/*', 'tests\\*.js', '\\/etc/*', '!/etc/*']) {
    const found = await discoverTestFiles(root, [pattern]);
    assert.equal(found.ok, false, `${pattern} was not refused`);
    assert.ok(!found.ok && found.code === 'ERR_BAD_PATTERN' && found.error.startsWith(`test pattern ${JSON.stringify(pattern)} is refused: `), `${pattern}: ${JSON.stringify(found)}`);
  }
});

test('patterns that only look like a way up find nothing outside the root', async () => {
  // braces leaves `{..,x}` as it is (it reads `..` as a range), and fast-glob takes it literally.
  for (const pattern of ['{..,x}/*', '{..,x}/*.test.js', '.[.]/*', '@(..)/*']) {
    const found = await discoverTestFiles(root, [pattern]);
    assert.ok(!found.ok || found.files.length === 0, `${pattern} found ${JSON.stringify(found)}`);
  }
});

test('a symlink in the root that points outside it finds nothing', async () => {
  assert.deepEqual(await files(['link/*']), []);
  assert.deepEqual(await files(['link/**/*.js', 'linked.test.js', '*.test.js']), []);
  assert.deepEqual(await files(['{link,tests}/a.test.js']), ['/tests/a.test.js']);
});

test('braces that would expand to too many patterns are refused before they are expanded', async () => {
  for (const pattern of ['{a,b}'.repeat(20), '{1..100}{1..100}', '{\u0001..\uffff}']) {
    const found = await discoverTestFiles(root, [pattern]);
    assert.ok(!found.ok && /expand to more than 1000 patterns/.test(found.error), `${pattern.slice(0, 20)}: ${JSON.stringify(found).slice(0, 200)}`);
  }
  assert.equal((await discoverTestFiles(root, ['{1..2000}/*.js'])).ok, false, 'a range over the limit');
  assert.deepEqual(await files(['tests/{a..b}.test.{js,mjs}']), ['/tests/a.test.js', '/tests/b.test.mjs']);
});

test('the listing stops at the limit and says so', async () => {
  const capped = await discoverTestFiles(root, [], 2);
  assert.ok(capped.ok && capped.capped && capped.files.length === 2, JSON.stringify(capped));
  const all = await discoverTestFiles(root, [], 3);
  assert.ok(all.ok && !all.capped && all.files.length === 3, JSON.stringify(all));
});
