// An agent in another process appends as fast as it can while the daemon writes replies into the same
// log: whatever the interleaving, every line the agent wrote survives, and every request runs once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { FakeRealm, json, startTestDaemon } from '../helpers/daemon.js';

const AGENT = `
const { appendFileSync } = require('node:fs');
const [log, count] = [process.argv[1], Number(process.argv[2])];
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let index = 0; index < count; index++) {
  const text = index % 10 === 0 ? 'request ' + index + '\\n\`\`\`js\\nrace_' + index + '()\\n\`\`\`\\n' : 'agent line ' + index + '\\n';
  appendFileSync(log, text);
  Atomics.wait(pause, 0, 0, Math.random() * 3);
}
`;

test('an agent appending while the daemon writes never loses a line', async () => {
  const t = await startTestDaemon();
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '# tab\n');
  const count = 400;
  const agent = spawn(process.execPath, ['-e', AGENT, t.logPath('tab'), String(count)], { stdio: 'inherit' });
  const code = await new Promise((resolve) => agent.once('exit', resolve));
  assert.equal(code, 0);
  const requests = Array.from({ length: count / 10 }, (_, index) => `race_${index * 10}()`);
  const text = await t.waitForLog('tab', (s) => requests.every((request) => s.includes(`"${request}"`)), 'every request answered', 20_000);
  let at = 0;
  const lines = text.split('\n');
  for (let index = 0; index < count; index++) {
    const wanted = index % 10 === 0 ? `request ${index}` : `agent line ${index}`;
    at = lines.indexOf(wanted, at);
    assert.notEqual(at, -1, `"${wanted}" is in the log, after the lines before it`);
  }
  assert.equal(realm.jobs.length, requests.length, 'each request ran once');
  assert.deepEqual(realm.jobs.map((job) => job.code).sort(), [...requests].sort());
});
