// `daebug --test` as a user runs it: real test files, a real browser, exit codes and the log.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { serve } from '../../src/cli/serve.js';
import { derivePort } from '../../src/cli/port.js';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { startDevServer } from '../helpers/dev-server.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

function project(name: string, files: Record<string, string>): string {
  const root = join(tempRoot(), name);
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>tests</title>');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Serves `root` on its own port with one page open; `use` gets the page's realm name; all closed after. */
async function withOpenPage(root: string, folder: string, use: (page: Page, realm: string, url: string) => Promise<void>): Promise<void> {
  const serving = await serve({ root, port: derivePort(folder), host: '127.0.0.1', version: '0.0.0-test', onLog: () => {} });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(serving.url);
    const realm = (await page.evaluate('window.__daebug.realm')) as string;
    const connected = async (name: string) => ((await (await fetch(new URL('/-daebug/realms', serving.url), { headers: { 'x-daebug-token': serving.toolToken } })).json()) as { name: string }[]).some((entry) => entry.name === name);
    await waitFor(async () => (await connected(realm)) && (await connected(`${realm}-webworker`)), 'the page and its worker to connect');
    await use(page, realm, serving.url);
  } finally {
    await browser.close();
    await serving.stop('test finished');
  }
}

const MIXED = `import { test, describe, it, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
let setUp = 0;
before(() => { setUp++; });
test('passes', () => assert.equal(setUp, 1));
test('fails', () => assert.deepEqual({ a: 1 }, { a: 2 }));
test.skip('skipped', () => {});
test.todo('todo');
describe('suite', () => {
  beforeEach(() => {});
  it('nested passes', async () => { await new Promise((r) => setTimeout(r, 5)); });
  describe('deeper', () => { it('deep passes', () => {}); });
});
test('times out', { timeout: 50 }, () => new Promise((r) => setTimeout(r, 500)));
test('subtests', async (t) => { await t.test('child', () => {}); });
`;

test('a suite with failures, skips, todos, nested suites, timeouts and an import error exits 1 and lands in the log', async () => {
  const root = project('mixed', { 'tests/mixed.test.js': MIXED, 'tests/broken.test.mjs': "import './missing.js';\n", 'other.txt': 'not a test' });
  const result = await runCli(['--test', '--root', root]);
  assert.equal(result.code, 1, result.out + result.err);
  assert.match(result.out, /running 2 test files in \S+/);
  assert.match(result.out, /5 passed, 3 failed, 2 skipped\n$/);
  assert.match(result.err, /✗ fails \(\d+ms\)\n {4}AssertionError \[ERR_ASSERTION\]: Expected values to be strictly deep-equal:/);
  assert.match(result.err, /✗ times out .*\n {4}Error: test timed out after 50ms/);
  assert.match(result.err, /✗ \/tests\/broken\.test\.mjs .*\n {4}cannot import \/tests\/broken\.test\.mjs:/);
  // Every realm has a log from its connect (the page's helper worker too); one holds the run.
  const logs = readdirSync(join(root, 'daebug')).filter((name) => name.endsWith('.md') && readFileSync(join(root, 'daebug', name), 'utf8').includes('## Test '));
  assert.equal(logs.length, 1);
  const log = readFileSync(join(root, 'daebug', logs[0]!), 'utf8');
  assert.match(log, /## Test Results: 5 pass, 3 fail, 2 skip \(\d+ms\)\n✗ /);
  assert.match(log, /○ skipped # SKIP\n○ todo # TODO\n/);
  assert.match(log, /✓ suite > deeper > deep passes \(\d+ms\)/);
  assert.match(log, /✓ subtests > child/);
});

test('an all-passing suite exits 0', async () => {
  const root = project('green', { 'test-green.mjs': "import { test } from 'node:test';\nimport assert from 'node:assert';\ntest('runs in a frame of the page', () => assert.ok(document.createElement('div') && parent.document.title === 'tests'));\n" });
  const result = await runCli(['--test', '--root', root]);
  assert.equal(result.code, 0, result.out + result.err);
  assert.match(result.out, /1 passed, 0 failed\n$/);
});

test('no test files is a failure that says where it looked', async () => {
  const root = project('empty', {});
  const result = await runCli(['--test', '--root', root, 'spec/**/*.js']);
  assert.equal(result.code, 1);
  assert.equal(result.err, `daebug: no test files match spec/**/*.js under ${root}\n`);
});

test('a pattern that reaches out of the root is a usage error: exit 2 with the reason', async () => {
  const root = project('escape', { 'a.test.js': "import { test } from 'node:test';\ntest('x', () => {});\n" });
  for (const [pattern, reason] of [['../*.test.js', '"../*.test.js" goes up with ..; patterns stay under the root'], ['{/etc/*,x}', '"/etc/*" is absolute; patterns are relative to the root']]) {
    const result = await runCli(['--test', '--root', root, pattern!]);
    assert.equal(result.code, 2, result.out + result.err);
    assert.equal(result.err, `daebug: test pattern ${JSON.stringify(pattern)} is refused: ${reason}\n`);
  }
});

test('--test uses a daebug already serving the root and the page picked with --page', async () => {
  const root = project('running', { 'a.test.js': "import { test } from 'node:test';\ntest('in a frame of the open page', () => { if (!parent.markedByTest || window.markedByTest) throw new Error('not a frame of the open page'); });\n" });
  await withOpenPage(root, 'running', async (page, name) => {
    await page.evaluate('window.markedByTest = true');
    const result = await runCli(['--test', '--root', root, '--page', name.slice(3)]);
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, new RegExp(`running 1 test file in ${name}\\n`));
    const missing = await runCli(['--test', '--root', root, '--page', 'no-such-page']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, new RegExp(`daebug: no realm matches --page "no-such-page"; connected: .*${name}`));
  });
});

test('without --page a run takes a page daebug serves, not a newer page of another server with the script tag', async () => {
  const root = project('script-tag-run', { 'a.test.js': "import { test } from 'node:test';\ntest('x', () => {});\n" });
  await withOpenPage(root, 'script-tag-run', async (page, name, url) => {
    const dev = await startDevServer(() => `<!doctype html><title>dev</title><script src="${new URL('/-daebug/client.js', url).href}"></script>`);
    const devPage = await (await page.context().browser()!.newContext()).newPage();
    await devPage.goto(`http://127.0.0.1:${dev.port}/`);
    const devRealm = String(await (await devPage.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm)).jsonValue());
    await waitFor(() => readFileSync(join(root, 'daebug.md'), 'utf8').includes(`[${devRealm}]`), 'the dev page in the registry');
    const result = await runCli(['--test', '--root', root]);
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, new RegExp(`running 1 test file in ${name}\\n`));
  });
});

