// Ctrl+C, SIGTERM and a crash each leave daebug.md in the stopped state with the reason.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempRoot, waitFor } from '../helpers/temp.js';

const CHILD = new URL('../daemon/child-daemon.ts', import.meta.url).pathname;

async function runChild(env: Record<string, string>, stop: (child: ReturnType<typeof spawn>) => void) {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitFor(() => out.includes('ready'), 'the child daemon to start', 15_000);
  assert.match(readFileSync(join(root, 'daebug.md'), 'utf8'), /^# 👾 daebug: .* since /);
  stop(child);
  return { code: await exit, registry: readFileSync(join(root, 'daebug.md'), 'utf8'), stderr: err };
}

test('SIGINT stops the daemon with the stopped registry and exit code 130', async () => {
  const { code, registry } = await runChild({}, (child) => child.kill('SIGINT'));
  assert.equal(code, 130);
  assert.match(registry, /^# 👾 daebug: daebug-test-\w+ stopped at \d\d:\d\d:\d\d \(SIGINT\)\n/);
  assert.match(registry, /npx daebug/);
});

test('a crash stops the daemon with the stopped registry naming the error', async () => {
  const { code, registry, stderr } = await runChild({ DAEBUG_TEST_CRASH: 'boom in a timer' }, () => {});
  assert.equal(code, 1);
  assert.match(registry, /stopped at \d\d:\d\d:\d\d \(crashed: boom in a timer\)/);
  assert.match(stderr, /daebug crashed: Error: boom in a timer/);
});
