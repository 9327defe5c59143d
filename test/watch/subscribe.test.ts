// The watcher against the real file system: every way a log can change produces a signal.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { nativeExchange } from '../../src/store/exchange.js';
import { subscribeToLogs, type LogWatcher } from '../../src/watch/subscribe.js';
import { quietPeriod, tempRoot, waitFor } from '../helpers/temp.js';

interface Probe {
  root: string;
  watcher: LogWatcher;
  warnings: string[];
  /** Resolves when `path` (relative to the root) is signalled after this call. */
  expect(path: string): Promise<void>;
  signalled: string[];
}

async function startProbe(mode: 'native' | 'fallback', setup?: (root: string) => void): Promise<Probe> {
  const root = tempRoot();
  setup?.(root);
  const signalled: string[] = [];
  const warnings: string[] = [];
  const watcher = await subscribeToLogs({
    root,
    onChange: (path) => signalled.push(path.slice(root.length + 1)),
    onWarning: (message) => warnings.push(message),
    ...(mode === 'fallback' ? { loadNative: () => Promise.reject(new Error('no native module here')) } : {}),
  });
  // Native subscriptions take a moment to reach the kernel.
  await quietPeriod(100);
  return {
    root,
    watcher,
    warnings,
    signalled,
    expect(path) {
      const from = signalled.length;
      return waitFor(() => signalled.slice(from).includes(path), `a signal for ${path}`);
    },
  };
}

