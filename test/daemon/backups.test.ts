// Recovery after a daemon was killed in the middle of a write: what an agent wrote into the old file
// goes back into the log, once.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, linkSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { recoverInterruptedWrites } from '../../src/daemon/backups.js';
import { contentHash } from '../../src/daemon/temp-file.js';
import { tempRoot } from '../helpers/temp.js';

/** Simulates a daemon killed right after renaming its version over `log`: the backup of the old file stays. */
function killedAfterRename(dir: string, old: string, written: string): { log: string; backup: string } {
  const log = join(dir, 'tab.md');
  writeFileSync(log, old);
  const oldBytes = Buffer.from(old);
  const newBytes = Buffer.from(written);
  const backup = join(dir, `.tab.md.${oldBytes.length}.${contentHash(oldBytes)}.${newBytes.length}.${contentHash(newBytes)}.daebug-prev`);
  linkSync(log, backup);
  writeFileSync(join(dir, '.tab.md.1.2.daebug-tmp'), written);
  const fresh = join(dir, '.fresh');
  writeFileSync(fresh, written);
  renameSync(fresh, log);
  return { log, backup };
}

test('text an agent appended to the old file in the instant of a killed write goes back where it was written', async () => {
  const dir = tempRoot();
  const { log, backup } = killedAfterRename(dir, 'old\n', 'old\nreply\n');
  appendFileSync(backup, 'agent line\n');
  appendFileSync(log, 'later agent line\n');
  const notes = await recoverInterruptedWrites(dir);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\nagent line\nlater agent line\n');
  assert.equal(notes.length, 1);
  assert.deepEqual(readdirSync(dir), ['tab.md'], 'backup and temp file removed');
});

test('a backup of an unchanged log is just removed', async () => {
  const dir = tempRoot();
  const { log } = killedAfterRename(dir, 'old\n', 'old\nreply\n');
  assert.deepEqual(await recoverInterruptedWrites(dir), []);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\n');
  assert.deepEqual(readdirSync(dir), ['tab.md']);
});

test('a log the agent rewrote in that instant gets the agent version back', async () => {
  const dir = tempRoot();
  const { log, backup } = killedAfterRename(dir, 'old\n', 'old\nreply\n');
  writeFileSync(backup, 'completely new text\n');
  await recoverInterruptedWrites(dir);
  assert.equal(readFileSync(log, 'utf8'), 'completely new text\n');
  assert.ok(!existsSync(backup));
});

test('text the daemon already put back before it was killed is not put back twice', async () => {
  const dir = tempRoot();
  const { log, backup } = killedAfterRename(dir, 'old\n', 'old\nreply\n');
  appendFileSync(backup, 'agent line\n');
  // The daemon's put-back write landed; the kill came before the backup was renamed to say so.
  writeFileSync(log, 'old\nreply\nagent line\nlater agent line\n');
  await recoverInterruptedWrites(dir);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\nagent line\nlater agent line\n');
  assert.deepEqual(readdirSync(dir), ['tab.md']);
});