test('--page picks the worker realm, and the tests run inside the worker', async () => {
  const root = project('worker-run', { 'w.test.mjs': "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\ntest('in the worker', () => assert.equal(self.constructor.name, 'DedicatedWorkerGlobalScope'));\n" });
  await withOpenPage(root, 'worker-run', async (_page, page) => {
    const name = `${page}-webworker`;
    const result = await runCli(['--test', '--root', root, '--page', 'webworker']);
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, new RegExp(`running 1 test file in ${name}\\n`));
    assert.match(readFileSync(join(root, 'daebug', `${name}.md`), 'utf8'), /✓ in the worker/, 'the results are in the worker log when the CLI exits');
  });
});

test('a --browser that does not exist is a clear error when no page is connected', async () => {
  const root = project('no-browser', { 'a.test.js': "import { test } from 'node:test';\ntest('x', () => {});\n" });
  const result = await runCli(['--test', '--root', root, '--browser', '/no/such/chrome']);
  assert.equal(result.code, 1);
  assert.equal(result.err, 'daebug: --browser /no/such/chrome does not exist\n');
});

test('a page that goes away in the middle of a run ends it as a failure, within seconds', { timeout: 30_000 }, async () => {
  const root = project('vanishing', { 'slow.test.js': "import { test } from 'node:test';\ntest('slow', () => new Promise((resolve) => setTimeout(resolve, 20000)));\n" });
  await withOpenPage(root, 'vanishing', async (page, name) => {
    const run = runCli(['--test', '--root', root, '--page', name, '--timeout', '2000']);
    // In the middle of the run: once the page has begun it (its progress is in the log), however slow the machine.
    const log = join(root, 'daebug', `${logFileName(name)}.md`);
    await waitFor(() => { try { return readFileSync(log, 'utf8').includes('## Test Progress'); } catch { return false; } }, 'the run under way', 15_000);
    await page.close();
    const result = await run;
    assert.equal(result.code, 1, result.out + result.err);
    assert.match(result.err, new RegExp(`✗ \\(test run\\) .*\\n {4}Error: ${name} was closed during the run`));
  });
});

test('--page without --test, and --browser without --test or --open, are usage errors', async () => {
  const page = await runCli(['--page', 'x']);
  assert.equal(page.code, 2);
  assert.equal(page.err, 'daebug: --page goes with --test\nRun daebug --help for usage.\n');
  const browser = await runCli(['--browser', 'x']);
  assert.equal(browser.code, 2);
  assert.equal(browser.err, 'daebug: --browser goes with --test or --open\nRun daebug --help for usage.\n');
});
