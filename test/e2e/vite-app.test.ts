// End to end with real Vite 8 in Chromium: a React + TypeScript app (test/helpers/vite-app.ts) with the
// plugin, as a project's daily loop runs it. daebug's own files never reach Vite (no reload, no hot
// update), Vite's output holds nothing of daebug's through a reload and a closed tab, the registry
// names the dev server's URL, and a Ctrl-C on the dev server leaves a stopped registry.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createLogger, createServer, type Plugin } from 'vite';
import { serve } from '../../src/cli/serve.js';
import daebug from '../../src/plugin/vite.js';
import { readDaemonFile } from '../../src/daemon/daemon-file.js';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { freePort, runCli } from '../helpers/cli.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';
import { BROKEN_TEST, CART_TEST, REPO, writeViteApp } from '../helpers/vite-app.js';

const browser: Browser = await launchBrowser();
after(() => browser.close());

/** Vite's output, as its logger got it, one entry a line it printed. */
function capturedLogger(lines: string[]) {
  const logger = createLogger('info');
  for (const level of ['info', 'warn', 'warnOnce', 'error'] as const) logger[level] = (message: string) => void lines.push(`${level}: ${message}`);
  return logger;
}

/** A plugin that records every file Vite's watcher passed to its hot update handling. */
function hotUpdates(files: string[]): Plugin {
  return { name: 'count-hot-updates', hotUpdate: ({ file }) => void files.push(file) };
}

test('daebug files reach no part of Vite, its output stays the app own through a reload and a closed tab, and the registry names the dev server', async () => {
  const root = tempRoot();
  writeViteApp(root);
  const output: string[] = [];
  const updated: string[] = [];
  const vite = await createServer({
    root,
    configFile: false,
    cacheDir: join(root, '.vite'),
    customLogger: capturedLogger(output),
    server: { port: 0, host: '127.0.0.1' },
    plugins: [daebug({ root, onLog: (entry) => entry.level === 'warn' && output.push(`daebug: ${entry.message}`) }), hotUpdates(updated)],
  });
  await vite.listen();
  try {
    const address = vite.resolvedUrls!.local[0]!;
    const context = await browser.newContext();
    const page = await context.newPage();
    let loads = 0;
    page.on('load', () => loads++);
    await page.goto(address);
    await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 15_000 });
    const name = await page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
    const log = join(root, 'daebug', `${logFileName(name)}.md`);
    await waitFor(() => readText(join(root, 'daebug.md')).includes(`[${name}-worker]`), 'the app worker in the registry', 15_000);
    assert.match(readText(join(root, 'daebug.md')), new RegExp(`open its pages at ${address.replace(/[.]/g, '\\.')} `), 'the registry sends pages to the dev server');

    // Each answer is a daemon write: a temp file in .daebug/tmp, an exchange, a backup in .daebug/backups.
    for (const [code, value] of [['document.querySelector("#total").textContent', '"total 6"'], ['window.doubled', '12'], ['(await import("/src/cart.ts")).total([{ name: "x", price: 2, quantity: 5 }])', '10']] as const) {
      appendFileSync(log, `\`\`\`js\n${code}\n\`\`\`\n`);
      await waitFor(() => readText(log).includes(value), `${code} answered`, 10_000);
    }
    assert.ok(existsSync(join(root, '.daebug', 'backups')) && existsSync(join(root, '.daebug', 'tmp')), 'the writes went through the temp and backup folders');
    // An agent's edit and a file of daebug's own in every one of its places, Vite's watcher running.
    writeFileSync(join(root, '.daebug', 'tmp', 'stray.daebug-tmp'), 'x');
    writeFileSync(join(root, 'daebug', 'notes.md'), 'an agent note\n');
    appendFileSync(join(root, 'daebug.md'), '\n');
    // A change of the app itself is seen: Vite's watcher is running and the counter counts.
    writeFileSync(join(root, 'src/cart.ts'), `${readFileSync(join(root, 'src/cart.ts'), 'utf8')}// touched\n`);
    await waitFor(() => updated.some((file) => file.endsWith('cart.ts')), "Vite's hot update of the app's own module", 10_000);
    assert.deepEqual(
      updated.filter((file) => /[\\/](daebug\.md|daebug|\.daebug)([\\/]|$)/.test(file)),
      [],
      "no file of daebug's reached Vite's hot updates",
    );

    await page.reload();
    await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 15_000 });
    // A tab closed while its socket and polls are open.
    const second = await context.newPage();
    await second.goto(address);
    await second.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 15_000 });
    await second.close();
    await page.reload();
    await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(loads, 3, 'the page loaded once and for each of its two reloads, never for a file of daebug');
    // The app is sound: anything Vite warns of or prints as an error here came from daebug.
    assert.deepEqual(output.filter((line) => /^(warn|warnOnce|error):|daebug/i.test(line)), [], "Vite's output holds nothing of daebug's");
  } finally {
    await vite.close();
  }
  assert.match(readText(join(root, 'daebug.md')), /stopped at/);
});

