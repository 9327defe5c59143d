// Three-way merges of a daemon's and an agent's version of a log: nothing either side added is lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeVersions } from '../../src/protocol/merge.js';

const base = '# tab\nhistory 1\nhistory 2\n```js\nwork()\n```\n> ⏳ executing (0s)\n---\n> Append your JavaScript snippet below to execute against this page.\n';

test('a reply and an agent line appended after the footer both stay', () => {
  const ours = base.replace('> ⏳ executing (0s)\n', '#### 👍tab to agent at 10:00:00 (1ms)\n```JSON\n1\n```\n');
  const theirs = base + '```js\nnext()\n```\n';
  assert.equal(mergeVersions(base, ours, theirs), ours + '```js\nnext()\n```\n');
});

test('an agent line inserted in the history and a reply below both stay', () => {
  const ours = base.replace('> ⏳ executing (0s)\n', 'REPLY\n');
  const theirs = base.replace('history 1\n', 'history 1\nagent note\n');
  assert.equal(mergeVersions(base, ours, theirs), base.replace('history 1\n', 'history 1\nagent note\n').replace('> ⏳ executing (0s)\n', 'REPLY\n'));
});

test('where both changed the same lines, the daemon lines come first, then what the agent added', () => {
  const ours = base.replace('> ⏳ executing (0s)\n', 'REPLY\n');
  const theirs = base.replace('> ⏳ executing (0s)\n', '> ⏳ executing (0s)\nagent line\n');
  const merged = mergeVersions(base, ours, theirs);
  assert.ok(merged.includes('REPLY\nagent line\n'), merged);
  assert.ok(!merged.includes('executing'), 'the marker the daemon replaced does not come back');
});

test('a deletion by the agent where the daemon changed nothing is kept', () => {
  const ours = base.replace('> ⏳ executing (0s)\n', 'REPLY\n');
  const theirs = base.replace('history 2\n', '');
  assert.ok(!mergeVersions(base, ours, theirs).includes('history 2'));
});

test('one side unchanged gives the other side', () => {
  assert.equal(mergeVersions(base, base, base + 'x\n'), base + 'x\n');
  assert.equal(mergeVersions(base, base + 'y\n', base), base + 'y\n');
});
