// Issue 11's stress tests, part of `npm test` (alone: `npm run stress`; longer: the benchmark's `soak`
// step). Agents in other processes save into the logs the way editors and agent tools do while the
// daemon answers requests in the same files. Every agent line stays exactly once, every request is
// run and answered exactly once, and no pending marker is left, however the writes interleave. Each
// test runs a fixed number of operations; the benchmark's `soak` step runs the same scenarios longer.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { FakeRealm, json, startTestDaemon } from '../helpers/daemon.js';
import { runStress, stressProblems, stressSummary, waitForFooters, writeHistoryLogs, type StressScenario } from '../helpers/stress.mjs';

async function stress(t: TestContext, scenario: StressScenario) {
  let historyLines = 0;
  // A long job timeout: the realms answer at once, so a timeout here could only be the test machine.
  const d = await startTestDaemon({ timeoutMs: 10_000 }, (root) => (historyLines = writeHistoryLogs(join(root, 'daebug'))));
  // Each reply names its request: the realms answer with the code they were given.
  const page = new FakeRealm(d.daemon, 'tab', (code) => json(code));
  const worker = new FakeRealm(d.daemon, 'tab-webworker', (code) => json(code), 'worker', 'tab');
  try {
    await waitForFooters(join(d.root, 'daebug'));
    const report = await runStress({
      logDir: join(d.root, 'daebug'),
      scenario,
      historyLines,
      ran: () => ({ tab: page.jobs.map((job) => job.code), 'tab-webworker': worker.jobs.map((job) => job.code) }),
      waitMs: 15_000,
      // Longer than FAST's backup grace, so a late merge shows up in the count.
      settleMs: 600,
    });
    const summary = stressSummary(report);
    t.diagnostic(summary);
    const warnings = d.entries.filter((entry) => entry.level !== 'info').map((entry) => `    ${entry.message}`);
    const problems = stressProblems(report);
    // STRESS_KEEP=<folder> keeps the logs of a failing run for a look.
    if (problems.length > 0 && process.env.STRESS_KEEP) {
      const { cpSync } = await import('node:fs');
      cpSync(join(d.root, 'daebug'), process.env.STRESS_KEEP, { recursive: true });
    }
    assert.equal(problems.length, 0, `${summary}\n${problems.join('\n')}\n  daemon warnings (${warnings.length}):\n${warnings.slice(-10).join('\n')}`);
  } finally {
    await Promise.all([page.stop(), worker.stop()]);
  }
}

test('editor safe saves (temp file renamed over the log) racing the daemon lose nothing and answer each request once', async (t) => {
  await stress(t, 'editor safe saves');
});

test('an edit tool writing the log in place (truncate, write) racing the daemon loses nothing and answers each request once', async (t) => {
  await stress(t, 'edit tool in place');
});

