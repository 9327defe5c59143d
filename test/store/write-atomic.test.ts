// Reading a log and replacing it atomically: refused when the log changed, exact bytes when written.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { workFolders } from '../../src/store/work-folders.js';
import { createFile, placeVersion, rawText, readLog, releaseRead, replaceLog, usesExchange } from '../../src/store/write-atomic.js';
import { tempRoot } from '../helpers/temp.js';
import { backupNames, workFiles } from '../helpers/work-files.js';

/** A root with `daebug/`; returns the path of its log `tab.md` (not created) and the daemon's working folders. */
function logRoot() {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  return { root, log: join(root, 'daebug', 'tab.md'), folders: workFolders(root) };
}

test('replaceLog refuses to rename over a log that changed since it was read', async () => {
  const { root, log, folders } = logRoot();
  writeFileSync(log, 'one\n');
  const read = await readLog(log);
  assert.equal(read.kind, 'text');
  appendFileSync(log, 'agent\n');
  const outcome = await replaceLog(log, read as Extract<typeof read, { kind: 'text' }>, 'daemon\n', folders);
  releaseRead(read);
  assert.equal(outcome.kind, 'changed');
  assert.equal(readFileSync(log, 'utf8'), 'one\nagent\n');
  assert.deepEqual(readdirSync(join(root, 'daebug')), ['tab.md']);
  assert.deepEqual(workFiles(root), [], 'no temp file or backup left');
});

test('a replacement keeps its temp file and backup in .daebug/, never next to the log', async () => {
  const { root, log, folders } = logRoot();
  writeFileSync(log, 'one\n');
  const read = await readLog(log);
  const outcome = await replaceLog(log, read as Extract<typeof read, { kind: 'text' }>, 'one\ntwo\n', folders);
  releaseRead(read);
  assert.equal(outcome.kind, 'written');
  assert.equal(readFileSync(log, 'utf8'), 'one\ntwo\n');
  assert.deepEqual(readdirSync(join(root, 'daebug')), ['tab.md']);
  assert.deepEqual(workFiles(root), backupNames(root).map((name) => `.daebug/backups/${name}`));
  assert.match(backupNames(root)[0]!, /^log\.tab\.md\.4\.[\w-]+\.8\.[\w-]+\.daebug-prev$/);
  assert.equal(readFileSync(join(folders.backups, backupNames(root)[0]!), 'utf8'), 'one\n', 'the backup is the old file');
});

test('replaceLog and createFile refuse a file that is not daebug.md or a log in daebug/', async () => {
  const { root, folders } = logRoot();
  for (const name of ['package.json', 'notes.md', join('daebug', 'sub', 'x.md'), join('daebug', 'tab.txt')]) {
    const path = join(root, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '{}\n');
    const read = await readLog(path);
    await assert.rejects(replaceLog(path, read as Extract<typeof read, { kind: 'text' }>, '{"scripts":{}}\n', folders), /daebug does not write/);
    releaseRead(read);
    const fresh = join(dirname(path), `new-${basename(path)}`);
    await assert.rejects(createFile(fresh, '{}\n', folders), /daebug does not write/);
    assert.equal(readFileSync(path, 'utf8'), '{}\n', `${name} is unchanged`);
    assert.ok(!existsSync(fresh), `${fresh} is not created`);
  }
  assert.deepEqual(workFiles(root), []);
});

test('a replacement reuses the bytes of the unchanged history and writes exactly the new text', async () => {
  const { log, folders } = logRoot();
  // Over one reuse chunk of history (and over the size copied by the kernel), with emoji whose
  // surrogate pairs straddle the point of change.
  const short = '# tab\n' + '### 🗣️agent to tab\n```js\n"é"\n```\n'.repeat(4000);
  const long = short.repeat(10);
  for (const [history, before, after] of [
    [short, '😀 tail\n', '😁 tail\n'],
    [short, 'tail\n', 'tail\nreply 👍\n'],
    [long, '😀 tail\n', '😁 tail\n'],
    [long, 'a longer tail that gets shorter\n', 'short\n'],
    [long, '\r\nkept CRLF\r\n', '\r\nkept CRLF\r\nmore\r\n'],
  ] as const) {
    writeFileSync(log, '\uFEFF' + history + before);
    const read = await readLog(log);
    assert.equal(read.kind, 'text');
    const next = '\uFEFF' + history + after;
    const outcome = await replaceLog(log, read as Extract<typeof read, { kind: 'text' }>, next, folders);
    releaseRead(read);
    assert.equal(outcome.kind, 'written');
    assert.ok(readFileSync(log).equals(Buffer.from(next, 'utf8')), `the file is exactly the new text for ${JSON.stringify(after)}`);
    for (const name of readdirSync(folders.backups)) rmSync(join(folders.backups, name));
  }
});