for (const mode of ['native', 'fallback'] as const) {
  describe(`watching with ${mode === 'native' ? '@parcel/watcher and fs.watch' : 'fs.watch alone'}`, () => {
    test('the watcher reports which backbone runs', async () => {
      const probe = await startProbe(mode, (root) => mkdirSync(join(root, 'daebug')));
      try {
        assert.equal(probe.watcher.native, mode === 'native');
        if (mode === 'fallback') assert.match(probe.warnings.join('\n'), /falling back to fs\.watch/);
        else assert.deepEqual(probe.warnings, []);
      } finally {
        await probe.watcher.close();
      }
    });

    test('a log created, appended to, truncated, overwritten, deleted and recreated is signalled each time', async () => {
      const probe = await startProbe(mode, (root) => mkdirSync(join(root, 'daebug')));
      const log = join(probe.root, 'daebug', 'tab.md');
      try {
        let next = probe.expect('daebug/tab.md');
        writeFileSync(log, '# tab\n');
        await next;
        next = probe.expect('daebug/tab.md');
        appendFileSync(log, '```js\n1\n```\n');
        await next;
        next = probe.expect('daebug/tab.md');
        truncateSync(log, 0);
        await next;
        next = probe.expect('daebug/tab.md');
        writeFileSync(log, 'overwritten\n');
        await next;
        next = probe.expect('daebug/tab.md');
        unlinkSync(log);
        await next;
        next = probe.expect('daebug/tab.md');
        writeFileSync(log, 'back\n');
        await next;
      } finally {
        await probe.watcher.close();
      }
    });

    test("an editor's save through a temp file and a rename is signalled for the log", async () => {
      const probe = await startProbe(mode, (root) => {
        mkdirSync(join(root, 'daebug'));
        writeFileSync(join(root, 'daebug', 'tab.md'), 'old\n');
      });
      try {
        const next = probe.expect('daebug/tab.md');
        writeFileSync(join(probe.root, 'daebug', '.tab.md.swp'), 'new\n');
        renameSync(join(probe.root, 'daebug', '.tab.md.swp'), join(probe.root, 'daebug', 'tab.md'));
        await next;
      } finally {
        await probe.watcher.close();
      }
    });

    test('daebug/ created after the start, then removed and created again, is followed', async () => {
      const probe = await startProbe(mode);
      const dir = join(probe.root, 'daebug');
      try {
        mkdirSync(dir);
        await quietPeriod(150);
        let next = probe.expect('daebug/late.md');
        writeFileSync(join(dir, 'late.md'), 'hi\n');
        await next;
        next = probe.expect('daebug/late.md');
        rmSync(dir, { recursive: true });
        await next;
        mkdirSync(dir);
        await quietPeriod(150);
        next = probe.expect('daebug/again.md');
        writeFileSync(join(dir, 'again.md'), 'hi\n');
        await next;
        next = probe.expect('daebug/again.md');
        appendFileSync(join(dir, 'again.md'), 'more\n');
        await next;
      } finally {
        await probe.watcher.close();
      }
    });

    test('changes to daebug.md are signalled', async () => {
      const probe = await startProbe(mode);
      try {
        const next = probe.expect('daebug.md');
        writeFileSync(join(probe.root, 'daebug.md'), '%%SHUTDOWN%%\n');
        await next;
      } finally {
        await probe.watcher.close();
      }
    });

    // @parcel/watcher folds what happens to a name within its 50 ms batch: an exchange rename (the
    // daemon's write) and an agent's append right after it came out as no event at all, and a
    // %%SHUTDOWN%% appended just after a registry write went unread (e2e realm.test, 2 runs in 8).
    test("an append to daebug.md right after the daemon's exchange rename of it is signalled", async () => {
      const exchange = nativeExchange();
      assert.ok(exchange, 'the exchange rename is built');
      const probe = await startProbe(mode, (root) => writeFileSync(join(root, 'daebug.md'), 'registry\n'));
      try {
        for (let round = 0; round < 5; round++) {
          const tmp = join(probe.root, '.daebug', 'tmp');
          mkdirSync(tmp, { recursive: true });
          writeFileSync(join(tmp, 'next'), `registry ${round}\n`);
          // Both in this turn of the event loop: any signal comes after the append.
          const from = probe.signalled.length;
          assert.equal(exchange(join(tmp, 'next'), join(probe.root, 'daebug.md')), 0);
          renameSync(join(tmp, 'next'), join(tmp, `old-${round}`));
          appendFileSync(join(probe.root, 'daebug.md'), '%%SHUTDOWN%%\n');
          await waitFor(() => probe.signalled.slice(from).includes('daebug.md'), `a signal after the append of round ${round}`);
          await quietPeriod(60);
        }
      } finally {
        await probe.watcher.close();
      }
    });

    test('other files are not signalled', async () => {
      const probe = await startProbe(mode, (root) => {
        mkdirSync(join(root, 'daebug', 'nested'), { recursive: true });
        mkdirSync(join(root, 'node_modules'));
      });
      try {
        writeFileSync(join(probe.root, 'node_modules', 'x.md'), 'x');
        writeFileSync(join(probe.root, 'daebug', 'notes.txt'), 'x');
        writeFileSync(join(probe.root, 'daebug', 'nested', 'deep.md'), 'x');
        writeFileSync(join(probe.root, 'README.md'), 'x');
        const next = probe.expect('daebug/real.md');
        writeFileSync(join(probe.root, 'daebug', 'real.md'), 'x');
        await next;
        await quietPeriod(150);
        assert.deepEqual([...new Set(probe.signalled)], ['daebug/real.md']);
      } finally {
        await probe.watcher.close();
      }
    });
  });
}

test("a native watcher that fails to come off (a watch the kernel already dropped) is a warning, and close still resolves", async () => {
  const root = tempRoot();
  const warnings: string[] = [];
  const failing = { subscribe: async () => ({ unsubscribe: () => Promise.reject(new Error('Unable to remove watcher: Invalid argument')) }) };
  const watcher = await subscribeToLogs({ root, onChange: () => {}, onWarning: (message) => warnings.push(message), loadNative: async () => failing as never });
  assert.equal(watcher.native, true);
  await watcher.close();
  assert.deepEqual(warnings, ['file watcher: Unable to remove watcher: Invalid argument']);
});
