// Reading a log and replacing it atomically: refused when the log changed, exact bytes when written.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rawText, readLog, releaseRead, replaceLog } from '../../src/daemon/write-atomic.js';
import { tempRoot } from '../helpers/temp.js';

test('replaceLog refuses to rename over a log that changed since it was read', async () => {
  const dir = tempRoot();
  const log = join(dir, 'tab.md');
  writeFileSync(log, 'one\n');
  const read = await readLog(log);
  assert.equal(read.kind, 'text');
  appendFileSync(log, 'agent\n');
  const outcome = await replaceLog(log, read as Extract<typeof read, { kind: 'text' }>, 'daemon\n');
  await releaseRead(read);
  assert.equal(outcome.kind, 'changed');
  assert.equal(readFileSync(log, 'utf8'), 'one\nagent\n');
  assert.deepEqual(readdirSync(dir), ['tab.md'], 'no temp file or backup left');
});

test('a replacement reuses the bytes of the unchanged history and writes exactly the new text', async () => {
  const dir = tempRoot();
  const log = join(dir, 'tab.md');
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
    const outcome = await replaceLog(log, read as Extract<typeof read, { kind: 'text' }>, next);
    await releaseRead(read);
    assert.equal(outcome.kind, 'written');
    assert.ok(readFileSync(log).equals(Buffer.from(next, 'utf8')), `the file is exactly the new text for ${JSON.stringify(after)}`);
    for (const name of readdirSync(dir)) if (name !== 'tab.md') rmSync(join(dir, name));
  }
});

test('a read that knows the last version decodes only what was appended, and re-reads anything else', async () => {
  const dir = tempRoot();
  const log = join(dir, 'tab.md');
  writeFileSync(log, 'first 👍\n'.repeat(20_000));
  const first = await readLog(log);
  assert.equal(first.kind, 'text');
  const known = first as Extract<typeof first, { kind: 'text' }>;
  await releaseRead(first);
  const same = await readLog(log, known);
  assert.equal(same.kind === 'text' && rawText(same), rawText(known), 'an unchanged file is the known version');
  await releaseRead(same);
  appendFileSync(log, 'appended ✓\n');
  const grown = await readLog(log, known);
  assert.equal(grown.kind === 'text' && rawText(grown), readFileSync(log, 'utf8'));
  await releaseRead(grown);
  // Same size, different content at the start: read in full.
  writeFileSync(log, 'FIRST'.padEnd(Buffer.byteLength(readFileSync(log, 'utf8').slice(0, 5)), ' ') + readFileSync(log, 'utf8').slice(5));
  const rewritten = await readLog(log, known);
  assert.equal(rewritten.kind === 'text' && rawText(rewritten), readFileSync(log, 'utf8'));
  assert.ok(rewritten.kind === 'text' && rawText(rewritten).startsWith('FIRST'));
  await releaseRead(rewritten);
});

test('a long log that changed since it was read is not replaced, even when its start would be copied', async () => {
  const dir = tempRoot();
  const log = join(dir, 'tab.md');
  const history = '# tab\n' + 'earlier reply\n'.repeat(100_000);
  writeFileSync(log, history);
  const read = await readLog(log);
  appendFileSync(log, 'agent\n');
  const outcome = await replaceLog(log, read as Extract<typeof read, { kind: 'text' }>, history + 'daemon\n');
  await releaseRead(read);
  assert.equal(outcome.kind, 'changed');
  assert.equal(readFileSync(log, 'utf8'), history + 'agent\n');
  assert.deepEqual(readdirSync(dir), ['tab.md'], 'no temp file or backup left');
});
