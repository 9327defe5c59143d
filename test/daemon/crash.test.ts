// A daemon killed with SIGKILL at random moments, while jobs finish and an agent appends, never leaves
// a half-written log and never loses an agent's line.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FOOTER_PROMPT, classifyTail } from '../../src/protocol/index.js';
import { quietPeriod, tempRoot, waitFor } from '../helpers/temp.js';
import { backupNames, workFiles } from '../helpers/work-files.js';

const CHILD = new URL('./child-daemon.ts', import.meta.url).pathname;
const ROUNDS = 12;

/** Children still running when a test fails are killed, so a failure cannot hang the run. */
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

async function startChild(root: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  await waitFor(() => out.includes('ready') || child.exitCode !== null, 'the child daemon to start', 15_000);
  assert.equal(child.exitCode, null, 'the child daemon is running');
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

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
  mkdirSync(join(root, 'daebug'));
  const log = join(root, 'daebug', 'tab.md');
  writeFileSync(log, '# tab\n');
  const agentLines = ['# tab'];
  const requests: string[] = [];
  const wanted = () => agentLines.filter((line) => line.trim() !== '');
  for (let round = 0; round < ROUNDS; round++) {
    const child = await startChild(root);
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
  const child = await startChild(root);
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
  assert.match(readFileSync(join(root, 'daebug.md'), 'utf8'), /stopped at \d\d:\d\d:\d\d \(SIGTERM\)/);
  assert.deepEqual(workFiles(root), [], 'no temp files or backups left, in .daebug/ or next to the logs');
  assert.deepEqual(readdirSync(join(root, 'daebug')), ['tab.md']);
});
