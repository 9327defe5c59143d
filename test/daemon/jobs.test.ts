// Every transition driven through the real file system, the real watcher and the in-process realm API.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeRealm, json, logEvent, startTestDaemon } from '../helpers/daemon.js';
import type { DaemonTiming } from '../../src/daemon/daemon.js';
import { quietPeriod, waitFor } from '../helpers/temp.js';
import { backupNames } from '../helpers/work-files.js';

const REPLY = /^#### (👍|🚫)\S+ at \S+ \(/mu;
const replies = (text: string) => text.split('\n').filter((line) => /^#### (👍|🚫)\S+ at \S+ \(/u.test(line)).length;

/** Resolves a promise from outside; lets a fake realm hold a job until the test releases it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

test('a bare fence in a fresh log runs once and its value lands under it', async () => {
  const t = await startTestDaemon();
  const realm = new FakeRealm(t.daemon, 'tab-1', (code) => json(code === '1 + 1' ? 2 : 'unexpected'));
  writeFileSync(t.logPath('tab-1'), '```js\n1 + 1\n```\n');
  const text = await t.waitForLog('tab-1', (s) => REPLY.test(s), 'a reply');
  assert.match(text, /```js\n1 \+ 1\n```\n#### 👍tab-1 at \d\d:\d\d:\d\d \(\d+ms\)\n```JSON\n2\n```\n\n-{70}\n/);
  assert.match(text, /^# tab-1\n/, 'the file header was added');
  await quietPeriod(100);
  assert.equal(realm.jobs.length, 1, 'ran exactly once');
});

test('requests appended while a job runs are queued behind it, with the footer kept in place', async () => {
  const t = await startTestDaemon();
  const hold = gate();
  const realm = new FakeRealm(t.daemon, 'tab', async (code) => {
    if (code === 'slow()') await hold.opened;
    return json(code);
  });
  writeFileSync(t.logPath('tab'), '### 🗣️claude to tab\n```js\nslow()\n```\n');
  await t.waitForLog('tab', (s) => s.includes('executing (0s)'), 'the first job running');
  t.append('tab', '```js\nfast()\n```\n');
  const queued = await t.waitForLog('tab', (s) => s.includes('queued'), 'the second job queued');
  assert.match(queued, /```js\nfast\(\)\n```\n#### ⏳tab at .*\nqueued\n\n-{70}\n> Append/);
  assert.equal(realm.jobs.length, 1, 'the second job waits');
  hold.open();
  const done = await t.waitForLog('tab', (s) => replies(s) === 2, 'both replies');
  assert.ok(done.indexOf('"slow()"') < done.indexOf('"fast()"'), 'replies in order');
  assert.deepEqual(realm.jobs.map((job) => job.code), ['slow()', 'fast()']);
});

test('several fences in one chunk become jobs in file order', async () => {
  const t = await startTestDaemon();
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), 'First:\n```js\na\n```\nThen a note fence:\n```json\n{}\n```\n```js\nb\n```\n```JS\nc\n```\n');
  const text = await t.waitForLog('tab', (s) => replies(s) === 3, 'three replies');
  assert.deepEqual(realm.jobs.map((job) => job.code), ['a', 'b', 'c']);
  assert.match(text, /```json\n\{\}\n```\n```js\nb\n```\n#### 👍/);
});

test('a job that never answers times out, the next request works, and a late result becomes a notice', async () => {
  const t = await startTestDaemon({ timeoutMs: 300 });
  const late = gate();
  new FakeRealm(t.daemon, 'tab', async (code) => {
    if (code === 'hang()') await late.opened;
    return json(code);
  });
  writeFileSync(t.logPath('tab'), '```js\nhang()\n```\n');
  await t.waitForLog('tab', (s) => s.includes('(job timed out)'), 'the timeout');
  assert.match(t.read('tab'), /#### 🚫tab at .* \(\d+ms\)\n```Error\nError: no answer from tab after 300 ms \(job timed out\)\n```/);
  t.append('tab', '```js\nworks()\n```\n');
  await t.waitForLog('tab', (s) => s.includes('"works()"'), 'the next reply');
  late.open();
  const text = await t.waitForLog('tab', (s) => s.includes('late result for the request at'), 'the late result');
  assert.match(text, /#### ⚠️daebug at .*\n```Text\nlate result for the request at \d\d:\d\d:\d\d:\n```\n```JSON\n"hang\(\)"\n```/);
});

test('a realm that stops polling fails its job at the timeout with a reason', async () => {
  const t = await startTestDaemon({ timeoutMs: 400, unresponsiveMs: 150 });
  const realm = new FakeRealm(t.daemon, 'tab', () => new Promise(() => {}));
  writeFileSync(t.logPath('tab'), '```js\nwhile (true) {}\n```\n');
  // The marker may say executing a moment before the realm has the job: wait for the realm itself.
  await waitFor(() => realm.jobs.length === 1, 'the realm to take the job');
  await realm.stop();
  const text = await t.waitForLog('tab', (s) => s.includes('timed out'), 'the timeout');
  assert.match(text, /the realm stopped polling, its main thread may be blocked/);
});

test('running markers tick and stream the events of their job, the reply keeps them', async () => {
  const t = await startTestDaemon({ tickMs: 100 });
  const hold = gate();
  const realm = new FakeRealm(t.daemon, 'tab', async () => {
    await hold.opened;
    return { ...json(true), events: [logEvent('done')] };
  });
  writeFileSync(t.logPath('tab'), '```js\nawait work()\n```\n');
  await t.waitForLog('tab', (s) => s.includes('executing (1s)'), 'a tick after a second', 3000);
  const job = realm.jobs[0]!;
  t.daemon.realmApi.events('tab', { type: 'events', jobId: job.jobId, events: [logEvent('step 1'), logEvent('step 2')] });
  await t.waitForLog('tab', (s) => /#### 👍tab at \S+\n##### ☑️console\.log at \S+\n```Text console\.log\nstep 1\n```\n[\s\S]*step 2[\s\S]*executing \(\d+s\)/.test(s), 'streamed events');
  hold.open();
  const text = await t.waitForLog('tab', (s) => REPLY.test(s) && !s.includes('executing'), 'the reply');
  assert.deepEqual([...text.matchAll(/^(step 1|step 2|done)$/gm)].map((match) => match[1]), ['step 1', 'step 2', 'done']);
});

test('events while no job runs are batched into background sections', async () => {
  const t = await startTestDaemon({ backgroundMs: 300 });
  new FakeRealm(t.daemon, 'tab');
  writeFileSync(t.logPath('tab'), '# tab\n');
  await waitFor(() => t.daemon.health().realms === 1, 'the realm to connect');
  for (let index = 0; index < 5; index++) t.daemon.realmApi.events('tab', { type: 'events', events: [logEvent(`click ${index}`)] });
  const text = await t.waitForLog('tab', (s) => s.includes('click 4'), 'the background section');
  assert.equal((text.match(/#### 📣tab background at/g) ?? []).length, 1, 'one section for the batch');
  assert.match(text, /#### 📣tab background at \S+\n##### ☑️console\.log at \S+\n```Text console\.log\nclick 0\n```/);
});

test('a request for a realm that is not connected gets a notice once, then runs when it connects', async () => {
  const t = await startTestDaemon();
  writeFileSync(t.logPath('later'), '```js\n1\n```\n');
  await t.waitForLog('later', (s) => s.includes('is not connected'), 'the notice');
  t.append('later', '```js\n2\n```\n');
  await t.waitForLog('later', (s) => (s.match(/queued/g) ?? []).length === 2, 'the second request queued');
  assert.equal((t.read('later').match(/is not connected/g) ?? []).length, 1, 'said once');
  const realm = new FakeRealm(t.daemon, 'later', (code) => json(Number(code)));
  await t.waitForLog('later', (s) => replies(s) === 2, 'both replies');
  assert.deepEqual(realm.jobs.map((job) => job.code), ['1', '2']);
});

test('a result with a job id the realm was not given is refused and noted', async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'tab');
  writeFileSync(t.logPath('tab'), '# tab\n');
  await waitFor(() => t.daemon.health().realms === 1, 'the realm to connect');
  const answer = await t.daemon.realmApi.result('tab', { type: 'result', jobId: '999', outcome: { kind: 'value', value: { lang: 'JSON', text: '1' } }, durationMs: 1, events: [] });
  assert.equal(answer.ok, false);
  assert.equal(!answer.ok && answer.code, 'ERR_WRONG_JOB');
  await t.waitForLog('tab', (s) => s.includes('tab sent a result for a request it was not running, so the result was ignored'), 'the notice');
  assert.doesNotMatch(t.read('tab'), /999/, 'no job id in the log');
  const unknown = await t.daemon.realmApi.result('nobody', { type: 'result', jobId: '1', outcome: { kind: 'error', error: 'x' }, durationMs: 1, events: [] });
  assert.equal(!unknown.ok && unknown.code, 'ERR_UNKNOWN_REALM');
});

test('deleting a queued fence cancels its job with a notice; it never runs', async () => {
  const t = await startTestDaemon();
  const hold = gate();
  const realm = new FakeRealm(t.daemon, 'tab', async (code) => {
    if (code === 'first()') await hold.opened;
    return json(code);
  });
  writeFileSync(t.logPath('tab'), '```js\nfirst()\n```\n```js\nsecond()\n```\n');
  const text = await t.waitForLog('tab', (s) => s.includes('queued') && s.includes('executing'), 'one running, one queued');
  writeFileSync(t.logPath('tab'), text.replace('```js\nsecond()\n```\n', ''));
  await t.waitForLog('tab', (s) => s.includes('was edited or removed before it ran'), 'the cancel notice');
  assert.ok(!t.read('tab').includes('queued'), 'the orphan marker is gone');
  hold.open();
  await t.waitForLog('tab', (s) => s.includes('"first()"'), 'the first reply');
  await quietPeriod(150);
  assert.deepEqual(realm.jobs.map((job) => job.code), ['first()']);
});

test('an editor saving through a temp file and a rename is read like any other change', async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '# tab\n');
  await waitFor(() => t.daemon.health().realms === 1, 'the realm to connect');
  const temp = join(t.root, 'daebug', '.tab.md.swp');
  writeFileSync(temp, '# tab\n\n```js\nsaved()\n```\n');
  renameSync(temp, t.logPath('tab'));
  await t.waitForLog('tab', (s) => s.includes('"saved()"'), 'the reply');
});

test('a realm that connects gets its log, and daebug/ with it; the folder may go and come back', async () => {
  const t = await startTestDaemon({}, undefined, false);
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  const made = await t.waitForLog('tab', (s) => s.includes('> Append your JavaScript snippet below'), 'the log made at connect');
  assert.match(made, /^# tab\n/);
  rmSync(join(t.root, 'daebug'), { recursive: true });
  await quietPeriod(100);
  mkdirSync(join(t.root, 'daebug'));
  await quietPeriod(100);
  writeFileSync(t.logPath('tab'), '```js\nlate()\n```\n');
  await t.waitForLog('tab', (s) => s.includes('"late()"'), 'the reply');
  assert.equal(realm.jobs.length, 1);
});

test('a log deleted while its job runs is not recreated; its result is written if it comes back in time', async () => {
  // The accept is written before the job runs (no early hand-over), so the log is missing when the reply comes.
  const t = await startTestDaemon({ keepOrphanResultMs: 2000, quickAnswerMs: 0 });
  const hold = gate();
  const realm = new FakeRealm(t.daemon, 'tab', async (code) => {
    await hold.opened;
    return json(code);
  });
  // After the log the realm's connect makes, so that its making cannot come after the deletion.
  await t.waitForLog('tab', (s) => s.includes('-'.repeat(70)), 'the log made at connect');
  writeFileSync(t.logPath('tab'), '```js\nwork()\n```\n```js\nnext()\n```\n');
  await waitFor(() => realm.jobs.length === 1, 'the realm to take the job');
  unlinkSync(t.logPath('tab'));
  await quietPeriod(100);
  hold.open();
  await quietPeriod(200);
  assert.equal(existsSync(t.logPath('tab')), false, 'not recreated by the daemon');
  writeFileSync(t.logPath('tab'), '# tab, again\n');
  const text = await t.waitForLog('tab', (s) => s.includes('late result for the request at'), 'the kept result');
  assert.match(text, /^# tab, again\n/);
  assert.ok(text.includes('"work()"'));
  assert.ok(!text.includes('"next()"'), 'the queued job was dropped with the log');
});

test('a result for a log that stays deleted is discarded with a warning', async () => {
  const t = await startTestDaemon({ keepOrphanResultMs: 200 });
  const hold = gate();
  const realm = new FakeRealm(t.daemon, 'tab', async () => {
    await hold.opened;
    return json(1);
  });
  await t.waitForLog('tab', (s) => s.includes('-'.repeat(70)), 'the log made at connect');
  writeFileSync(t.logPath('tab'), '```js\nwork()\n```\n');
  await waitFor(() => realm.jobs.length === 1, 'the realm to take the job');
  unlinkSync(t.logPath('tab'));
  await quietPeriod(100);
  hold.open();
  await waitFor(() => t.entries.some((entry) => entry.level === 'warn' && /the reply to the request at \S+ \(.*\) was discarded/.test(entry.message)), 'the warning');
  assert.equal(existsSync(t.logPath('tab')), false);
});

test('a note moves above the footer once the log is quiet', async () => {
  const t = await startTestDaemon({ noteQuietMs: 200 });
  new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '```js\n1\n```\n');
  await t.waitForLog('tab', (s) => REPLY.test(s), 'the reply');
  t.append('tab', 'Looks fine; next I will check the cart.\n');
  const text = await t.waitForLog('tab', (s) => /check the cart\.\n\n-{70}\n/.test(s), 'the footer below the note');
  assert.match(text, /page\. <!-- v[0-9a-z]+ -->\n\n\n$/, 'the footer ends the log, with the tag of this version');
});

test('CRLF logs and a BOM are kept', async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '\uFEFF# tab\r\n\r\n```js\r\ncrlf()\r\n```\r\n');
  const text = await t.waitForLog('tab', (s) => s.includes('"crlf()"'), 'the reply');
  assert.ok(text.startsWith('\uFEFF# tab\r\n'));
  assert.ok(!/[^\r]\n/.test(text), 'every line break is CRLF');
});

test('restart recovery: stale markers become notices, and a waiting chunk runs when its realm connects', async () => {
  const t = await startTestDaemon({}, (root) => {
    mkdirSync(join(root, 'daebug'));
    writeFileSync(
      join(root, 'daebug', 'old.md'),
      '# old\n\n```js\nwas()\n```\n#### 👍old at 08:00:00\nexecuting (5s)\n\n' + '-'.repeat(70) + '\n> Append your JavaScript snippet below to execute against this page.\n\n\n```js\nwaiting()\n```\n',
    );
  }, false);
  const recovered = await t.waitForLog('old', (s) => s.includes('interrupted'), 'the interruption notice');
  assert.match(recovered, /```js\nwas\(\)\n```\n#### ⚠️daebug at .*\n```Text\nthis request was interrupted: daebug restarted before old answered\. Append it again to run it\.\n```/);
  assert.match(recovered, /```js\nwaiting\(\)\n```\n#### ⏳old at/);
  const realm = new FakeRealm(t.daemon, 'old', (code) => json(code));
  await t.waitForLog('old', (s) => s.includes('"waiting()"'), 'the waiting request answered');
  assert.deepEqual(realm.jobs.map((job) => job.code), ['waiting()']);
});

test('the registry lists connected realms, is rewritten only when its text changes, and %%SHUTDOWN%% stops the daemon', async () => {
  const t = await startTestDaemon();
  const registry = join(t.root, 'daebug.md');
  assert.match(readFileSync(registry, 'utf8'), /none yet/);
  new FakeRealm(t.daemon, 'tab-1');
  await waitFor(() => readFileSync(registry, 'utf8').includes('* [tab-1](daebug/tab-1.md) http://localhost:0/ · idle'), 'the realm in the registry');
  const before = readFileSync(registry, 'utf8');
  const { mtimeMs } = await import('node:fs').then((fs) => fs.statSync(registry));
  await quietPeriod(300);
  assert.equal(readFileSync(registry, 'utf8'), before);
  assert.equal((await import('node:fs')).statSync(registry).mtimeMs, mtimeMs, 'no rewrite while nothing changes');
  writeFileSync(registry, before + '\n%%SHUTDOWN%%\n');
  assert.equal(await t.daemon.stopped, '%%SHUTDOWN%%');
  assert.match(readFileSync(registry, 'utf8'), /^# 👾 daebug: daebug-test-\w+ stopped at \d\d:\d\d:\d\d \(%%SHUTDOWN%%\)\n/);
});

test('%%SHUTDOWN%% written into the old file of a registry rewrite (opened before it) is put back and stops the daemon', async () => {
  const t = await startTestDaemon();
  const registry = join(t.root, 'daebug.md');
  await waitFor(() => readFileSync(registry, 'utf8').includes('none yet'), 'the registry');
  // The agent opens daebug.md to append; the daemon rewrites it (a realm connects) before the write.
  const fs = await import('node:fs');
  const fd = fs.openSync(registry, 'a');
  new FakeRealm(t.daemon, 'tab-1');
  await waitFor(() => readFileSync(registry, 'utf8').includes('[tab-1]'), 'the registry rewritten');
  fs.writeSync(fd, '\n%%SHUTDOWN%%\n');
  fs.closeSync(fd);
  const stopped = await Promise.race([t.daemon.stopped, quietPeriod(5_000).then(() => 'not stopped')]);
  assert.equal(stopped, '%%SHUTDOWN%%');
  assert.deepEqual(t.daemon.realms().map((realm) => realm.name), ['tab-1'], 'daebug.md is never read as the log of a realm "daebug"');
});

test('a worker restarted by its page fails its running job and gets a notice', async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'tab');
  new FakeRealm(t.daemon, 'other');
  const worker = new FakeRealm(t.daemon, 'tab-webworker', () => new Promise(() => {}), 'worker', 'tab');
  writeFileSync(t.logPath('tab-webworker'), '```js\nwhile (true) {}\n```\n');
  await waitFor(() => worker.jobs.length === 1, 'the worker to take the job');
  const forged = t.daemon.realmApi.heartbeat('other', { type: 'heartbeat', worker: { name: 'tab-webworker', state: 'restarted', reason: 'forged' } });
  assert.equal(forged.ok, false, 'another page cannot report on the worker');
  assert.equal(!forged.ok && forged.code, 'ERR_NOT_YOURS');
  assert.ok(!t.read('tab-webworker').includes('forged'));
  t.daemon.realmApi.heartbeat('tab', { type: 'heartbeat', worker: { name: 'tab-webworker', state: 'restarted', reason: 'no pong for 10 s' } });
  const text = await t.waitForLog('tab-webworker', (s) => s.includes('top-level declarations'), 'the notice');
  assert.match(text, /#### 🚫tab-webworker at .*\n```Error\nError: tab-webworker was restarted by its page \(no pong for 10 s\) before it answered\n```/);
});

test("an app's worker its page reports hung fails its job and is listed hung; another page cannot say so", async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'tab');
  new FakeRealm(t.daemon, 'other');
  const worker = new FakeRealm(t.daemon, 'tab-totals', () => new Promise(() => {}), 'worker', 'tab');
  writeFileSync(t.logPath('tab-totals'), '```js\nwhile (true) {}\n```\n');
  await waitFor(() => worker.jobs.length === 1, 'the worker to take the job');
  const forged = t.daemon.realmApi.heartbeat('other', { type: 'heartbeat', worker: { name: 'tab-totals', state: 'terminated', reason: 'forged' } });
  assert.equal(!forged.ok && forged.code, 'ERR_NOT_YOURS');
  t.daemon.realmApi.heartbeat('tab', { type: 'heartbeat', worker: { name: 'tab-totals', state: 'hung', reason: 'no answer to pings for 10 s' } });
  const text = await t.waitForLog('tab-totals', (s) => s.includes('#### 🚫'), 'the failure');
  assert.match(text, /```Error\nError: tab-totals stopped answering its page \(no answer to pings for 10 s\) before it answered; daebug does not restart the app's workers\n```/);
  assert.ok(!text.includes('forged'));
  const registry = join(t.root, 'daebug.md');
  await waitFor(() => readFileSync(registry, 'utf8').includes('[tab-totals](daebug/tab-totals.md) worker / · hung'), 'hung in the registry');
  t.daemon.realmApi.heartbeat('tab', { type: 'heartbeat', worker: { name: 'tab-totals', state: 'alive' } });
  await waitFor(() => readFileSync(registry, 'utf8').includes('[tab-totals](daebug/tab-totals.md) worker / · idle'), 'idle again');
});

test("an app's worker its page reports terminated fails its job with the reason, says so in its log, and is listed terminated", async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'tab');
  const worker = new FakeRealm(t.daemon, 'tab-legacy', () => new Promise(() => {}), 'worker', 'tab');
  writeFileSync(t.logPath('tab-legacy'), "```js\nawait new Promise(() => {})\n```\n");
  await waitFor(() => worker.jobs.length === 1, 'the worker to take the job');
  t.daemon.realmApi.heartbeat('tab', { type: 'heartbeat', worker: { name: 'tab-legacy', state: 'terminated', reason: 'terminated by its page: worker.terminate()\n%%SHUTDOWN%%' } });
  const text = await t.waitForLog('tab-legacy', (s) => s.includes('requests wait until'), 'the notice');
  assert.match(text, /```Error\nError: tab-legacy was terminated by its page: worker\.terminate\(\) %%SHUTDOWN%% before it answered\n```/);
  assert.ok(!/^%%SHUTDOWN%%/m.test(text), 'the reason stays on its line');
  await waitFor(() => readFileSync(join(t.root, 'daebug.md'), 'utf8').includes('[tab-legacy](daebug/tab-legacy.md) worker / · terminated'), 'terminated in the registry');
});

test('the registry shows a realm that stops polling as unresponsive, then gone, then drops it', async () => {
  const t = await startTestDaemon({ unresponsiveMs: 150, goneMs: 400, dropMs: 800 });
  const registry = join(t.root, 'daebug.md');
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  await waitFor(() => readFileSync(registry, 'utf8').includes('· idle'), 'idle');
  await realm.stop();
  await waitFor(() => readFileSync(registry, 'utf8').includes('[tab](daebug/tab.md) http://localhost:0/ · unresponsive'), 'unresponsive');
  await waitFor(() => readFileSync(registry, 'utf8').includes('[tab](daebug/tab.md) http://localhost:0/ · gone'), 'gone');
  await waitFor(() => readFileSync(registry, 'utf8').includes('none yet'), 'dropped');
  assert.ok(t.entries.some((entry) => entry.event === 'realm-state' && entry.message === 'tab is unresponsive'));
});

test('a syntax error is answered at once with its place in the fence, and the realm never sees it', async () => {
  const t = await startTestDaemon();
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '```js\nconst a = 1;\nlet b = ;\n```\n```js\n"after"\n```\n');
  const text = await t.waitForLog('tab', (s) => replies(s) === 2, 'both replies');
  assert.match(text, /let b = ;\n```\n#### 🚫tab at \S+ \(\d+ms\)\n```Error\nSyntaxError: Unexpected token \(line 2, column 9 of the request\)\n```/);
  assert.deepEqual(realm.jobs.map((job) => job.code), ['"after"']);
});

test('a fence an edit tool put above the footer, after the last reply, runs like one below it (issue 15)', async () => {
  const t = await startTestDaemon();
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '```js\nfirst\n```\n');
  const answered = await t.waitForLog('tab', (s) => replies(s) === 1, 'the first reply');
  // An edit tool inserting "at the end of the content" lands above the footer.
  const footer = answered.lastIndexOf('-'.repeat(70));
  writeFileSync(t.logPath('tab'), `${answered.slice(0, footer)}\`\`\`js\nsecond\n\`\`\`\n\n${answered.slice(footer)}`);
  const text = await t.waitForLog('tab', (s) => replies(s) === 2, 'the second reply');
  assert.deepEqual(realm.jobs.map((job) => job.code), ['first', 'second']);
  assert.match(text, /```js\nsecond\n```\n#### 👍tab at \S+ \(\d+ms\)\n```JSON\n"second"\n```\n\n-{70}\n/, 'answered under it, the footer below');
});

test('a fence put between earlier replies is not run and gets a notice right under it; a later request runs (issue 15)', async () => {
  const t = await startTestDaemon();
  const realm = new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '```js\nfirst\n```\n');
  await t.waitForLog('tab', (s) => replies(s) === 1, 'the first reply');
  t.append('tab', '```js\nsecond\n```\n');
  const answered = await t.waitForLog('tab', (s) => replies(s) === 2, 'the second reply');
  // An edit tool that matched the first reply puts the new request under it, above the second.
  const second = answered.indexOf('```js\nsecond');
  const at = answered.lastIndexOf('\n\n', second) + 2;
  writeFileSync(t.logPath('tab'), `${answered.slice(0, at)}\`\`\`js\nstray\n\`\`\`\n\n${answered.slice(at)}`);
  const text = await t.waitForLog('tab', (s) => s.includes('between earlier replies'), 'the notice');
  assert.match(text, /"first"\n```\n\n```js\nstray\n```\n#### ⚠️daebug at \S+\n```Text\nnot run: this request is between earlier replies, and daebug runs only requests added at the end of the log\. Append it again at the end to run it\.\n```\n\n/);
  t.append('tab', '```js\nthird\n```\n');
  const after = await t.waitForLog('tab', (s) => replies(s) === 3, 'the third reply');
  assert.deepEqual(realm.jobs.map((job) => job.code), ['first', 'second', 'third']);
  assert.equal(after.split('between earlier replies').length, 2, 'one notice, not one per read');
});

/** How many times the daemon replaced `tab.md` lately: each write leaves the old file as a backup for backupGraceMs. */
const writesOfTab = (root: string) => backupNames(root).filter((name) => name.startsWith('log.tab.md.')).length;

/** Appends quick requests (one chunk) to a connected realm's log; resolves with the daemon's writes until their replies. */
async function writesForQuickAnswer(quickAnswerMs: number, codes = ['quick()']) {
  const t = await startTestDaemon({ backupGraceMs: 10_000, quickAnswerMs });
  // A few milliseconds per job, as a page takes: an answer in the same tick would need no holding back.
  new FakeRealm(t.daemon, 'tab', async (code) => {
    await quietPeriod(5);
    return json(code);
  });
  await t.waitForLog('tab', (s) => s.includes('-'.repeat(70)), 'the log made at connect');
  const before = writesOfTab(t.root);
  t.append('tab', codes.map((code) => '```js\n' + code + '\n```\n').join(''));
  const text = await t.waitForLog('tab', (s) => replies(s) === codes.length, 'the replies');
  await quietPeriod(100);
  return { t, text, writes: writesOfTab(t.root) - before };
}

test('a quick answer lands with its request in one write, never a running marker first (issue 17)', async () => {
  const { text, writes } = await writesForQuickAnswer(200);
  assert.equal(writes, 1);
  assert.match(text, /### 🗣️agent at (\S+)\n```js\nquick\(\)\n```\n#### 👍tab at \S+ \(\d+ms\)\n```JSON\n"quick\(\)"\n```\n\n-{70}\n/);
  // The same count catches the two writes (accept with its marker, then the reply) of a daemon that does not wait.
  assert.equal((await writesForQuickAnswer(0)).writes, 2);
});

test('the replies of a chunk of quick requests share a write; none shows a running marker (issue 17)', async () => {
  const codes = ['a()', 'b()', 'c()', 'd()'];
  const { text, writes } = await writesForQuickAnswer(200, codes);
  // The accept with the first reply, then the other three together.
  assert.equal(writes, 2);
  for (const code of codes) assert.ok(text.includes('```js\n' + code + '\n```\n#### 👍tab at'), `${code} answered under it`);
  assert.ok(text.indexOf('"a()"') < text.indexOf('"b()"') && text.indexOf('"c()"') < text.indexOf('"d()"'), 'in order');
  // Without holding: the accept with the first marker, then each reply with the next job's marker.
  assert.equal((await writesForQuickAnswer(0, codes)).writes, 5);
});

test('a slow job shows its running marker once quickAnswerMs is up, then its reply (issue 17)', async () => {
  const t = await startTestDaemon({ quickAnswerMs: 50 });
  const hold = gate();
  new FakeRealm(t.daemon, 'tab', async (code) => {
    await hold.opened;
    return json(code);
  });
  t.append('tab', '```js\nslow()\n```\n');
  const running = await t.waitForLog('tab', (s) => s.includes('executing (0s)'), 'the running marker');
  assert.match(running, /```js\nslow\(\)\n```\n#### 👍tab at \S+\nexecuting \(0s\)\n/);
  hold.open();
  const text = await t.waitForLog('tab', (s) => replies(s) === 1, 'the reply');
  assert.match(text, /```js\nslow\(\)\n```\n#### 👍tab at \S+ \(\d+ms\)\n```JSON\n"slow\(\)"\n```/);
});

/** A daemon whose realm holds `code`, handed to it before its accept was written, until `hold` opens; `empty`: the log before. */
async function earlyJobHeld(timing: Partial<DaemonTiming>, code: string) {
  const t = await startTestDaemon(timing);
  const hold = gate();
  const realm = new FakeRealm(t.daemon, 'tab', async (ran) => {
    await hold.opened;
    return json(ran);
  });
  await t.waitForLog('tab', (s) => s.includes('-'.repeat(70)), 'the log made at connect');
  const empty = t.read('tab');
  t.append('tab', '```js\n' + code + '\n```\n');
  await waitFor(() => realm.jobs.length === 1, 'the job handed to the realm');
  return { t, hold, realm, empty };
}

test('a request removed while its early job runs gets its reply above the footer with a notice, and runs once (issue 17)', async () => {
  const { t, hold, realm, empty } = await earlyJobHeld({ quickAnswerMs: 2_000 }, 'gone()');
  assert.equal(t.read('tab'), empty + '```js\ngone()\n```\n', 'nothing written while the job runs');
  writeFileSync(t.logPath('tab'), empty);
  hold.open();
  const text = await t.waitForLog('tab', (s) => replies(s) === 1, 'the reply');
  assert.match(text, /the request at \S+ was edited or removed while it ran; its reply follows\.\n```\n#### 👍tab at \S+ \(\d+ms\)\n```JSON\n"gone\(\)"\n```\n\n-{70}\n/);
  await quietPeriod(100);
  assert.equal(realm.jobs.length, 1);
});

test('an early job whose request one read misses (an edit in place caught half written) runs once and answers under it (issue 17)', async () => {
  const { t, hold, realm, empty } = await earlyJobHeld({ noteQuietMs: 1_000 }, 'once()');
  // The edit tool has truncated the log and written only part of it when the daemon reads it.
  writeFileSync(t.logPath('tab'), empty);
  hold.open();
  await quietPeriod(150);
  writeFileSync(t.logPath('tab'), empty + '```js\nonce()\n```\n');
  const text = await t.waitForLog('tab', (s) => replies(s) === 1, 'the reply');
  assert.match(text, /```js\nonce\(\)\n```\n#### 👍tab at \S+ \(\d+ms\)\n```JSON\n"once\(\)"\n```\n\n-{70}\n/);
  assert.doesNotMatch(text, /edited or removed/);
  await quietPeriod(1_200);
  assert.equal(realm.jobs.length, 1, 'ran once');
  assert.equal(replies(t.read('tab')), 1);
});

/** A daemon whose realm `tab` is running `slow()` until `hold` opens; `running` is the log at that moment. */
async function slowJobRunning() {
  const t = await startTestDaemon();
  const hold = gate();
  new FakeRealm(t.daemon, 'tab', async (code) => {
    if (code === 'slow()') await hold.opened;
    return json(code);
  });
  writeFileSync(t.logPath('tab'), '```js\nslow()\n```\n');
  const running = await t.waitForLog('tab', (s) => s.includes('executing (0s)'), 'the job running');
  return { t, hold, running };
}

// The log store already heals a plain older copy (stale-copies.ts); this guards that the reply comes back either way.
test('an older copy of the log written back over a finished job gets its reply again, not an executing marker for good (issue 15)', async () => {
  const { t, hold, running } = await slowJobRunning();
  hold.open();
  await t.waitForLog('tab', (s) => replies(s) === 1, 'the reply');
  // An editor that still holds the copy from before saves it back.
  writeFileSync(t.logPath('tab'), running);
  const text = await t.waitForLog('tab', (s) => replies(s) === 1 && !s.includes('executing ('), 'the reply back in place of the marker');
  assert.match(text, /```js\nslow\(\)\n```\n#### 👍tab at \S+ \(\d+m?s\)\n```JSON\n"slow\(\)"\n```/);
  await quietPeriod(200);
  assert.equal(replies(t.read('tab')), 1, 'one reply');
});

test('a running fence the agent deletes leaves no executing marker behind (issue 15)', async () => {
  const { t, hold, running } = await slowJobRunning();
  writeFileSync(t.logPath('tab'), running.replace('```js\nslow()\n```\n', ''));
  await t.waitForLog('tab', (s) => s.includes('this request is not running') && !s.includes('executing ('), 'a notice in place of the orphaned marker');
  hold.open();
  await t.waitForLog('tab', (s) => s.includes('"slow()"'), 'the reply, written where the daemon can');
  assert.doesNotMatch(t.read('tab'), /executing \(/);
});
