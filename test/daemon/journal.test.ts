// The journal of requests (src/daemon/journal.ts): its records fold into what each log's requests are,
// and a daemon killed with SIGKILL runs no request twice and drops none that was never handed out.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fenceKey, fold, openJournal, parseJournal, records, type JournalRecord } from '../../src/daemon/journal.js';
import { exited, runCounts, startChild } from '../helpers/child.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

/** A small random generator, seeded: a failing history can be run again. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

test('records fold into counts per log and fence; a compacted journal folds into the same state; a line cut short is skipped', () => {
  const k = fenceKey('```js\n1+1\n```');
  const state = fold([
    { t: 'a', log: 'tab.md', k, v: 'x1' },
    { t: 'a', log: 'tab.md', k, v: 'x0' },
    { t: 'w', log: 'tab.md', v: 'x1' },
    { t: 'a', log: 'tab.md', k },
    { t: 'h', log: 'tab.md', k },
    { t: 'e', log: 'other.md', k },
  ]);
  assert.deepEqual(state.get('tab.md')?.pending, new Map([[k, 1]]), 'two accepted on disk (x0 was never written), one handed');
  assert.deepEqual(state.get('tab.md')?.handed, new Map([[k, 1]]));
  assert.deepEqual(state.get('tab.md')?.unconfirmed, new Map(), 'a write on disk settles the other unconfirmed ones');
  assert.deepEqual(state.get('other.md')?.early, new Map([[k, 1]]));
  assert.deepEqual(fold(records(state)), state);
  const text = records(state).map((record) => JSON.stringify(record) + '\n').join('') + '{"t":"d","log":"tab.m';
  assert.deepEqual(fold(parseJournal(text)), state);
  assert.deepEqual([...fold([...records(state), { t: 'r', log: 'tab.md' }, { t: 'd', log: 'other.md', k, s: 'e' }])], [], 'settled logs leave nothing');
});

test('any history of jobs folds to exactly the jobs still open, and compacting at any point changes nothing (property, 300 histories)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const next = random(seed);
    const fences = ['```js\na()\n```', '```js\nb()\n```', '```js\n1+1\n```'];
    /** Open jobs as the test tracks them: [log, fence key, state]. */
    const open: { log: string; k: string; state: 'p' | 'h' | 'e' }[] = [];
    let journal: JournalRecord[] = [];
    for (let step = 0; step < 60; step++) {
      const log = next() < 0.7 ? 'tab.md' : 'w.md';
      const k = fenceKey(fences[Math.floor(next() * fences.length)]!);
      const roll = next();
      const job = open.length > 0 ? open[Math.floor(next() * open.length)]! : undefined;
      if (roll < 0.3) {
        journal.push({ t: 'a', log, k, v: 't' + step }, { t: 'w', log, v: 't' + step });
        open.push({ log, k, state: 'p' });
      } else if (roll < 0.4) {
        journal.push({ t: 'e', log, k });
        open.push({ log, k, state: 'e' });
      } else if (roll < 0.55 && job?.state === 'p' && !open.some((other) => other !== job && other.log === job.log && other.k === job.k && other.state === 'p' && open.indexOf(other) < open.indexOf(job))) {
        journal.push({ t: 'h', log: job.log, k: job.k });
        job.state = 'h';
      } else if (roll < 0.65 && job?.state === 'e') {
        journal.push({ t: 'm', log: job.log, k: job.k });
        job.state = 'h';
      } else if (roll < 0.9 && job) {
        journal.push({ t: 'd', log: job.log, k: job.k, s: job.state });
        open.splice(open.indexOf(job), 1);
      } else if (roll < 0.95) {
        journal = records(fold(journal));
      } else {
        journal.push({ t: 'a', log, k, v: 'never-written' });
      }
    }
    const state = fold(journal);
    for (const log of ['tab.md', 'w.md']) {
      for (const kind of ['p', 'h', 'e'] as const) {
        const want = new Map<string, number>();
        for (const job of open.filter((job) => job.log === log && job.state === kind)) want.set(job.k, (want.get(job.k) ?? 0) + 1);
        const entries = state.get(log);
        const got = kind === 'p' ? entries?.pending : kind === 'h' ? entries?.handed : entries?.early;
        assert.deepEqual(got ?? new Map(), want, `seed ${seed}: ${log} ${kind}`);
      }
    }
  }
});

