// Recognising an agent's copy of an older version of a log (stale-copies.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createVersionHistory, sharedEnds } from '../../src/daemon/stale-copies.js';

const lines = (count: number) => Array.from({ length: count }, (_, n) => `history line ${n}\n`);
const insertAfter = (text: string, line: string, added: string) => text.replace(line, `${line}${added}`);

test('an agent editing its own versions while the daemon writes nothing is never healed: its edits are not applied twice', () => {
  const history = createVersionHistory();
  const written = lines(40).join('');
  const first = `${written}edit 1\n`;
  const second = insertAfter(first, 'history line 35\n', 'edit 2\n');
  const third = `${insertAfter(second, 'history line 30\n', 'edit 3\n')}edit 4\n`;
  history.remember('log', Buffer.from(written), 'written');
  history.remember('log', Buffer.from(first), 'read');
  history.remember('log', Buffer.from(second), 'read');
  // Edits at both ends make the daemon's last write look like the closest base; merging from it
  // would add `edit 1` a second time.
  assert.equal(history.heal('log', Buffer.from(third)), null);
});

test("a copy made from a version before the daemon's last write gets what the daemon wrote since back", () => {
  const history = createVersionHistory();
  const read = `${lines(40).join('')}request\n`;
  const accepted = read.replace('request\n', '### accepted\nrequest\nexecuting\n');
  history.remember('log', Buffer.from(read), 'read');
  history.remember('log', Buffer.from(accepted), 'written');
  const copy = insertAfter(read, 'history line 3\n', 'an edit\n');
  const healed = history.heal('log', Buffer.from(copy));
  assert.equal(healed?.toString(), insertAfter(accepted, 'history line 3\n', 'an edit\n'));
});

test('a fragment of the log (read while an agent rewrote it) is the base of nothing', () => {
  const history = createVersionHistory();
  const whole = lines(40).join('');
  const fragment = Buffer.from(whole.slice(0, 60));
  history.remember('log', Buffer.from(whole), 'written');
  history.remember('log', fragment, 'read');
  // The fragment is the smallest edit away from a copy that starts like it, but shares too little.
  const copy = Buffer.from(`${whole.slice(0, 60)}${'an agent line\n'.repeat(5)}`);
  assert.equal(history.baseOf('log', copy), null);
  assert.equal(history.baseOf('log', Buffer.from(`${whole}more\n`))?.toString(), whole);
});

test('the shared start and end of two versions are counted to the byte', () => {
  const a = Buffer.from(`${'x'.repeat(70_000)}A${'y'.repeat(5_000)}`);
  const b = Buffer.from(`${'x'.repeat(70_000)}BB${'y'.repeat(5_000)}`);
  assert.equal(sharedEnds(a, b), 75_000);
  assert.equal(sharedEnds(a, a), a.length, 'a version shares all of itself, counted once');
  // abc and abXbc share ab and bc, but abc has only three bytes: its b is counted once.
  assert.equal(sharedEnds(Buffer.from('abc'), Buffer.from('abXbc')), 3, 'the end never overlaps the start');
  assert.equal(sharedEnds(Buffer.from(''), b), 0);
});

test('a stale copy with edits far apart (near the start and at the end) is still recognised and healed', () => {
  const history = createVersionHistory();
  const read = `${lines(40).join('')}request\n`;
  const accepted = read.replace('request\n', '### accepted\nrequest\nexecuting\n');
  history.remember('log', Buffer.from(read), 'read');
  history.remember('log', Buffer.from(accepted), 'written');
  // The start and the end the copy shares with any version are a few lines: the rest is in between.
  const copy = `${insertAfter(read, 'history line 1\n', 'an edit\n')}another edit\n`;
  const healed = history.heal('log', Buffer.from(copy));
  assert.equal(healed?.toString(), `${insertAfter(accepted, 'history line 1\n', 'an edit\n')}another edit\n`);
});
