// Spawns the built CLI (npm test builds it first) and checks what a user sees.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

test('the package bin points at the built CLI', () => {
  assert.equal(manifest.bin.daebug, 'dist/cli/main.js');
  assert.match(readFileSync(cli, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('--version prints the package version', () => {
  for (const flag of ['--version', '-v']) {
    const result = run(flag);
    assert.equal(result.status, 0);
    assert.equal(result.stdout, `${manifest.version}\n`);
  }
});

test('--help prints the usage', () => {
  const result = run('--help');
  assert.equal(result.status, 0);
  assert.match(result.stdout, /npx daebug \[--root <dir>\] \[--port <n>\]/);
  assert.match(result.stdout, /npx daebug --test/);
});

test('serving says it is not available yet and exits 2', () => {
  const result = run();
  assert.equal(result.status, 2);
  assert.match(result.stderr, /not implemented in this build yet/);
});
