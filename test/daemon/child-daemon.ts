// A daemon in its own process, with a realm that answers every job after a short random delay (and
// never answers `hang()`).
// Tests kill it at random moments. Usage: node --import tsx test/daemon/child-daemon.ts <root> [runs file]
// Each job's code is appended to the runs file (when given) as the realm starts it: a test counts the runs.
import { appendFileSync } from 'node:fs';
import { startDaemon } from '../../src/daemon/daemon.js';
import { stopOnProcessEnd } from '../../src/cli/process-stop.js';
import { FakeRealm } from '../helpers/fake-realm.js';

const [root, runs] = process.argv.slice(2);
if (!root) throw new Error('usage: child-daemon.ts <root>');
const daemon = await startDaemon({
  root,
  // CHILD_QUICK_MS: how long the write accepting a quick job may wait for its answer (a test widens it to kill inside).
  timing: { tickMs: 40, streamMs: 20, backgroundMs: 30, noteQuietMs: 50, registryMinIntervalMs: 20, timeoutMs: 5_000, ...(process.env.CHILD_QUICK_MS ? { quickAnswerMs: Number(process.env.CHILD_QUICK_MS) } : {}) },
  // Warnings (text put back after a restart, ...) go to the test's output, to explain a failure.
  onLog: (entry) => {
    if (entry.level !== 'info') process.stderr.write(`child daemon: ${entry.message}\n`);
  },
});
stopOnProcessEnd(daemon, (code) => process.exit(code));
new FakeRealm(daemon, 'tab', async (code) => {
  if (runs) appendFileSync(runs, JSON.stringify(code) + '\n');
  // A job that never ends: the daemon is killed while it runs.
  if (code.includes('hang()')) await new Promise(() => {});
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
  return { outcome: { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(code) } } };
});
process.stdout.write('ready\n');
if (process.env.DAEBUG_TEST_CRASH) {
  setTimeout(() => {
    throw new Error(process.env.DAEBUG_TEST_CRASH);
  }, 50);
}
