// Nothing an agent writes into a log crashes the daemon or loses the agent's text.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { FakeRealm, json, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { quietPeriod, waitFor } from '../helpers/temp.js';

/** The daemon still answers a plain request in another log. */
async function stillWorks(t: TestDaemon): Promise<void> {
  writeFileSync(t.logPath('probe'), '```js\nalive()\n```\n');
  await t.waitForLog('probe', (s) => s.includes('"alive()"'), 'the probe reply');
}

test('binary junk is left alone with a warning', async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'probe', (code) => json(code));
  const junk = Buffer.concat([Buffer.from('```js\n1\n```\n'), randomBytes(4096), Buffer.from([0xff, 0xfe, 0xc3])]);
  writeFileSync(t.logPath('junk'), junk);
  await waitFor(() => t.entries.some((entry) => entry.level === 'warn' && entry.message.includes('junk.md is not valid UTF-8')), 'the warning');
  await stillWorks(t);
  assert.deepEqual(readFileSync(t.logPath('junk')), junk, 'not a byte changed');
});

test('a log over 64 MiB is left alone with a warning', async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'probe', (code) => json(code));
  const big = Buffer.alloc(64 * 1024 * 1024 + 10, 'a');
  writeFileSync(t.logPath('big'), big);
  await waitFor(() => t.entries.some((entry) => entry.level === 'warn' && /big\.md is 64 MiB, over the 64 MiB limit/.test(entry.message)), 'the warning');
  await stillWorks(t);
  assert.equal(readFileSync(t.logPath('big')).length, big.length);
});

test('a 50 MB paste is kept as a note with a notice, and nothing runs', async () => {
  const t = await startTestDaemon({ noteQuietMs: 100 });
  const realm = new FakeRealm(t.daemon, 'paste', (code) => json(code));
  new FakeRealm(t.daemon, 'probe', (code) => json(code));
  writeFileSync(t.logPath('paste'), '```js\nfirst()\n```\n');
  await t.waitForLog('paste', (s) => s.includes('"first()"'), 'the first reply');
  const paste = 'const line = `' + 'x'.repeat(60) + '`;\n```js\nnot_run()\n```\n';
  const pasted = paste.repeat(Math.ceil((50 * 1024 * 1024) / paste.length));
  appendFileSync(t.logPath('paste'), pasted);
  const text = await t.waitForLog('paste', (s) => s.includes('so it was kept as a note and nothing ran'), 'the notice', 30_000, 250);
  assert.ok(text.includes(pasted), 'the paste is intact');
  assert.deepEqual(realm.jobs.map((job) => job.code), ['first()']);
  await stillWorks(t);
});

test('unbalanced fences wait as a draft until the agent closes them', async () => {
  const t = await startTestDaemon({ noteQuietMs: 50 });
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '```js\n1\n```\n');
  await t.waitForLog('tab', (s) => s.includes('```JSON\n"1"\n```'), 'the first reply');
  t.append('tab', '````js\n/*\n```\n*/\n');
  await quietPeriod(300);
  assert.ok(t.read('tab').endsWith('````js\n/*\n```\n*/\n'), 'the draft is untouched');
  t.append('tab', '"still open"\n````\n');
  await t.waitForLog('tab', (s) => /"still open"\n````\n#### 👍tab at/.test(s), 'the reply');
  assert.equal(realm.jobs.length, 2);
});

test('a thousand fences in one chunk all run, in order, each answered once', async () => {
  const t = await startTestDaemon({ timeoutMs: 60_000 });
  const realm = new FakeRealm(t.daemon, 'many', (code) => json(code));
  const count = 1000;
  writeFileSync(t.logPath('many'), Array.from({ length: count }, (_, index) => `\`\`\`js\nf${index}()\n\`\`\`\n`).join(''));
  const text = await t.waitForLog('many', (s) => s.includes(`"f${count - 1}()"`) && !s.includes('queued'), 'every reply', 120_000);
  assert.deepEqual(realm.jobs.map((job) => job.code), Array.from({ length: count }, (_, index) => `f${index}()`));
  for (let index = 0; index < count; index++) {
    assert.ok(text.includes(`\`\`\`js\nf${index}()\n\`\`\`\n#### 👍many at `), `f${index}() answered under its fence`);
  }
});