test('Ctrl-C on a Vite dev server leaves a stopped registry that names the command to start it again', async (t) => {
  const root = tempRoot();
  writeViteApp(root);
  const port = await freePort();
  writeFileSync(
    join(root, 'vite.config.mjs'),
    `import daebug from ${JSON.stringify(join(REPO, 'dist/plugin/vite.js'))};\nexport default { cacheDir: '.vite', logLevel: 'silent', server: { host: '127.0.0.1', port: ${port}, strictPort: true }, plugins: [daebug()] };\n`,
  );
  const vite = spawn(process.execPath, [join(REPO, 'node_modules/vite/bin/vite.js')], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, npm_lifecycle_event: 'dev', CI: 'true' } });
  let output = '';
  vite.stdout.on('data', (chunk) => (output += chunk));
  vite.stderr.on('data', (chunk) => (output += chunk));
  const exit = new Promise<NodeJS.Signals | number | null>((resolve) => vite.once('exit', (code, signal) => resolve(signal ?? code)));
  t.after(() => void (vite.exitCode === null && vite.signalCode === null && vite.kill('SIGKILL')));
  await waitFor(async () => (await readDaemonFile(root)) !== null && readText(join(root, 'daebug.md')).includes(`open ${`http://127.0.0.1:${port}/`}`), "the plugin's daemon running", 20_000);
  vite.kill('SIGINT');
  assert.equal(await exit, 'SIGINT', `the dev server ended by its Ctrl-C (output: ${output})`);
  assert.equal(await readDaemonFile(root), null, '.daebug/daemon.json is gone');
  const registry = readFileSync(join(root, 'daebug.md'), 'utf8');
  assert.match(registry, /stopped at \d\d:\d\d:\d\d \(SIGINT\)/);
  assert.match(registry, /```sh\nnpm run dev\n```/);
  assert.deepEqual(readdirSync(join(root, '.daebug')).filter((entry) => entry === 'daemon.json'), []);
});

test("--open joins the plugin's daebug: its browser opens the dev server's page, takes screenshots, and the daemon keeps running", async (t) => {
  const root = tempRoot();
  writeViteApp(root);
  // The plugin's own `open` first: a page of the dev server in the daemon's browser, without a window.
  const vite = await createServer({ root, configFile: false, cacheDir: join(root, '.vite'), logLevel: 'silent', server: { port: 0, host: '127.0.0.1' }, plugins: [daebug({ root, onLog: () => {}, open: { target: '/', headless: true } })] });
  await vite.listen();
  try {
    const address = vite.resolvedUrls!.local[0]!;
    const registry = join(root, 'daebug.md');
    const realmAt = (path: string) => new RegExp(`\\* \\[([^\\]]+)\\]\\(daebug/[^)]+\\) ${address.replace(/[.]/g, '\\.')}${path.slice(1)} `).exec(readText(registry))?.[1];
    await waitFor(() => realmAt('/') !== undefined, "the plugin's open page in the registry", 20_000);
    const before = await readDaemonFile(root);

    const joined = await runCli(t, ['--open', '/cart', '--headless'], { cwd: root });
    assert.equal(joined.code, 0, joined.err);
    assert.match(joined.out, new RegExp(`opened ${address}cart in the Chromium of the daebug at ${before!.url} \\(headless\\)`));
    await waitFor(() => realmAt('/cart') !== undefined, 'the page --open opened in the registry', 20_000);
    const log = join(root, 'daebug', `${logFileName(realmAt('/cart')!)}.md`);
    appendFileSync(log, '```js\nawait daebug.screenshot()\n```\n');
    await waitFor(() => /!\[screenshot\]\([^)]+\.png\)/.test(readText(log)), 'the screenshot', 20_000);
    assert.deepEqual(await readDaemonFile(root), before, "the plugin's daemon still runs, as it did");

    const foreign = await runCli(t, ['--open', 'https://example.com/', '--headless'], { cwd: root });
    assert.equal(foreign.code, 2);
    assert.match(foreign.err, /daebug opens no page of another origin/);
    const reshaped = await runCli(t, ['--open', '/', '--headless', '--max-output', '8k'], { cwd: root });
    assert.equal(reshaped.code, 2);
    assert.match(reshaped.err, /--open joins it as it serves: --max-output cannot apply/);
    assert.deepEqual(await readDaemonFile(root), before);
  } finally {
    await vite.close();
  }
});

