// The command line written into daemon.json and the stopped registry: a shell reads back exactly the
// arguments daebug was started with.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { commandLine, shellQuote } from '../../src/cli/command-line.js';

/** The words a shell makes of `line`, each printed back by printf. */
function wordsOf(shell: string, line: string): string[] {
  const result = spawnSync(shell, ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\0').slice(0, -1);
}

const ARGS = ['--root', 'my site', "it's", '$HOME', '`id`', '```', 'a"b', '*.js', '~', 'back\\slash', 'Über', '', '--port=8080', '-p', '8080'];
const CONTROL_ARGS = ['line\nbreak', 'tab\there', 'esc\x1b[31m', "both'\n\\", 'next\u0085line', 'sep\u2028arator'];

test('plain arguments are written as they are', () => {
  assert.equal(commandLine(['--root', 'site', '--port=8080', '-p', '8080']), 'npx daebug --root site --port=8080 -p 8080');
  assert.equal(commandLine([]), 'npx daebug');
});

test('a POSIX shell reads each quoted argument back exactly', () => {
  for (const shell of ['sh', 'bash']) assert.deepEqual(wordsOf(shell, ARGS.map(shellQuote).join(' ')), ARGS, shell);
});

test('an argument with a control character stays on one line and bash reads it back exactly', () => {
  const line = CONTROL_ARGS.map(shellQuote).join(' ');
  assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  assert.deepEqual(wordsOf('bash', line), CONTROL_ARGS);
});
