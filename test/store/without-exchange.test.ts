// The write path without the exchange rename, as on platforms that have none: the store's own tests
// and the SIGKILL loop, run again in a process where it is turned off (DAEBUG_NO_EXCHANGE=1), so that
// the fallback is tested in CI too. Not the write-race stress: without the exchange a save that lands
// between the link and the rename is replaced (docs/daemon.md, "The exchange rename earns its place"),
// and that stress finds it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

/** Runs test files in a test runner of its own with the exchange off; resolves with its exit code and output. */
async function withoutExchange(args: string[]): Promise<{ code: number | null; out: string }> {
  // Not a child of this runner, which NODE_TEST_CONTEXT would make it.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...args], { env: { ...env, DAEBUG_NO_EXCHANGE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out };
}

test('with DAEBUG_NO_EXCHANGE=1 logs are written by a link and a rename, and the store and crash tests pass', async () => {
  const { code, out } = await withoutExchange(['test/store/write-atomic.test.ts', 'test/store/log-store.test.ts', 'test/daemon/crash.test.ts']);
  assert.equal(code, 0, out.slice(-4000));
  assert.match(out, /✔ logs are put in place by the exchange rename on Linux .* or with DAEBUG_NO_EXCHANGE=1/, 'the run used the fallback');
  assert.match(out, /ℹ pass [1-9]\d*\nℹ fail 0/);
  assert.doesNotMatch(out, /ℹ skipped [1-9]/);
});
