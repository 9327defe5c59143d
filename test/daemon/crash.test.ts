// A daemon killed with SIGKILL at random moments, while jobs finish and an agent appends, never leaves
// a half-written log and never loses an agent's line.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FOOTER_PROMPT, classifyTail } from '../../src/protocol/index.js';
import { exited, runCounts, startChild } from '../helpers/child.js';
import { quietPeriod, tempRoot, waitFor } from '../helpers/temp.js';
import { backupNames, workFiles } from '../helpers/work-files.js';

const ROUNDS = 20;

function assertSubsequence(lines: readonly string[], wanted: readonly string[]): void {
  let at = 0;
  for (const line of lines) if (at < wanted.length && line === wanted[at]) at += 1;
  assert.equal(at, wanted.length, `agent line missing or out of order: ${JSON.stringify(wanted[at])}`);
}

/** The text of the backups a killed daemon left (the old file of a write it was in the middle of). */
function backups(root: string): string {
  return backupNames(root)
    .map((name) => readFileSync(join(root, '.daebug', 'backups', name), 'utf8'))
    .join('\n');
}

test('SIGKILL at random moments leaves a whole log and loses no agent line', async () => {
  const root = tempRoot();
  const runs = join(root, 'runs.ndjson');
  mkdirSync(join(root, 'daebug'));
  const log = join(root, 'daebug', 'tab.md');
  writeFileSync(log, '# tab\n');
  const agentLines = ['# tab'];
  const requests: string[] = [];
  const wanted = () => agentLines.filter((line) => line.trim() !== '');
  for (let round = 0; round < ROUNDS; round++) {
    const child = await startChild(root, runs);
    // A new daemon has merged whatever the last one left in backups: every line is in the log, in order.
    assertSubsequence(readFileSync(log, 'utf8').split('\n'), wanted());
    const killAt = Date.now() + 20 + Math.random() * 250;
    for (let index = 0; Date.now() < killAt; index++) {
      const request = `req_${round}_${index}()`;
      const lines = [`note ${round}.${index}`, '```js', request, '```'];
      appendFileSync(log, lines.join('\n') + '\n');
      agentLines.push(...lines);
      requests.push(request);
      await quietPeriod(Math.random() * 60);
    }
    child.kill('SIGKILL');
    await exited(child);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(log));
    assert.ok(text.split('\n').filter((line) => line.startsWith(FOOTER_PROMPT)).length <= 1, 'at most one footer');
    assert.doesNotThrow(() => classifyTail(text));
    // Right after the kill, a line the agent wrote in the instant of a rename may still be in a backup.
    const onDisk = new Set([...text.split('\n'), ...backups(root).split('\n')]);
    for (const line of wanted()) assert.ok(onDisk.has(line), `agent line ${JSON.stringify(line)} is on disk`);
  }

  // A last daemon merges, finishes (or interrupts) everything, and stops on SIGTERM.
  const child = await startChild(root, runs);
  const settled = () => {
    const text = readFileSync(log, 'utf8');
    return !text.includes('executing (') && !/^queued$/m.test(text) && classifyTail(text).kind === 'empty';
  };
  await waitFor(settled, 'every request answered', 20_000);
  child.kill('SIGTERM');
  assert.equal(await exited(child), 143);
  const text = readFileSync(log, 'utf8');
  assertSubsequence(text.split('\n'), wanted());
  for (const request of requests) {
    const under = text.split(`\`\`\`js\n${request}\n\`\`\`\n`);
    assert.equal(under.length, 2, `${request} is in the log once`);
    assert.match(under[1]!, /^#### (👍|⚠️daebug)/u, `${request} has a reply or an interruption notice right under it`);
    assert.ok(text.split(`\n"${request}"\n`).length <= 2, `${request} is answered at most once`);
  }
  const counts = runCounts(runs);
  for (const request of requests) assert.ok((counts.get(request) ?? 0) <= 1, `${request} ran ${counts.get(request)} times`);
  assert.ok(counts.size > requests.length / 2, `most requests ran (${counts.size} of ${requests.length})`);
  assert.match(readFileSync(join(root, 'daebug.md'), 'utf8'), /stopped at \d\d:\d\d:\d\d \(SIGTERM\)/);
  assert.deepEqual(workFiles(root), [], 'no temp files or backups left, in .daebug/ or next to the logs');
  assert.deepEqual(readdirSync(join(root, 'daebug')), ['tab.md']);
});
