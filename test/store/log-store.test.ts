// The log store puts back what an agent wrote into the old file of a replacement, at any moment of the
// backup's grace period, and never loses it to a later write of the daemon.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FOOTER } from '../../src/protocol/index.js';
import { createLogStore, type LogContent } from '../../src/store/log-store.js';
import { DEFAULT_STORE_TIMING, type StoreTiming } from '../../src/store/settle.js';
import { workFolders } from '../../src/store/work-folders.js';
import { tempRoot, waitFor } from '../helpers/temp.js';
import { backupNames, workFiles } from '../helpers/work-files.js';

function setup(graceMs = 100) {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  const log = join(root, 'daebug', 'tab.md');
  writeFileSync(log, 'old\n');
  const warnings: string[] = [];
  const recovered: string[] = [];
  const store = createLogStore({ root, warn: (message) => warnings.push(message), onRecovered: (path) => recovered.push(path), timing: { ...DEFAULT_STORE_TIMING, backupGraceMs: graceMs } });
  // Backups are read and written by the name the test got from this folder.
  const dir = workFolders(root).backups;
  return { root, dir, log, store, warnings, recovered, backups: () => backupNames(root) };
}

const append = (line: string) => (content: LogContent) => ({ text: content.kind === 'text' ? content.text + line : null, result: content });

test('a line written into the old file after the rename goes back right after the daemon version', async () => {
  const { root, dir, log, store, recovered, backups } = setup();
  await store.update(log, append('reply\n'));
  assert.equal(backups().length, 1, 'the old file is kept');
  appendFileSync(join(dir, backups()[0]!), 'late agent line\n');
  appendFileSync(log, 'next agent line\n');
  await waitFor(() => recovered.length === 1, 'the late line to be put back');
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\nlate agent line\nnext agent line\n');
  await store.idle();
  assert.deepEqual(backups(), [], 'every backup is removed once its grace is over');
  assert.deepEqual(workFiles(root), [], 'and no temp file is left, in .daebug/ or next to the log');
  assert.deepEqual(readdirSync(join(root, 'daebug')), ['tab.md']);
});

test('the store makes its working folders again when .daebug/ is removed under it', async () => {
  const { root, log, store, backups } = setup(60_000);
  await store.update(log, append('reply\n'));
  rmSync(join(root, '.daebug'), { recursive: true });
  const { written } = await store.update(log, append('after git clean -x\n'));
  assert.equal(written, true);
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\nafter git clean -x\n');
  assert.equal(backups().length, 1, 'the new old file is kept in the new folder');
  assert.equal(readFileSync(join(root, '.daebug', '.gitignore'), 'utf8'), '*\n');
  await store.idle();
});

test('the store refuses to write anything but daebug.md and logs in daebug/', async () => {
  const { root, store } = setup();
  writeFileSync(join(root, 'package.json'), '{}\n');
  await assert.rejects(store.update(join(root, 'package.json'), append('"postinstall"\n')), /daebug does not write/);
  assert.equal(readFileSync(join(root, 'package.json'), 'utf8'), '{}\n');
  await store.update(join(root, 'daebug.md'), () => ({ text: '# registry\n', result: null }));
  assert.equal(readFileSync(join(root, 'daebug.md'), 'utf8'), '# registry\n');
  await store.idle();
});

test('a late line is kept while the log keeps changing under the daemon, and goes back once', async () => {
  const { dir, log, store, backups } = setup(60_000);
  await store.update(log, append('reply\n'));
  const [first] = backups();
  let calls = 0;
  const seen: boolean[] = [];
  await store.update(log, (content) => {
    calls += 1;
    if (calls === 1) {
      // An agent writes into the old file and appends to the log while the daemon computes.
      appendFileSync(join(dir, first!), 'late agent line\n');
      appendFileSync(log, 'agent line\n');
    }
    seen.push(content.kind === 'text' && content.text.includes('late agent line'));
    return append('tick\n')(content);
  });
  assert.ok(calls >= 2, 'the write was computed again after the log changed');
  await store.idle();
  const text = readFileSync(log, 'utf8');
  assert.equal(text.split('late agent line').length, 2, `the late line is in the log once:\n${text}`);
  assert.match(text, /^old\nreply\n/);
  assert.ok(text.includes('agent line\n') && text.includes('tick\n'));
  assert.deepEqual(backups(), []);
});

