import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_RESULT_BYTES, cutToBytes, fenceFor, renderEvents, renderOutcome, type LogEvent } from '../../src/protocol/index.js';

test('results over 256 KiB are cut on a character boundary with a line saying how much was left out', () => {
  const text = 'é'.repeat(200_000); // 400,000 bytes
  const cut = cutToBytes(text, MAX_RESULT_BYTES);
  const [kept, note] = [cut.slice(0, cut.lastIndexOf('\n')), cut.slice(cut.lastIndexOf('\n') + 1)];
  assert.equal(new TextEncoder().encode(kept).length, MAX_RESULT_BYTES);
  assert.ok(!kept.includes('\uFFFD'), 'no broken character');
  assert.equal(note, '... (cut at 256 KiB: 134.6 KiB of 390.6 KiB left out) ...');
});

test('results within the limit are kept as they are', () => {
  const text = 'x'.repeat(MAX_RESULT_BYTES);
  assert.equal(cutToBytes(text, MAX_RESULT_BYTES), text);
});

test('a fence is always longer than any backtick fence inside the content', () => {
  assert.equal(fenceFor('plain'), '```');
  assert.equal(fenceFor('```js\nx\n```'), '````');
  assert.equal(fenceFor('  `````\n'), '``````');
});

test('more than 10 events show the first 2, an omission line and the last 8, in arrival order', () => {
  const events: LogEvent[] = Array.from({ length: 11 }, (_, index) => ({ source: 'console.log', at: '08:00:00', lang: 'Text', text: `e${index}` }));
  const shown = [...renderEvents(events).matchAll(/^e(\d+)$/gm)].map((match) => Number(match[1]));
  assert.deepEqual(shown, [0, 1, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.match(renderEvents(events), /^\.\.\. \(1 more background events omitted\) \.\.\.$/m);
  assert.equal((renderEvents(events.slice(0, 10)).match(/omitted/g) ?? []).length, 0);
});

test('a timeout names the realm and the time waited', () => {
  assert.equal(renderOutcome({ kind: 'timeout', timeoutMs: 5000 }, 'tab-1'), '```Error\nError: no answer from tab-1 after 5000 ms (job timed out)\n```\n');
});
