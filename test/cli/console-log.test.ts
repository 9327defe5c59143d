// The console printer: nothing a realm sends (names, URLs, diagnostics) reaches the terminal as an
// escape sequence or other control character.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createConsoleLog } from '../../src/cli/console-log.js';
import type { DaemonLogEntry } from '../../src/daemon/daemon.js';

/** What the printer writes to stdout and stderr while `print` runs. */
function captured(print: () => void): string {
  const out = process.stdout.write;
  const err = process.stderr.write;
  let text = '';
  const grab = (chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  try {
    print();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return text;
}

const CONTROL_BUT_LF = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
const hostile: DaemonLogEntry[] = [
  { level: 'info', event: 'realm-connected', message: 'tab connected (page http://x/\x1b]0;pwned\x07\x1b[2J)' },
  { level: 'warn', event: 'warning', message: 'tab: failed\r\n    at \x1b[31mred\x9b0m (x.js:1:1)\ttab' },
];

test('readable lines carry no control character from a message, but keep its line breaks', () => {
  const text = captured(() => {
    const log = createConsoleLog({ json: false, color: false });
    for (const entry of hostile) log.entry(entry);
    log.line('plain \x1b[1mline');
  });
  assert.doesNotMatch(text, CONTROL_BUT_LF);
  assert.match(text, /tab: failed \n {4}at \ufffd\[31mred\ufffd0m \(x\.js:1:1\) tab\n/);
  assert.match(text, /plain \ufffd\[1mline\n$/);
});

test('with colour on, the only escapes are the printer\'s own colours', () => {
  const text = captured(() => createConsoleLog({ json: false, color: true }).entry(hostile[0]!));
  assert.doesNotMatch(text.replace(/\x1b\[\d+m/g, ''), CONTROL_BUT_LF);
  assert.ok(text.includes('\ufffd]0;pwned\ufffd\ufffd[2J'));
});

test('JSON lines escape control characters through JSON', () => {
  const text = captured(() => createConsoleLog({ json: true, color: false }).entry(hostile[0]!));
  assert.doesNotMatch(text.slice(0, -1), CONTROL_BUT_LF);
  assert.equal((JSON.parse(text) as { message: string }).message, hostile[0]!.message);
});
