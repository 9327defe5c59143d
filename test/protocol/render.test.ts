import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_OUTPUT, cutBlockText, fenceFor, utf8Length, renderEvents, renderOutcome, type LogEvent } from '../../src/protocol/index.js';

test('a text over the budget keeps whole lines and says what was left out and where the whole text is', () => {
  const text = Array.from({ length: 100 }, (_, index) => `line ${index} é`).join('\n');
  const cut = cutBlockText('Text', text, 400, 'daebug/tab.out/1.txt');
  assert.ok(utf8Length(cut) <= 400, `${utf8Length(cut)} bytes`);
  const lines = cut.split('\n');
  assert.equal(lines[0], 'line 0 é');
  assert.match(lines.at(-2)!, /^\.\.\. \d+ more lines$/);
  assert.match(lines.at(-1)!, /^\.\.\. \(cut at 400 B: [\d.]+ (B|KiB) of 1.1 KiB left out; whole: daebug\/tab\.out\/1\.txt\) \.\.\.$/);
  for (const line of lines.slice(0, -2)) assert.match(line, /^line \d+ é$/, 'no line is cut in the middle');
});

test('one line longer than the budget is cut on a character boundary', () => {
  const cut = cutBlockText('Text', 'é'.repeat(2000), 300);
  const kept = cut.split('\n')[0]!;
  assert.ok(!kept.includes('\uFFFD') && /^é+$/.test(kept));
  assert.ok(utf8Length(cut) <= 300);
});

test('texts within the budget are kept as they are', () => {
  const text = 'x'.repeat(DEFAULT_MAX_OUTPUT);
  assert.equal(cutBlockText('Text', text, DEFAULT_MAX_OUTPUT), text);
});

test('a 10,000-number JSON array is cut by elements, still printed as JSON.stringify prints it', () => {
  const text = JSON.stringify(Array.from({ length: 10_000 }, (_, index) => index), null, 2);
  const cut = cutBlockText('JSON', text, DEFAULT_MAX_OUTPUT, 'daebug/tab.out/1.json');
  assert.ok(utf8Length(cut) <= DEFAULT_MAX_OUTPUT, `${utf8Length(cut)} bytes`);
  const lines = cut.split('\n');
  assert.equal(lines[0], '[');
  assert.equal(lines[1], '  0,');
  const more = lines.findIndex((line) => line.startsWith('  ... '));
  const shown = more - 1;
  assert.equal(lines[more], `  ... ${10_000 - shown} more items`);
  assert.equal(lines[more - 1], `  ${shown - 1},`);
  assert.equal(lines[more + 1], ']');
  assert.match(lines[more + 2]!, /whole: daebug\/tab\.out\/1\.json\) \.\.\.$/);
});

test('objects are cut by keys, and a large element is cut inside, never in a token', () => {
  const rows = Array.from({ length: 10_000 }, (_, index) => ({ id: index, name: `item ${index}` }));
  const cut = cutBlockText('JSON', JSON.stringify({ total: 10_000, rows, tail: 'x' }, null, 2), 1000);
  assert.ok(utf8Length(cut) <= 1000, `${utf8Length(cut)} bytes`);
  assert.match(cut, /^\{\n  "total": 10000,\n  "rows": \[\n    \{\n      "id": 0,\n      "name": "item 0"\n    \},/);
  assert.match(cut, /\n    \.\.\. \d+ more items\n  \],?\n  \.\.\. 1 more key\n\}\n/);
});

test("a section's events stay within the budget: the first and the last are kept, the rest counted", () => {
  const events: LogEvent[] = Array.from({ length: 6 }, (_, index) => ({ source: 'console.log', at: '08:00:00', lang: 'Text', text: `e${index} ${'x'.repeat(300)}` }));
  const text = renderEvents(events, 1000);
  assert.ok(utf8Length(text) <= 1000, `${utf8Length(text)} bytes`);
  const shown = [...text.matchAll(/^e(\d+) /gm)].map((match) => Number(match[1]));
  assert.equal(shown[0], 0);
  assert.equal(shown.at(-1), 5);
  assert.match(text, new RegExp(`^\\.\\.\\. \\(${6 - shown.length} more background events omitted\\) \\.\\.\\.$`, 'm'));
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
