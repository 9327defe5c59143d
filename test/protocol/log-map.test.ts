// The scan of log-map.ts: sections found from a text mapped before (its common start reused) are
// the sections a scan of the whole text finds, whatever the edit; a block is stepped over whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { mapLog, scanLog } from '../../src/protocol/log-map.js';

const line = fc.constantFrom(
  '#### 👍r1 at 08:00:01 (1ms)',
  '#### ⏳r1 at 08:00:01',
  'queued',
  'executing (3s)',
  '#### 📣r1 background at 08:00:01',
  '##### ☑️console.log at 08:00:01',
  '## Test Results: 1 pass, 0 fail, 0 skip (1ms)',
  '✓ a (1ms)',
  '### 🗣️agent at 08:00:01',
  '```js',
  '```',
  '````',
  '```Text',
  '````JSON',
  '```Error console.error',
  'text',
  '',
  '> Append your JavaScript snippet below to execute against this page.',
);
const textArb = fc.array(line, { maxLength: 40 }).map((lines) => lines.join('\n') + '\n');

test('mapping a text after another gives what scanning it whole gives, for any edit', () => {
  fc.assert(
    fc.property(textArb, fc.nat(), fc.nat(), textArb, (before, at, length, inserted) => {
      const from = at % (before.length + 1);
      const after = before.slice(0, from) + inserted + before.slice(Math.min(before.length, from + (length % 50)));
      mapLog(before);
      assert.deepEqual(mapLog(after), scanLog(after));
    }),
    { numRuns: 2000 },
  );
});

test('a block is stepped over to its own closing line: nothing inside it is a section', () => {
  const text = '#### 👍r1 at 08:00:01 (1ms)\n````Text\n```\n#### 👍r1 at 08:00:02 (1ms)\n```Text\nx\n```\n````\n\n### 🗣️agent at 08:00:03\n';
  assert.deepEqual(scanLog(text), { sections: [{ start: 0, end: text.indexOf('\n\n') + 1 }], agentHeaders: [text.indexOf('\n### ') + 1] });
});
