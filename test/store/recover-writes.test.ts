// Recovery after a daemon was killed in the middle of a write: what an agent wrote into the old file
// goes back into the log, once, and only ever into daebug.md or a log in daebug/.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { recoverInterruptedWrites } from '../../src/store/recover-writes.js';
import { contentHash } from '../../src/store/temp-file.js';
import { workFolders } from '../../src/store/work-folders.js';
import { tempRoot } from '../helpers/temp.js';
import { workFiles } from '../helpers/work-files.js';

/** The versions part of a backup name: the old file as read, and the daemon's version that replaced it. */
function versions(old: string, written: string): string {
  const [a, b] = [Buffer.from(old), Buffer.from(written)];
  return `${a.length}.${contentHash(a)}.${b.length}.${contentHash(b)}`;
}

/**
 * Simulates a daemon killed right after renaming its version over `file` (relative to the root): the
 * backup of the old file stays under `backup` (relative to the root), and so does a temp file.
 */
function killedAfterRename(old: string, written: string, file = 'daebug/tab.md', backup?: string) {
  const root = tempRoot();
  const { temps, backups } = workFolders(root);
  for (const dir of [join(root, 'daebug'), temps, backups]) mkdirSync(dir, { recursive: true });
  const log = join(root, file);
  writeFileSync(log, old);
  const backupPath = join(root, backup ?? `.daebug/backups/log.tab.md.${versions(old, written)}.daebug-prev`);
  linkSync(log, backupPath);
  writeFileSync(join(temps, '4242.1.daebug-tmp'), written);
  const fresh = join(root, '.fresh');
  writeFileSync(fresh, written);
  renameSync(fresh, log);
  return { root, log, backup: backupPath };
}

test('text an agent appended to the old file in the instant of a killed write goes back where it was written', async () => {
  const { root, log, backup } = killedAfterRename('old\n', 'old\nreply\n');
  appendFileSync(backup, 'agent line\n');
  appendFileSync(log, 'later agent line\n');
  const notes = await recoverInterruptedWrites(root);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\nagent line\nlater agent line\n');
  assert.equal(notes.length, 1);
  assert.deepEqual(workFiles(root), [], 'backup and temp file removed');
  assert.deepEqual(readdirSync(join(root, 'daebug')), ['tab.md']);
});

test('a backup of an unchanged log is just removed', async () => {
  const { root, log } = killedAfterRename('old\n', 'old\nreply\n');
  assert.deepEqual(await recoverInterruptedWrites(root), []);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\n');
  assert.deepEqual(workFiles(root), []);
});

test('a log the agent rewrote in that instant gets the agent version back', async () => {
  const { root, log, backup } = killedAfterRename('old\n', 'old\nreply\n');
  writeFileSync(backup, 'completely new text\n');
  await recoverInterruptedWrites(root);
  assert.equal(readFileSync(log, 'utf8'), 'completely new text\n');
  assert.ok(!existsSync(backup));
});

test('text the daemon already put back before it was killed is not put back twice', async () => {
  const { root, log, backup } = killedAfterRename('old\n', 'old\nreply\n');
  appendFileSync(backup, 'agent line\n');
  // The daemon's put-back write landed; the kill came before the backup was renamed to say so.
  writeFileSync(log, 'old\nreply\nagent line\nlater agent line\n');
  await recoverInterruptedWrites(root);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\nagent line\nlater agent line\n');
  assert.deepEqual(workFiles(root), []);
});

test('a backup of daebug.md goes back into daebug.md', async () => {
  const old = '# daebug\n';
  const { root, log, backup } = killedAfterRename(old, '# daebug\n\nrealms\n', 'daebug.md', `.daebug/backups/registry.${versions(old, '# daebug\n\nrealms\n')}.daebug-prev`);
  appendFileSync(backup, '%%SHUTDOWN%%\n');
  await recoverInterruptedWrites(root);
  assert.equal(readFileSync(log, 'utf8'), '# daebug\n\nrealms\n%%SHUTDOWN%%\n');
  assert.deepEqual(workFiles(root), []);
});

test('a log with any .md file name is found again from its backup name', async () => {
  const name = 'My Tab.v2 100% a\\b é.md';
  const old = 'old\n';
  const escaped = 'My Tab.v2 100%25 a%5Cb é.md';
  const { root, log, backup } = killedAfterRename(old, 'old\nreply\n', `daebug/${name}`, `.daebug/backups/log.${escaped}.${versions(old, 'old\nreply\n')}.daebug-prev`);
  appendFileSync(backup, 'agent line\n');
  await recoverInterruptedWrites(root);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\nagent line\n');
  assert.deepEqual(workFiles(root), []);
});