test('a late write that is not UTF-8 stays in its backup with a warning', async () => {
  const { dir, log, store, warnings, backups } = setup();
  await store.update(log, append('reply\n'));
  const [backup] = backups();
  appendFileSync(join(dir, backup!), Buffer.from([0xff, 0xfe, 0x0a]));
  await store.update(log, append('tick\n'));
  await waitFor(() => warnings.some((warning) => warning.includes('not UTF-8')), 'the warning');
  await store.idle();
  assert.equal(readFileSync(log, 'utf8'), 'old\nreply\ntick\n');
  assert.ok(backups().includes(backup!), 'the agent bytes are kept on disk');
});

test('a write that only changes the text the daemon wrote last is its own; one after an agent edit is not', async () => {
  const { log, store } = setup(60_000);
  await store.update(log, append('reply\n'), { sync: true });
  assert.equal(await store.isOwnWrite(log), true);
  appendFileSync(log, 'agent request\n');
  // A reply written on top of an agent's edit carries text the daemon has not read as a request yet.
  await store.update(log, append('tick\n'));
  assert.equal(await store.isOwnWrite(log), false);
  let ownWrite: boolean | undefined;
  await store.update(log, (content) => {
    ownWrite = content.kind === 'text' && content.ownWrite;
    return { text: null, result: null };
  });
  assert.equal(ownWrite, false, 'the next change still sees the agent edit as unread');
  await store.idle();
});

test('a long log changed again and again through its window, with appends in between, keeps every byte', async () => {
  const { log, store } = setup(60_000);
  const earlier = (n: number) => `### 🗣️agent to tab at 08:00:00\n\`\`\`js\nearlier(${n})\n\`\`\`\n#### 👍tab to agent at 08:00:00 (1ms)\n\`\`\`JSON\n"é ${n}"\n\`\`\`\n\n`;
  let expected = '# tab\n\n' + Array.from({ length: 12_000 }, (_, n) => earlier(n)).join('');
  writeFileSync(log, expected);
  const seen: number[] = [];
  for (let round = 0; round < 40; round++) {
    const agent = `agent ${round} ✓\n`.repeat(round % 7 === 0 ? 50_000 : 1);
    appendFileSync(log, agent);
    expected += agent;
    await store.update(log, (content) => {
      if (content.kind !== 'text') return { text: null, result: null };
      seen.push(content.text.length);
      return { text: content.text + `reply ${round} 👍\n\n${earlier(round)}`, result: null };
    });
    expected += `reply ${round} 👍\n\n${earlier(round)}`;
    assert.equal(readFileSync(log, 'utf8'), expected, `round ${round}`);
  }
  assert.ok(seen.some((length) => length < expected.length / 4), 'the changes saw a window, not the whole log');
  await store.idle();
});

test('a rewrite of an old file whose version is no longer the start of the log is merged with the log: both keep their text', async () => {
  const { dir, log, store, warnings, backups } = setup();
  await store.update(log, append('reply\n'));
  const [first] = backups();
  // The daemon's next version no longer starts with the one that replaced the old file.
  await store.update(log, (content) => ({ text: content.kind === 'text' ? content.text.replace('old', 'OLD') : null, result: null }));
  writeFileSync(join(dir, first!), 'old\nthe agent added this\n');
  await store.idle();
  assert.equal(readFileSync(log, 'utf8'), 'OLD\nreply\nthe agent added this\n');
  assert.deepEqual(warnings, []);
  assert.deepEqual(backups(), [], 'nothing is left in a backup');
});

/**
 * A log of 2,000 history lines and a store on it, where an edit tool's rewrite is caught half written:
 * `halfWrite(full)` writes 70% of `full` (more than half: no log cleared on purpose), and the rest
 * lands `stallMs` after the daemon starts reading it. Resolves with the texts a change saw.
 */