test('--test runs TypeScript test files through the plugin: the app modules, an npm package, node:test and node:assert; a failure at its TypeScript line', async (t) => {
  const root = tempRoot();
  writeViteApp(root);
  writeFileSync(join(root, 'src/cart.test.ts'), CART_TEST);
  const vite = await createServer({ root, configFile: false, cacheDir: join(root, '.vite'), logLevel: 'silent', server: { port: 0, host: '127.0.0.1' }, plugins: [daebug({ root, onLog: () => {} })] });
  await vite.listen();
  try {
    await waitFor(async () => (await readDaemonFile(root)) !== null, "the plugin's daemon", 10_000);
    // No page is open: --test launches one on the dev server, and finds src/cart.test.ts by the default patterns.
    const passing = await runCli(t, ['--test'], { cwd: root });
    assert.equal(passing.code, 0, `${passing.out}\n${passing.err}`);
    assert.match(passing.out, /running 1 test file in /);
    assert.match(passing.out, /^2 passed, 0 failed$/m);

    writeFileSync(join(root, 'src/broken.test.ts'), BROKEN_TEST);
    const failing = await runCli(t, ['--test', 'src/broken.test.ts'], { cwd: root });
    assert.equal(failing.code, 1, `${failing.out}\n${failing.err}`);
    assert.match(failing.err, /✗ a wrong total fails at its TypeScript line/);
    assert.match(failing.err, /src\/broken\.test\.ts:7:\d+/, 'the failure points at the TypeScript line');
  } finally {
    await vite.close();
  }
});

test('--test runs TypeScript test files through a Vite dev server behind --proxy: its node:test stub is daebug runner', async (t) => {
  const app = tempRoot();
  writeViteApp(app);
  writeFileSync(join(app, 'src/cart.test.ts'), CART_TEST);
  writeFileSync(join(app, 'src/broken.test.ts'), BROKEN_TEST);
  const vite = await createServer({ root: app, configFile: false, cacheDir: join(app, '.vite'), logLevel: 'silent', server: { port: 0, host: '127.0.0.1' } });
  await vite.listen();
  // daebug runs in the app's folder, in front of its dev server (no plugin).
  const daebugRun = await serve({ root: app, port: 0, host: '127.0.0.1', version: 'test', onLog: () => {}, proxy: new URL(vite.resolvedUrls!.local[0]!) });
  try {
    const passing = await runCli(t, ['--test', 'src/cart.test.ts'], { cwd: app });
    assert.equal(passing.code, 0, `${passing.out}\n${passing.err}`);
    assert.match(passing.out, /^2 passed, 0 failed$/m);
    const all = await runCli(t, ['--test'], { cwd: app });
    assert.equal(all.code, 1, 'the default patterns find both TypeScript files behind --proxy');
    assert.match(all.out, /running 2 test files in /);
    assert.match(all.err, /src\/broken\.test\.ts:7:\d+/, 'the failure points at the TypeScript line');
  } finally {
    await daebugRun.stop('test over');
    await vite.close();
  }
});