test('backups and temp files daebug 0.1.0 left next to daebug.md and the logs are finished and removed', async () => {
  const old = 'old\n';
  const written = 'old\nreply\n';
  const { root, log, backup } = killedAfterRename(old, written, 'daebug/tab.md', `daebug/.tab.md.${versions(old, written)}.daebug-prev`);
  appendFileSync(backup, 'agent line\n');
  const registry = join(root, 'daebug.md');
  writeFileSync(registry, '# daebug\n');
  writeFileSync(join(root, `.daebug.md.${versions('# daebug\n', '# daebug\n')}.daebug-prev`), '# daebug\n%%SHUTDOWN%%\n');
  writeFileSync(join(root, '.daebug.md.77.3.daebug-tmp'), 'half');
  writeFileSync(join(root, 'daebug', '.tab.md.77.4.daebug-tmp'), 'half');
  const notes = await recoverInterruptedWrites(root);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\nagent line\n');
  assert.equal(readFileSync(registry, 'utf8'), '# daebug\n%%SHUTDOWN%%\n');
  assert.equal(notes.length, 2, notes.join('\n'));
  assert.deepEqual(workFiles(root), []);
  assert.deepEqual(readdirSync(join(root, 'daebug')), ['tab.md']);
});

test('a temp file or backup of 0.1.0 form for a file daebug does not write stays, and is named', async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  writeFileSync(join(root, 'README.md'), 'readme\n');
  writeFileSync(join(root, 'daebug', 'notes.txt'), 'notes\n');
  const planted = [
    `.README.md.${versions('readme\n', '')}.daebug-prev`,
    '.package.json.12.1.daebug-tmp',
    `daebug/.notes.txt.${versions('notes\n', '')}.daebug-prev`,
    'daebug/.odd.daebug-prev',
  ];
  for (const name of planted) writeFileSync(join(root, name), 'readme\nnotes\nplanted\n');
  const notes = await recoverInterruptedWrites(root);
  assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), 'readme\n');
  assert.equal(readFileSync(join(root, 'daebug', 'notes.txt'), 'utf8'), 'notes\n');
  for (const name of planted) {
    assert.ok(existsSync(join(root, name)), `${name} is left where it is`);
    assert.equal(notes.filter((note) => note.includes(join(root, name))).length, 1, `${name} is named once`);
  }
});

test('a backup in .daebug/backups whose name leads out of daebug/ or to a file that is no log is refused', async () => {
  const root = tempRoot();
  const { backups } = workFolders(root);
  mkdirSync(join(root, 'daebug', 'sub'), { recursive: true });
  mkdirSync(backups, { recursive: true });
  const text = 'kept\n';
  const targets: Record<string, string> = {
    'notes.md': '%2E%2E%2Fnotes.md',
    'daebug/sub/x.md': 'sub%2Fx.md',
    'daebug/tab.txt': 'tab.txt',
    'daebug.md': '%2E%2E%2Fdaebug.md',
  };
  for (const [target, escaped] of Object.entries(targets)) {
    writeFileSync(join(root, target), text);
    writeFileSync(join(backups, `log.${escaped}.${versions(text, text)}.daebug-prev`), text + 'planted\n');
  }
  const notes = await recoverInterruptedWrites(root);
  for (const [target, escaped] of Object.entries(targets)) {
    assert.equal(readFileSync(join(root, target), 'utf8'), text, `${target} is unchanged`);
    const backup = join(backups, `log.${escaped}.${versions(text, text)}.daebug-prev`);
    assert.ok(existsSync(backup), `${backup} stays`);
    assert.ok(notes.some((note) => note.includes(backup) && note.includes('not a backup daebug made')), notes.join('\n'));
  }
});

test('a log that is a symlink is never written through, nor is a daebug/ that is one', async () => {
  const old = 'old\n';
  const { root, log, backup } = killedAfterRename(old, 'old\nreply\n');
  appendFileSync(backup, 'agent line\n');
  const outside = join(root, 'outside.md');
  renameSync(log, outside);
  symlinkSync(outside, log);
  const notes = await recoverInterruptedWrites(root);
  assert.equal(readFileSync(outside, 'utf8'), 'old\nreply\n');
  assert.ok(notes.some((note) => note.includes(`${log} is a symlink`)), notes.join('\n'));
  assert.ok(existsSync(backup), 'the backup stays');

  const elsewhere = join(root, 'elsewhere');
  renameSync(join(root, 'daebug'), elsewhere);
  renameSync(outside, join(elsewhere, 'tab.md'));
  symlinkSync(elsewhere, join(root, 'daebug'));
  const again = await recoverInterruptedWrites(root);
  assert.equal(readFileSync(join(elsewhere, 'tab.md'), 'utf8'), 'old\nreply\n');
  assert.ok(again.some((note) => note.includes(`${join(root, 'daebug')} is a symlink or not a folder`)), again.join('\n'));
});

test('a backup that is a symlink is never read', async () => {
  const old = 'old\n';
  const { root, log, backup } = killedAfterRename(old, 'old\nreply\n');
  const secret = join(root, 'secret.txt');
  writeFileSync(secret, 'old\nsecret\n');
  renameSync(backup, join(root, 'was-backup'));
  symlinkSync(secret, backup);
  const notes = await recoverInterruptedWrites(root);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\n');
  assert.ok(notes.some((note) => note.includes(`${backup} is a symlink`)), notes.join('\n'));
});

