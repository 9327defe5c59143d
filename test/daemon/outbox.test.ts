// The outbox is each log's one write path (src/daemon/outbox.ts): every change posted to a log is
// written exactly once, in the order posted, by a write that carries every change waiting when it
// read the log; a write waits while a job of the log runs, at most quickAnswerMs; a deferred job's
// changes wait until no read defers them. Checked on a real store and real files.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DaemonContext } from '../../src/daemon/daemon-context.js';
import type { Job } from '../../src/daemon/jobs.js';
import { LogRooms } from '../../src/daemon/log-rooms.js';
import { Outbox, type LogReader } from '../../src/daemon/outbox.js';
import { createLogStore, DEFAULT_STORE_TIMING } from '../../src/store/index.js';
import { tempRoot } from '../helpers/temp.js';

/** An outbox on a real log `daebug/tab.md` (made by the first change), with a reader that only counts writes. */
function setup(quickAnswerMs: number) {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  const path = join(root, 'daebug', 'tab.md');
  const store = createLogStore({ root, warn: (message) => assert.fail(message), onRecovered: () => undefined, timing: DEFAULT_STORE_TIMING });
  let busy = false;
  let deferred: Job | undefined;
  const writes: number[] = [];
  let reader: LogReader<null> = {
    compute: () => ({ text: null, result: null }),
    hold: () => null,
    deferred: () => deferred,
    beforeWrite: () => undefined,
    done: (_room, _read, updated) => void (updated.written && writes.push(Date.now())),
    failed: () => undefined,
  };
  const context = { timing: { quickAnswerMs }, store, closed: () => false } as unknown as DaemonContext;
  const outbox = new Outbox(context, new LogRooms(), () => reader, () => busy);
  const notice = (n: number, options: { jobs?: Job[] } = {}) => outbox.post(path, { type: 'notice', realm: 'tab', message: `n${n}`, at: '00:00:00' }, { create: true, ...options });
  const shown = () => [...readFileSync(path, 'utf8').matchAll(/^n(\d+)$/gm)].map((match) => Number(match[1]));
  return {
    path,
    outbox,
    notice,
    shown,
    writes,
    setBusy: (value: boolean) => (busy = value),
    defer: (job: Job | undefined) => (deferred = job),
    setReader: (parts: Partial<LogReader<null>>) => (reader = { ...reader, ...parts }),
  };
}

test('changes posted in any rhythm, with jobs of the log running or not, are each written once and in order', async () => {
  type Step = { post: number } | { busy: boolean } | { sleep: number };
  const step = fc.oneof(fc.integer({ min: 1, max: 4 }).map((post): Step => ({ post })), fc.boolean().map((busy): Step => ({ busy })), fc.integer({ min: 0, max: 8 }).map((sleep): Step => ({ sleep })));
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
      const t = setup(5);
      let next = 0;
      const posted: Promise<unknown>[] = [];
      for (const s of steps) {
        if ('post' in s) for (let i = 0; i < s.post; i++) posted.push(t.notice(next++));
        else if ('busy' in s) t.setBusy(s.busy);
        else await new Promise((resolve) => setTimeout(resolve, s.sleep));
      }
      t.setBusy(false);
      await Promise.all(posted);
      await t.outbox.idle();
      if (next === 0) return;
      assert.deepEqual(t.shown(), [...Array(next).keys()]);
      assert.ok(t.writes.length <= next, 'never more writes than changes');
    }),
    { numRuns: 40 },
  );
});

test('changes posted while a job of the log runs share one write; it goes when the job ends, or quickAnswerMs after it began to wait', async () => {
  // A second: a loaded machine stalling this test for a while does not let the hold run out early.
  const t = setup(1_000);
  t.setBusy(true);
  const first = [t.notice(0), t.notice(1), t.notice(2)];
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(t.writes.length, 0, 'nothing written while the job runs');
  t.setBusy(false);
  // The job's end comes with a change of its own (its reply), which wakes the waiting write.
  await Promise.all([...first, t.notice(3)]);
  assert.equal(t.writes.length, 1);
  assert.deepEqual(t.shown(), [0, 1, 2, 3]);

  t.setBusy(true);
  const began = Date.now();
  await t.notice(4);
  assert.ok(Date.now() - began >= 990, 'the write waits quickAnswerMs, then goes though the job runs on (it resolved)');
  assert.equal(t.writes.length, 2);
});

test("a deferred job's changes wait, the others go; they are written once the read no longer defers them", async () => {
  const t = setup(0);
  const job = { request: { fence: '```js\nx\n```' } } as Job;
  t.defer(job);
  const deferred = t.notice(0, { jobs: [job] });
  await t.notice(1);
  assert.deepEqual(t.shown(), [1]);
  assert.deepEqual(t.outbox.waitingFences(t.path), [job.request.fence], 'its marker counts as live meanwhile');
  t.defer(undefined);
  await t.outbox.read(t.path);
  await deferred;
  assert.deepEqual(t.shown(), [1, 0]);
  assert.deepEqual(t.outbox.waitingFences(t.path), []);
});

test('a change posted while a write that carried none is being put in place is written by the next one', async () => {
  const t = setup(0);
  await t.notice(0);
  // A read whose write carries an agent's edit and no change; a reply is posted right before it lands.
  let posted: Promise<unknown> | undefined;
  t.setReader({
    compute: (_room, content) => ({ text: content.kind === 'text' && !content.text.includes('edit\n') ? content.text + 'edit\n' : null, result: null }),
    beforeWrite: () => void (posted ??= t.notice(1)),
  });
  await t.outbox.read(t.path);
  const late = await Promise.race([posted!.then(() => 'written'), new Promise((resolve) => setTimeout(resolve, 2_000, 'left waiting'))]);
  assert.equal(late, 'written');
  assert.deepEqual(t.shown(), [0, 1]);
});

test('a request an agent appends while a write is being made is held for by the write that reads it (a quick answer after a retry)', async () => {
  const t = setup(0);
  await t.notice(0);
  const holds: boolean[] = [];
  let appended = false;
  t.setReader({
    compute: (_room, content) => ({ text: null, result: content.kind === 'text' && content.text.includes('REQ\n') ? ({} as unknown as null) : null }),
    hold: (_room, first) => (holds.push(first !== null), first !== null ? Promise.resolve() : null),
    // The agent appends between the daemon's read and its write: the write finds the log changed and reads again.
    beforeWrite: () => {
      if (!appended) appendFileSync(t.path, 'REQ\n');
      appended = true;
    },
  });
  await t.notice(1);
  assert.deepEqual(holds.slice(0, 2), [false, true], 'asked again for the read that found the request');
});
