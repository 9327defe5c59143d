// Requests put into the history: finding what an agent changed, and which fences there will not run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { editedRange, noticeStrayFences, strayFences } from '../../src/protocol/index.js';

const reply = (value: string) => `#### 👍tab at 08:00:00 (1ms)\n\`\`\`JSON\n${value}\n\`\`\`\n\n`;
const request = (code: string) => `### 🗣️agent at 08:00:00\n\`\`\`js\n${code}\n\`\`\`\n`;
const history = (count: number) => Array.from({ length: count }, (_, index) => request(`step${index}()`) + reply(String(index))).join('');

test('editedRange: what was inserted or replaced, found across 4 KB chunks, never overlapping the common ends', () => {
  const before = 'x'.repeat(10_000) + 'tail';
  assert.deepEqual(editedRange({ text: before }, { text: 'x'.repeat(5_000) + 'NEW' + 'x'.repeat(5_000) + 'tail' }), { from: 5_000, to: 5_003 });
  assert.deepEqual(editedRange({ text: 'abc' }, { text: 'abXc' }), { from: 2, to: 3 });
  // A repeated character inserted: the common start and end must not both claim it.
  assert.deepEqual(editedRange({ text: 'aaaa' }, { text: 'aaaaa' }), { from: 4, to: 5 });
  assert.equal(editedRange({ text: 'same' }, { text: 'same' }), null);
  assert.equal(editedRange({ text: 'a removed b' }, { text: 'a b' }), null, 'only lost text');
  assert.deepEqual(editedRange({ text: 'abc' }, { text: 'aZc' }), { from: 1, to: 2 });
});

test('editedRange lines up two windows of a log that grew, and gives up on one that shrank', () => {
  const head = '# tab\n\n';
  const whole = head + 'A'.repeat(1_000) + 'B'.repeat(1_000) + 'C'.repeat(1_000);
  const window = (text: string, cut: number) => ({ text: head + text.slice(cut), window: { head: head.length, cut } });
  const before = window(whole, head.length + 1_000);
  const grown = whole.slice(0, head.length + 1_500) + 'PASTED' + whole.slice(head.length + 1_500);
  const after = window(grown, head.length + 1_200);
  const range = editedRange(before, after)!;
  assert.equal(after.text.slice(range.from, range.to), 'PASTED');
  const shrunk = window(whole, head.length + 500);
  assert.equal(editedRange(before, shrunk), null);
  // A log that was whole and is now a window is lined up too.
  const fromWhole = editedRange({ text: whole }, after)!;
  assert.equal(after.text.slice(fromWhole.from, fromWhole.to), 'PASTED');
});

test('strayFences: a request between replies, not one that has a reply, a marker or a notice, nor one in a reply', () => {
  const stray = '```js\npasted()\n```\n';
  const above = '# tab\n\n' + history(2) + 'Between replies:\n' + stray + '\n' + history(2) + request('queued()') + '#### ⏳tab at 08:00:01\nqueued\n\n';
  const at = above.indexOf(stray);
  assert.deepEqual(strayFences(above), [at + stray.length]);
  assert.deepEqual(strayFences(above, at, at + stray.length), [at + stray.length], 'the edited part alone');
  assert.deepEqual(strayFences(above, at + stray.length - 4, at + stray.length - 3), [at + stray.length], 'only its closing line edited: read whole');
  assert.deepEqual(strayFences(above, 0, 30), [], 'an edit elsewhere');
  assert.deepEqual(strayFences(above, 0, above.length), [at + stray.length], 'replies between skipped, not the stray');
  const inReply = '# tab\n\n' + request('shown()') + '#### 👍tab at 08:00:00 (1ms)\n````Text\nsee:\n```js\nnot.a.request()\n```\n````\n\n' + history(1);
  assert.deepEqual(strayFences(inReply), []);
  const notes = '# tab\n\n' + history(1) + '```text\na note\n```\n```js\n```\n\n' + history(1);
  assert.deepEqual(strayFences(notes), [], 'a note fence and an empty js fence are no requests');
});

test('strayFences leaves a request after the last reply alone: that one is run', () => {
  const above = '# tab\n\n' + history(2) + 'Inserted above the footer:\n```js\nruns()\n```\n';
  assert.deepEqual(strayFences(above), []);
});

test('noticeStrayFences puts the notice right under the fence, once', () => {
  const text = '# tab\n\n' + history(1) + '```js\npasted()\n```\n' + history(1) + '-'.repeat(70) + '\n> Append your JavaScript snippet below to execute against this page.\n\n\n';
  const noticed = noticeStrayFences(text, 'tab', '08:01:00');
  assert.match(noticed, /```js\npasted\(\)\n```\n#### ⚠️daebug at 08:01:00\n```Text\nnot run: this request is between earlier replies[^\n]*\n```\n\n### 🗣️agent/);
  assert.equal(noticeStrayFences(noticed, 'tab', '08:02:00'), noticed);
});
