// An agent writes back a copy of an older version of a log (an editor's buffer, a Write tool that read
// the log before the daemon's last writes): one test per incident of the soak on d5e9e04, through the
// real daemon, files and watcher. The copy names its base by the tag in its footer (reconcile.ts).
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { FakeRealm, json, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { quietPeriod } from '../helpers/temp.js';

const replies = (text: string) => (text.match(/^#### (👍|🚫)\S+ at \S+ \(/gmu) ?? []).length;

/** Writes `text` as an editor's safe save does: a file of its own renamed over the log. */
function save(t: TestDaemon, realm: string, text: string): void {
  const temp = `${t.logPath(realm)}.agent-save`;
  writeFileSync(temp, text);
  renameSync(temp, t.logPath(realm));
}

/** Checks that each of `codes` stands once with its own reply right under it. */
function assertAnswered(text: string, codes: string[]): void {
  for (const code of codes) {
    assert.equal(text.split(`\n${code}\n`).length - 1, 1, `${code} stands once:\n${text}`);
    assert.ok(text.includes(`\`\`\`js\n${code}\n\`\`\`\n#### 👍tab at`) && text.includes(`"${code}"`), `${code} has its reply under it:\n${text}`);
  }
  const values = text.match(/^"[^"\n]*"$/gm) ?? [];
  assert.equal(values.length, new Set(values).size, `no reply twice:\n${text}`);
}

for (const later of [1, 2, 3]) {
  for (const edit of ['mid-history', 'at the end'] as const) {
    for (const shape of ['a bare fence', 'a header', 'a trailing note'] as const) {
      test(`a copy made before ${later} later request(s) (${shape}), edited ${edit}, keeps every request with its reply (but the one it removed) and runs none again`, async () => {
        const t = await startTestDaemon({ noteQuietMs: 100 });
        const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
        await t.waitForLog('tab', (s) => s.includes('-'.repeat(70)), 'the log made at connect');
        t.append('tab', '```js\nfirst()\n```\n');
        const copied = await t.waitForLog('tab', (s) => replies(s) === 1, 'the first reply');
        const codes = ['first()'];
        for (let n = 1; n <= later; n++) {
          const code = `later${n}()`;
          codes.push(code);
          t.append('tab', `${shape === 'a header' ? '### 🗣️claude\n' : ''}\`\`\`js\n${code}\n\`\`\`\n${shape === 'a trailing note' ? `note ${n}\n` : ''}`);
          await t.waitForLog('tab', (s) => replies(s) === n + 1 && (shape !== 'a trailing note' || /note \d\n\n-{70}/.test(s)), `reply ${n + 1}`);
        }
        // The agent writes the whole file back, as a Write tool does: its copy with a request of its
        // own at the end, and (mid-history) a note with a header in the history.
        const own = `${shape === 'a header' ? '### 🗣️claude\n' : ''}\`\`\`js\ncopy()\n\`\`\`\n`;
        const edited = edit === 'mid-history' ? copied.replace('# tab\n', '# tab\n### 🗣️claude\nThe agent edited this line.\n') : `${copied}The agent edited this line.\n`;
        // It also tidied its log: the reply to its first request is gone from its copy.
        const tidied = edited.replace(/#### 👍tab at \S+ \(\d+ms\)\n```JSON\n"first\(\)"\n```\n/, '');
        assert.notEqual(tidied, edited);
        const copy = tidied + own;
        codes.push('copy()');
        save(t, 'tab', copy);
        const text = await t.waitForLog('tab', (s) => s.includes('The agent edited this line.\n') && replies(s) === codes.length - 1, 'the copy reconciled');
        await quietPeriod(300);
        const settled = t.read('tab');
        assertAnswered(settled, codes.slice(1));
        assert.equal(settled.split('\nfirst()\n').length - 1, 1, `the first request stands once:\n${settled}`);
        assert.ok(!settled.includes('"first()"'), `the reply the agent removed stays removed:\n${settled}`);
        assert.equal(settled.split('The agent edited this line.').length - 1, 1, `the edit stands once:\n${settled}`);
        for (let n = 1; n <= later && shape === 'a trailing note'; n++) assert.equal(settled.split(`note ${n}\n`).length - 1, 1, `note ${n} stands once`);
        assert.deepEqual(realm.jobs.map((job) => job.code), codes, 'each request ran once');
        void text;
      });
    }
  }
}

test('a queued request deleted in place with its marker is not put back or run, and nothing is doubled', async () => {
  const t = await startTestDaemon();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const realm = new FakeRealm(t.daemon, 'tab', async (code) => {
    if (code === 'slow()') await held;
    return json(code);
  });
  await t.waitForLog('tab', (s) => s.includes('-'.repeat(70)), 'the log made at connect');
  t.append('tab', '```js\nslow()\n```\n');
  await t.waitForLog('tab', (s) => s.includes('executing'), 'slow() running');
  t.append('tab', '### 🗣️claude\nA comment on the next one.\n```js\nqueued()\n```\n');
  const queued = await t.waitForLog('tab', (s) => s.includes('queued\n'), 'queued() waiting');
  // The agent deletes the fence and its marker in place, leaving its header and comment.
  const deleted = queued.replace(/```js\nqueued\(\)\n```\n#### ⏳tab at \S+\nqueued\n/, '');
  assert.notEqual(deleted, queued);
  writeFileSync(t.logPath('tab'), deleted);
  await quietPeriod(300);
  release();
  const text = await t.waitForLog('tab', (s) => replies(s) === 1, 'the reply to slow()');
  await quietPeriod(300);
  const settled = t.read('tab');
  assert.ok(!settled.includes('queued()'), `the deleted request is not back:\n${settled}`);
  assert.equal(settled.split('A comment on the next one.').length - 1, 1, `the comment stands once:\n${settled}`);
  assert.equal(settled.split('### 🗣️claude').length - 1, 1, `the header stands once:\n${settled}`);
  assert.deepEqual(realm.jobs.map((job) => job.code), ['slow()'], 'the deleted request never ran');
  void text;
});

test('a copy of the log as made when its page connected keeps every request written since', async () => {
  const t = await startTestDaemon();
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  const fresh = await t.waitForLog('tab', (s) => s.includes('-'.repeat(70)), 'the log made at connect');
  for (const code of ['one()', 'two()']) {
    t.append('tab', `\`\`\`js\n${code}\n\`\`\`\n`);
    await t.waitForLog('tab', (s) => s.includes(`"${code}"`), `the reply to ${code}`);
  }
  save(t, 'tab', `${fresh.replace('# tab\n', '# tab\nA line of the agent.\n')}\`\`\`js\nthree()\n\`\`\`\n`);
  await t.waitForLog('tab', (s) => s.includes('A line of the agent.') && replies(s) === 3, 'the copy reconciled');
  await quietPeriod(300);
  const settled = t.read('tab');
  assertAnswered(settled, ['one()', 'two()', 'three()']);
  assert.deepEqual(realm.jobs.map((job) => job.code), ['one()', 'two()', 'three()']);
});

test('a copy older than every kept version is taken as the agent\'s edit: its requests keep their replies, none runs again', async () => {
  const t = await startTestDaemon({ noteQuietMs: 100 });
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  await t.waitForLog('tab', (s) => s.includes('-'.repeat(70)), 'the log made at connect');
  // A long history: the daemon keeps its versions up to 16 MiB in all, so about 16 of these.
  t.append('tab', 'A long note of the agent.\n'.repeat(40_000));
  await t.waitForLog('tab', (s) => /agent\.\n\n-{70}/.test(s), 'the note moved above the footer');
  t.append('tab', '```js\nkept()\n```\n');
  const old = await t.waitForLog('tab', (s) => replies(s) === 1, 'the first reply');
  for (let n = 0; n < 20; n++) {
    t.append('tab', `\`\`\`js\nmore${n}()\n\`\`\`\n`);
    await t.waitForLog('tab', (s) => s.includes(`"more${n}()"`), `reply ${n}`);
  }
  save(t, 'tab', old.replace('# tab\n', '# tab\nAn old copy.\n'));
  await t.waitForLog('tab', (s) => s.includes('An old copy.'), 'the copy read');
  await quietPeriod(400);
  const settled = t.read('tab');
  // The documented rule: the copy stands as the agent's text; what the daemon wrote for its requests stays.
  assertAnswered(settled, ['kept()']);
  assert.ok(!settled.includes('more0()'), 'the requests written after the copy are not in it (the limit)');
  assert.equal(realm.jobs.length, 21, 'nothing ran again');
});
