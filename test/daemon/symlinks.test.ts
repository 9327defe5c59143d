// daebug reads and writes only real files and folders inside the root: a symlinked `daebug/`, log or
// daebug.md is refused with one warning, never followed, read, run or served.
import assert from 'node:assert/strict';
import { lstatSync, readFileSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FakeRealm, json } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/serve.js';
import { quietPeriod, tempRoot } from '../helpers/temp.js';

const FENCE = '```js\nsecret()\n```\n';

const warnings = (server: TestServer, about: string) => server.entries.filter((entry) => entry.level === 'warn' && entry.message.includes(about));
const status = async (server: TestServer, path: string) => {
  const response = await fetch(server.at(path));
  return { status: response.status, text: await response.text() };
};

test('daebug -> . leaves every file of the project as it was and runs nothing in it', async () => {
  const readme = '# Shop\n\nRead me.\n\n' + FENCE;
  const notes = 'Just a note, no footer here.\n';
  const server = await startTestServer((root) => {
    writeFileSync(join(root, 'README.md'), readme);
    writeFileSync(join(root, 'notes.md'), notes);
    rmdirSync(join(root, 'daebug'));
    symlinkSync('.', join(root, 'daebug'));
  });
  const realms = [new FakeRealm(server.daemon, 'readme', (code) => json(code)), new FakeRealm(server.daemon, 'notes', (code) => json(code))];
  // Long enough for a note to move (150 ms) and a request to be accepted and run.
  await quietPeriod(600);
  assert.equal(readFileSync(join(server.root, 'README.md'), 'utf8'), readme);
  assert.equal(readFileSync(join(server.root, 'notes.md'), 'utf8'), notes);
  assert.deepEqual(realms.flatMap((realm) => realm.jobs), []);
  assert.equal(warnings(server, 'daebug is a symlink').length, 1, server.entries.map((entry) => entry.message).join('\n'));
  const log = await status(server, '/-daebug/logs/readme');
  assert.equal(log.status, 403);
  assert.doesNotMatch(log.text, /secret/);
  for (const realm of realms) await realm.stop();
});

test('a log that is a symlink to a file outside the root is not run, changed or served', async () => {
  const outside = tempRoot();
  const target = join(outside, 'target.md');
  writeFileSync(target, FENCE);
  const server = await startTestServer((root) => symlinkSync(target, join(root, 'daebug', 'evil.md')));
  const realm = new FakeRealm(server.daemon, 'evil', (code) => json(code));
  await quietPeriod(300);
  // More file events for the same link: the warning is not repeated.
  const link = join(server.root, 'daebug', 'evil.md');
  for (let round = 0; round < 3; round++) {
    unlinkSync(link);
    symlinkSync(target, link);
    await quietPeriod(100);
  }
  await quietPeriod(300);
  assert.deepEqual(realm.jobs, []);
  assert.equal(readFileSync(target, 'utf8'), FENCE);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link itself was not replaced');
  const log = await status(server, '/-daebug/logs/evil');
  assert.equal(log.status, 403);
  assert.doesNotMatch(log.text, /secret/);
  const warned = warnings(server, 'evil.md');
  assert.equal(warned.length, 1, warned.map((entry) => entry.message).join('\n'));
  assert.match(warned[0]!.message, /is a symlink; daebug reads and writes only real files/);
  await realm.stop();
});

test('daebug.md as a symlink is neither written nor read for %%SHUTDOWN%%, and not served', async () => {
  const outside = tempRoot();
  const target = join(outside, 'registry.md');
  writeFileSync(target, 'keep me\n%%SHUTDOWN%%\n');
  const server = await startTestServer((root) => symlinkSync(target, join(root, 'daebug.md')));
  const realm = new FakeRealm(server.daemon, 'tab', (code) => json(code));
  await quietPeriod(300);
  assert.equal(server.entries.some((entry) => entry.event === 'stopped'), false, 'the daemon still runs');
  assert.equal((await status(server, '/-daebug/registry')).status, 403);
  await realm.stop();
  await server.daemon.stop('test finished');
  assert.equal(readFileSync(target, 'utf8'), 'keep me\n%%SHUTDOWN%%\n');
  assert.ok(lstatSync(join(server.root, 'daebug.md')).isSymbolicLink(), 'the link itself was not replaced');
  assert.equal(warnings(server, 'daebug.md is a symlink').length, 1);
});
