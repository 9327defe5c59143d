// A backup's name can say daebug.md or any log in daebug/, and nothing else.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { backupName, daebugFileAt, daebugFilePath, parseBackupName, type BackupVersions, type DaebugFile } from '../../src/store/backup-names.js';

const VERSIONS: BackupVersions = { read: { size: 624, hash: 'ccwTTdiD6ios8djx7WvsfQtjvbw' }, written: { size: 0, hash: '-' } };
const FIELDS = '624.ccwTTdiD6ios8djx7WvsfQtjvbw.0.-.daebug-prev';

test('every file name the daemon takes for a log comes back from its backup name', () => {
  const names = ['tab.md', '12-zen-0847-36-webworker.md', 'Tab.md', 'My Tab.v2.md', '.md', '..md', '.hidden.md', 'a%2Fb.md', '100%.md', 'é 日本 🐛.md', 'line\nbreak.md', 'para\u2029graph.md', 'a.b.c.1.2.md'];
  if (process.platform !== 'win32') names.push('back\\slash.md');
  for (const name of names) {
    const file: DaebugFile = { kind: 'log', name };
    const encoded = backupName(file, VERSIONS);
    assert.ok(!encoded.includes('/'), `${JSON.stringify(encoded)} holds no slash`);
    assert.deepEqual(parseBackupName(encoded), { file, versions: VERSIONS }, name);
  }
  assert.equal(backupName({ kind: 'log', name: 'tab.md' }, VERSIONS), `log.tab.md.${FIELDS}`);
  assert.deepEqual(parseBackupName(backupName({ kind: 'registry' }, VERSIONS)), { file: { kind: 'registry' }, versions: VERSIONS });
});

test('a backup name that leads out of daebug/, to a file that is no log, or nowhere is refused', () => {
  for (const escaped of ['%2E%2E%2Fpackage.json', '%2E%2E%2Fnotes.md', '..%2F..%2Fdaebug.md', 'sub%2Fx.md', '%2Fetc%2Fx.md', 'x.md%2F', 'x.md%00', 'tab.txt', 'package.json', '%2E%2E', 'bad%ZZ.md', '%']) {
    assert.equal(parseBackupName(`log.${escaped}.${FIELDS}`), null, escaped);
  }
  for (const name of ['.package.json.624.h.0.-.daebug-prev', 'registry.x.624.h.0.-.daebug-prev', 'log.tab.md.daebug-prev', `log..${FIELDS}`, `tab.md.${FIELDS}`]) {
    assert.equal(parseBackupName(name), null, name);
  }
});

test('only daebug.md and .md files directly in daebug/ are daebug files', () => {
  const root = join('/', 'project');
  assert.deepEqual(daebugFileAt(root, join(root, 'daebug.md')), { kind: 'registry' });
  assert.deepEqual(daebugFileAt(root, join(root, 'daebug', 'My Tab.md')), { kind: 'log', name: 'My Tab.md' });
  for (const path of ['package.json', 'README.md', 'daebug/sub/x.md', 'daebug/tab.txt', 'other/daebug.md', 'daebug/daebug']) {
    assert.equal(daebugFileAt(root, join(root, path)), null, path);
  }
  assert.equal(daebugFileAt(root, `${root}/daebug/../notes.md`), null);
  assert.equal(daebugFilePath(root, { kind: 'log', name: 'tab.md' }), join(root, 'daebug', 'tab.md'));
});
