import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FOOTER, acceptChunk, classifyTail } from '../../src/protocol/index.js';

/** A log with `bytes` of history above the footer. The history holds an unclosed fence, which would
 * turn the whole file into a draft if it were tokenized with the tail. */
function longLog(bytes: number): string {
  const reply = '### 🗣️claude to r at 08:00:00\n```js\n1\n```\n#### 👍r to claude at 08:00:00 (1ms)\n```JSON\n1\n```\n\n';
  return '# r\n\n```js\nnever closed\n\n' + reply.repeat(Math.ceil(bytes / reply.length)) + FOOTER;
}

test('only the tail is tokenized, so the history above the footer cannot change the answer', () => {
  const log = longLog(10 * 1024 * 1024) + '```js\ndocument.title\n```\n';
  const tail = classifyTail(log);
  assert.equal(tail.kind, 'request');
  assert.equal(tail.kind === 'request' && tail.requests[0]!.code, 'document.title');
  assert.equal(tail.tailStart, log.length - '```js\ndocument.title\n```\n'.length - 2);
});

test('a fresh file with only a title has an empty tail', () => {
  assert.equal(classifyTail('# My notes\n').kind, 'empty');
});

test('a footer typed by hand without its dashed line still counts', () => {
  const tail = classifyTail('# r\n\n> Append your JavaScript snippet below to execute against this page.\n```js\n1\n```\n');
  assert.equal(tail.kind, 'request');
  assert.equal(tail.hasFooter, true);
});

test('accepting a request keeps every agent line of the tail, header and commentary included', () => {
  const chunk = '### 🗣️claude to r at 08:48:00\nWhy?\n\n```js\nlet x = 5; x * 2\n```\nafter\n';
  const { text, requests } = acceptChunk('# r\n\n' + FOOTER + chunk, 'r', '08:48:01');
  for (const line of chunk.trimEnd().split('\n')) assert.ok(text.split('\n').includes(line), `kept: ${line}`);
  assert.deepEqual(requests.map((request) => [request.agent, request.code, request.fence]), [['claude', 'let x = 5; x * 2', '```js\nlet x = 5; x * 2\n```']]);
});

test('a tail without three backticks or tildes is a note without tokenizing', () => {
  assert.deepEqual(classifyTail('# r\n\n' + FOOTER + 'just `inline` code and ~~strike~~\n').kind, 'note');
});

test('a tail too long to read as requests is an oversized note, even with fences', () => {
  const paste = '```js\n1\n```\n'.repeat(30_000);
  const tail = classifyTail('# r\n\n' + FOOTER + paste);
  assert.equal(tail.kind, 'note');
  assert.equal(tail.kind === 'note' && tail.oversized, tail.tail.length);
  assert.ok(tail.tail.endsWith(paste));
});