test('the journal is written at once, made again when .daebug/ is removed under it, and compacted to what is open', () => {
  const root = tempRoot();
  const path = join(root, '.daebug', 'journal');
  const warnings: string[] = [];
  const journal = openJournal(root, (message) => warnings.push(message));
  assert.equal(journal.found, false);
  const k = fenceKey('```js\nwork()\n```');
  journal.record({ t: 'a', log: 'tab.md', k }, { t: 'h', log: 'tab.md', k });
  assert.equal(readFileSync(path, 'utf8'), `{"t":"a","log":"tab.md","k":"${k}"}\n{"t":"h","log":"tab.md","k":"${k}"}\n`, 'on disk when record returns');
  rmSync(join(root, '.daebug'), { recursive: true });
  journal.record({ t: 'a', log: 'tab.md', k });
  assert.deepEqual(parseJournal(readFileSync(path, 'utf8')), [{ t: 'a', log: 'tab.md', k }], 'a new journal in a new .daebug/');
  // Thousands of settled jobs, one still open: the file stays small and says only that.
  for (let n = 0; n < 2000; n++) journal.record({ t: 'a', log: 'w.md', k }, { t: 'h', log: 'w.md', k }, { t: 'd', log: 'w.md', k, s: 'h' });
  assert.ok(statSync(path).size < 70 * 1024, `${statSync(path).size} bytes`);
  assert.deepEqual([...fold(parseJournal(readFileSync(path, 'utf8')))].map(([log, entries]) => [log, [...entries.pending]]), [['tab.md', [[k, 1]]]]);
  journal.close();
  journal.record({ t: 'd', log: 'tab.md', k, s: 'p' });
  assert.equal(openJournal(root, () => {}).atStart('tab.md').pending.get(k), 1, 'nothing is written after close, and a new run reads what was open');
  assert.deepEqual(warnings, []);
});

const LOG_HEAD = '# tab\n';

/** A project with the log `daebug/tab.md`, and the file the child realms write their runs to. */
function project(): { root: string; runs: string; log: string } {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  const log = join(root, 'daebug', 'tab.md');
  writeFileSync(log, LOG_HEAD);
  return { root, runs: join(root, 'runs.ndjson'), log };
}

function request(code: string): string {
  return '```js\n' + code + '\n```\n';
}

test('a daemon killed while a quick job runs, before the write accepting it: the next start accepts it with a notice and never runs it again', async () => {
  const { root, runs, log } = project();
  // The accept waits up to a minute for the job's answer: the kill lands inside that window.
  const child = await startChild(root, runs, { CHILD_QUICK_MS: '60000' });
  appendFileSync(log, request('hang()'));
  await waitFor(() => runCounts(runs).get('hang()') === 1, 'the realm to run hang()');
  assert.doesNotMatch(readFileSync(log, 'utf8'), /executing|queued/, 'the accept is not written yet');
  child.kill('SIGKILL');
  await exited(child);

  const next = await startChild(root, runs);
  await waitFor(() => readFileSync(log, 'utf8').includes('interrupted'), 'the interrupted notice');
  appendFileSync(log, request('after()'));
  await waitFor(() => readFileSync(log, 'utf8').includes('"after()"'), 'the next request answered');
  next.kill('SIGKILL');
  await exited(next);
  const text = readFileSync(log, 'utf8');
  assert.equal(runCounts(runs).get('hang()'), 1, 'hang() ran once');
  assert.match(text, /```js\nhang\(\)\n```\n#### ⚠️daebug at \d\d:\d\d:\d\d\n```Text\nthis request was interrupted: daebug restarted before tab answered\. Append it again to run it\./);
  assert.equal(text.split('hang()').length, 2, 'the request is in the log once');
  assert.doesNotMatch(text, /is not connected/, 'no word of a realm to wait for: nothing waits');
});

test('requests accepted and queued but never handed out when the daemon is killed run once at the next start; the one running is interrupted', async () => {
  const { root, runs, log } = project();
  const child = await startChild(root, runs);
  appendFileSync(log, request('hang()'));
  await waitFor(() => readFileSync(log, 'utf8').includes('executing'), 'hang() running');
  appendFileSync(log, request('first()') + '\n' + request('second()'));
  await waitFor(() => (readFileSync(log, 'utf8').match(/^queued$/gm) ?? []).length === 2, 'two queued markers');
  child.kill('SIGKILL');
  await exited(child);

  const next = await startChild(root, runs);
  await waitFor(() => readFileSync(log, 'utf8').includes('"second()"'), 'second() answered');
  next.kill('SIGKILL');
  await exited(next);
  const text = readFileSync(log, 'utf8');
  assert.deepEqual([...runCounts(runs)].sort(), [['first()', 1], ['hang()', 1], ['second()', 1]]);
  assert.match(text, /```js\nhang\(\)\n```\n#### ⚠️daebug at [\d:]+\n```Text\nthis request was interrupted/);
  assert.match(text, /```js\nfirst\(\)\n```\n#### 👍tab at [\d:]+ \(\d+ms\)\n```JSON\n"first\(\)"\n```/);
  assert.doesNotMatch(text, /queued|executing/);
});

test('without a journal (removed, or a first start after an older daebug) every request left running or queued is interrupted, none runs', async () => {
  const { root, runs, log } = project();
  const child = await startChild(root, runs);
  appendFileSync(log, request('hang()'));
  await waitFor(() => readFileSync(log, 'utf8').includes('executing'), 'hang() running');
  appendFileSync(log, request('first()'));
  await waitFor(() => /^queued$/m.test(readFileSync(log, 'utf8')), 'a queued marker');
  child.kill('SIGKILL');
  await exited(child);
  rmSync(join(root, '.daebug', 'journal'));

  const next = await startChild(root, runs);
  await waitFor(() => (readFileSync(log, 'utf8').match(/interrupted/g) ?? []).length === 2, 'two interrupted notices');
  next.kill('SIGKILL');
  await exited(next);
  assert.deepEqual([...runCounts(runs)], [['hang()', 1]]);
});
