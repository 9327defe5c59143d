// src/protocol is the pure core: a value in, a value out. This keeps it that way.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

const dir = new URL('../../src/protocol/', import.meta.url);
const forbidden: [RegExp, string][] = [
  [/from ['"]node:/, 'a node: import'],
  [/from ['"](fs|path|os|child_process|net|http)['"]/, 'a Node built-in import'],
  [/\bDate\.now\(|new Date\(\s*\)/, 'a clock read'],
  [/\bperformance\.now\(/, 'a clock read'],
  [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\(/, 'a timer'],
  [/\bprocess\./, 'process state'],
  [/\bMath\.random\(/, 'randomness'],
];

test('src/protocol has no I/O, no clock, no timers', () => {
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts'));
  assert.ok(files.length >= 10, 'protocol files found');
  for (const name of files) {
    const source = readFileSync(new URL(name, dir), 'utf8');
    for (const [pattern, what] of forbidden) assert.doesNotMatch(source, pattern, `${name} has ${what}`);
  }
});
