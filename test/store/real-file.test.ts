// Opening daebug's files without following symlinks: a link, a folder or a FIFO named like a log is
// refused at the open, and a log read never reaches outside the root.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { folderProblem, openRealFile, readRealText } from '../../src/store/real-file.js';
import { readLog } from '../../src/store/write-atomic.js';
import { tempRoot } from '../helpers/temp.js';

const dir = tempRoot();
const outside = tempRoot();
writeFileSync(join(outside, 'secret.md'), '```js\nsecret()\n```\n');
writeFileSync(join(dir, 'real.md'), 'real\n');
symlinkSync(join(outside, 'secret.md'), join(dir, 'link.md'));
symlinkSync(join(outside, 'gone.md'), join(dir, 'dangling.md'));
symlinkSync(outside, join(dir, 'linked-folder'));
mkdirSync(join(dir, 'folder.md'));
execFileSync('mkfifo', [join(dir, 'fifo.md')]);

test('a regular file opens and reads', async () => {
  assert.deepEqual(await readRealText(join(dir, 'real.md')), { kind: 'text', text: 'real\n' });
  assert.deepEqual(await readRealText(join(dir, 'none.md')), { kind: 'missing' });
});

test('a symlink, even a dangling one, is refused at the open', async () => {
  for (const name of ['link.md', 'dangling.md']) {
    const path = join(dir, name);
    assert.deepEqual(await openRealFile(path), { kind: 'not-real', reason: `${path} is a symlink` });
  }
});

test('a folder or a FIFO named like a log is refused without blocking', async () => {
  for (const name of ['folder.md', 'fifo.md']) {
    const path = join(dir, name);
    assert.deepEqual(await openRealFile(path), { kind: 'not-real', reason: `${path} is not a regular file` });
  }
});

test('readLog refuses a log that is a symlink instead of reading its target', async () => {
  const path = join(dir, 'link.md');
  assert.deepEqual(await readLog(path), { kind: 'not-real', reason: `${path} is a symlink` });
});

test('a folder that is a symlink has a problem; a real or missing one has none', async () => {
  assert.equal(await folderProblem(join(dir, 'linked-folder')), `${join(dir, 'linked-folder')} is a symlink`);
  assert.equal(await folderProblem(join(dir, 'real.md')), `${join(dir, 'real.md')} is not a folder`);
  assert.equal(await folderProblem(dir), null);
  assert.equal(await folderProblem(join(dir, 'missing')), null);
});