test('a read that knows the last version decodes only what was appended, and re-reads anything else', async () => {
  const { log } = logRoot();
  writeFileSync(log, 'first 👍\n'.repeat(20_000));
  const first = await readLog(log);
  assert.equal(first.kind, 'text');
  const known = first as Extract<typeof first, { kind: 'text' }>;
  releaseRead(first);
  const same = await readLog(log, known);
  assert.equal(same.kind === 'text' && rawText(same), rawText(known), 'an unchanged file is the known version');
  releaseRead(same);
  appendFileSync(log, 'appended ✓\n');
  const grown = await readLog(log, known);
  assert.equal(grown.kind === 'text' && rawText(grown), readFileSync(log, 'utf8'));
  releaseRead(grown);
  // Same size, different content at the start: read in full.
  writeFileSync(log, 'FIRST'.padEnd(Buffer.byteLength(readFileSync(log, 'utf8').slice(0, 5)), ' ') + readFileSync(log, 'utf8').slice(5));
  const rewritten = await readLog(log, known);
  assert.equal(rewritten.kind === 'text' && rawText(rewritten), readFileSync(log, 'utf8'));
  assert.ok(rewritten.kind === 'text' && rawText(rewritten).startsWith('FIRST'));
  releaseRead(rewritten);
});

test('a long log that changed since it was read is not replaced, even when its start would be copied', async () => {
  const { root, log, folders } = logRoot();
  const history = '# tab\n' + 'earlier reply\n'.repeat(100_000);
  writeFileSync(log, history);
  const read = await readLog(log);
  appendFileSync(log, 'agent\n');
  const outcome = await replaceLog(log, read as Extract<typeof read, { kind: 'text' }>, history + 'daemon\n', folders);
  releaseRead(read);
  assert.equal(outcome.kind, 'changed');
  assert.equal(readFileSync(log, 'utf8'), history + 'agent\n');
  assert.deepEqual(readdirSync(join(root, 'daebug')), ['tab.md']);
  assert.deepEqual(workFiles(root), [], 'no temp file or backup left');
});

test('placing a version keeps exactly the file that was the log, an editor save after the last check included', async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  const log = join(root, 'daebug', 'tab.md');
  writeFileSync(log, 'daemon read this\n');
  // An editor's safe save lands after the daemon's last check: its file is the log now.
  writeFileSync(join(root, 'daebug', '.tab.md.swp'), 'daemon read this\neditor line\n');
  renameSync(join(root, 'daebug', '.tab.md.swp'), log);
  const temp = join(root, 'daemon-version');
  writeFileSync(temp, 'daemon read this\nreply\n');
  const backup = join(root, 'backup');
  assert.equal(placeVersion(log, temp, backup), 'placed');
  assert.equal(readFileSync(log, 'utf8'), 'daemon read this\nreply\n');
  assert.equal(readFileSync(backup, 'utf8'), 'daemon read this\neditor line\n', "the editor's save is kept, not replaced");
  assert.equal(existsSync(temp), false, 'the temp name is gone');
  writeFileSync(temp, 'again\n');
  assert.equal(placeVersion(join(root, 'daebug', 'gone.md'), temp, join(root, 'backup3')), 'missing', 'a log deleted meanwhile is not made again');
});

test('logs are put in place by the exchange rename on Linux (built from native/exchange.c), by a link and a rename elsewhere or with DAEBUG_NO_EXCHANGE=1', () => {
  const root = tempRoot();
  const exchange = process.platform === 'linux' && process.env.DAEBUG_NO_EXCHANGE !== '1';
  assert.equal(usesExchange(join(root, 'x.md')), exchange, exchange ? 'dist/native/exchange-linux-*.node is missing or failed to load: run npm run build (it needs cc and Node headers)' : 'no exchange is used here');
});