function halfWrittenEdit(timing: Partial<StoreTiming>, stallMs: number) {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  const log = join(root, 'daebug', 'tab.md');
  writeFileSync(log, Array.from({ length: 2_000 }, (_, n) => `history line ${n}\n`).join(''));
  let rest: string | null = null;
  const store = createLogStore({
    root,
    warn: () => {},
    onRecovered: () => {},
    timing: { ...DEFAULT_STORE_TIMING, backupGraceMs: 60_000, ...timing },
    refusal: async () => {
      const finish = rest;
      rest = null;
      if (finish !== null) setTimeout(() => appendFileSync(log, finish), stallMs);
      return null;
    },
  });
  const halfWrite = async (full: string): Promise<string[]> => {
    const half = full.slice(0, Math.floor(full.length * 0.7));
    writeFileSync(log, half);
    rest = full.slice(half.length);
    const seen: string[] = [];
    await store.update(log, (content) => {
      if (content.kind === 'text') seen.push(content.text);
      return { text: null, result: null };
    });
    await store.idle();
    return seen;
  };
  return { log, store, halfWrite };
}

const EDIT = (text: string) => text.replace('history line 10\n', 'history line 10\nan edit in place\n');

test('a rewrite caught half-written (truncated, written in part) is acted on only once it holds still', async () => {
  // The Edit tool finishes its write 3 ms after the daemon starts reading: within the daemon's wait.
  const { log, store, halfWrite } = halfWrittenEdit({}, 3);
  await store.update(log, append('reply\n'));
  const full = EDIT(readFileSync(log, 'utf8'));
  const seen = await halfWrite(full);
  assert.equal(seen.length, 1, 'the change ran once');
  assert.ok(seen[0] === full, `the change saw the whole edit, not ${seen[0]!.length} of its ${full.length} characters`);
});

test('a rewrite caught half-written without its footer, the edit tool stalled past settleMs, is acted on only once it held still for waryMs', async () => {
  // The edit tool stalls 100 ms (twenty times settleMs) before it writes the rest, footer included.
  const { log, store, halfWrite } = halfWrittenEdit({ settleMs: 5, waryMs: 1_000, waryStepMs: 25 }, 100);
  await store.update(log, (content) => ({ text: content.kind === 'text' ? content.text + FOOTER : null, result: null }));
  const full = EDIT(readFileSync(log, 'utf8'));
  assert.deepEqual((await halfWrite(full)).map((text) => text.length), [full.length], 'the change ran once, on the whole edit');
});

test('an agent that rewrites a file the daemon replaced twice in a row, from the version before, keeps both writes of the daemon', async () => {
  const { dir, log, store, warnings } = setup(60_000);
  writeFileSync(log, 'old\n');
  await store.update(log, (content) => ({ text: content.kind === 'text' ? content.text + FOOTER : null, result: null }));
  // The agent appends a request below the footer (the daemon's version, with its tag).
  appendFileSync(log, 'request\n');
  const read = readFileSync(log, 'utf8');
  // The daemon accepts the request (first write), then replies (second): the agent read the log before both.
  await store.update(log, (content) => ({ text: content.kind === 'text' ? content.text.replace(/-{70}[^]*$/, '### accepted\nrequest\n' + FOOTER) : null, result: null }));
  await store.update(log, (content) => ({ text: content.kind === 'text' ? content.text.replace('request\n', 'request\nreply\n') : null, result: null }));
  // The agent opened the log between the two writes: it writes into the file the second one replaced.
  const second = readdirSync(dir).find((name) => readFileSync(join(dir, name), 'utf8').includes('### accepted\nrequest\n-'));
  assert.ok(second, 'the first write of the daemon is kept as the old file of the second');
  writeFileSync(join(dir, second), `${read}agent edit\n`);
  await store.idle();
  assert.match(readFileSync(log, 'utf8'), /^old\n### accepted\nrequest\nreply\n-{70}\n> Append[^\n]* <!-- v\w+ -->\n\n\nagent edit\n$/);
  assert.deepEqual(warnings, []);
});

test('a late append found by the next write goes right after the daemon version, however soon after it was written', async () => {
  const { dir, log, store, backups } = setup(60_000);
  await store.update(log, append('reply\n'));
  appendFileSync(join(dir, backups()[0]!), 'late agent line\n');
  // At once: the append is a few milliseconds old, and this write changes the start of the log.
  await store.update(log, (content) => ({ text: content.kind === 'text' ? `${content.text.replace('old', 'OLD')}tick\n` : null, result: null }));
  await store.idle();
  assert.equal(readFileSync(log, 'utf8'), 'OLD\nreply\nlate agent line\ntick\n');
});
