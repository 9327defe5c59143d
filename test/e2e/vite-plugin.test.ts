// End to end in headless Chromium with real Vite: a project's own dev server with daebug's plugin.
// The page (a module script, with hot updates) becomes a realm on the dev server's origin, an agent's
// request runs in it, a hot update while a job runs keeps the page and the job, and the dev server's
// stop stops the daemon the plugin started.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import daebug from '../../src/plugin/vite.js';
import { readDaemonFile } from '../../src/daemon/daemon-file.js';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';

const browser: Browser = await launchBrowser();
after(() => browser.close());

const MAIN = (label: string) => `document.querySelector('#label').textContent = ${JSON.stringify(label)};\nwindow.version = ${JSON.stringify(label)};\nif (import.meta.hot) import.meta.hot.accept();\n`;

async function startVite(root: string, host = '127.0.0.1'): Promise<ViteDevServer> {
  writeFileSync(join(root, 'index.html'), '<!doctype html><html><head><title>vite app</title></head><body><p id="label"></p><script type="module" src="/main.js"></script></body></html>');
  writeFileSync(join(root, 'main.js'), MAIN('first'));
  const server = await createServer({ root, configFile: false, logLevel: 'silent', server: { port: 0, host }, plugins: [daebug({ root, onLog: () => {} })] });
  await server.listen();
  return server;
}

test('a page of a real Vite dev server with the plugin is a realm, keeps its job through a hot update, and the daemon stops with the server', async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'), { recursive: true });
  const vite = await startVite(root);
  try {
    const address = vite.resolvedUrls!.local[0]!;
    // The plugin starts its daemon once the dev server listens.
    await waitFor(async () => (await readDaemonFile(root)) !== null, 'the plugin to start a daebug for the project root and record it in .daebug/daemon.json', 10_000);
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(address);
    await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 10_000 });
    const name = await page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { location: { origin: string } }).location.origin), new URL(address).origin, 'the page stays on the dev server origin');
    const log = join(root, 'daebug', `${logFileName(name)}.md`);
    await waitFor(() => existsSync(join(root, 'daebug.md')) && readFileSync(join(root, 'daebug.md'), 'utf8').includes(`[${name}]`), `${name} in the registry`);

    appendFileSync(log, '```js\ndocument.querySelector("#label").textContent + " " + location.port\n```\n');
    await waitFor(() => readText(log).includes(`"first ${new URL(address).port}"`), 'the answer from the Vite page', 10_000);

    // A job that runs while the module is hot-updated: the page is not reloaded, the job answers.
    appendFileSync(log, '```js\nawait new Promise((resolve) => setTimeout(resolve, 1500));\nwindow.version\n```\n');
    await waitFor(() => /executing \(\d+s\)/.test(readText(log)), 'the slow job running', 10_000);
    writeFileSync(join(root, 'main.js'), MAIN('second'));
    await waitFor(() => readText(log).includes('"second"'), 'the slow job answering after the hot update', 10_000);
    assert.equal(await page.locator('#label').textContent(), 'second', 'the hot update was applied');
    assert.doesNotMatch(readText(log), /reloaded while this ran/);
    assert.deepEqual(errors, []);
  } finally {
    await vite.close();
  }
  await waitFor(async () => (await readDaemonFile(root)) === null, 'the daemon to stop with the dev server', 10_000);
  assert.match(readFileSync(join(root, 'daebug.md'), 'utf8'), /stopped at/);
});

test('the plugin joins a daebug that already serves the project root instead of starting a second one', async () => {
  const { serve } = await import('../../src/cli/serve.js');
  const root = tempRoot();
  const running = await serve({ root, port: 0, host: '127.0.0.1', version: 'test', onLog: () => {} });
  try {
    const vite = await startVite(root);
    try {
      const info = await readDaemonFile(root);
      assert.equal(info?.port, running.server.port, 'daemon.json still names the daebug that was running');
      const page = await (await browser.newContext()).newPage();
      await page.goto(vite.resolvedUrls!.local[0]!);
      await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 10_000 });
      assert.equal(running.daemon.realms().filter((realm) => realm.kind === 'page').length, 1, 'the page connected to the running daebug');
    } finally {
      await vite.close();
    }
    assert.equal((await readDaemonFile(root))?.port, running.server.port, 'closing the dev server left the running daebug alone');
  } finally {
    await running.stop('test over');
  }
});

test("a worker the Vite app starts with new URL(..., import.meta.url) is a realm, and the app's messages are its own", async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'), { recursive: true });
  const vite = await startVite(root);
  try {
    writeFileSync(join(root, 'rates.js'), 'export const rate = 3;\n');
    writeFileSync(join(root, 'totals.js'), "import { rate } from './rates.js';\nglobalThis.sum = 0;\nself.onmessage = (event) => { sum += event.data * rate; postMessage(sum); };\n");
    writeFileSync(join(root, 'main.js'), "window.replies = [];\nconst totals = new Worker(new URL('./totals.js', import.meta.url), { type: 'module' });\ntotals.onmessage = (event) => replies.push(event.data);\ntotals.postMessage(2);\n");
    const page = await (await browser.newContext()).newPage();
    await page.goto(vite.resolvedUrls!.local[0]!);
    await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 10_000 });
    const name = await page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
    await waitFor(() => readText(join(root, 'daebug.md')).includes(`[${name}-totals]`), 'the worker in the registry', 10_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${readText(join(root, 'daebug.md'))}`);
    });
    const log = join(root, 'daebug', `${logFileName(`${name}-totals`)}.md`);
    writeFileSync(log, '```js\n[sum, typeof window, new URL(self.location.href).pathname]\n```\n');
    await waitFor(() => /```JSON\n\[\n {2}6,\n {2}"undefined",\n {2}"\/totals\.js"\n\]\n```/.test(readText(log)), 'the answer from the worker', 10_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${readText(log)}`);
    });
    assert.deepEqual(await page.evaluate(() => (globalThis as unknown as { replies: unknown[] }).replies), [6]);
  } finally {
    await vite.close();
  }
});

test('behind vite --host, a caller beyond loopback gets what an exposed daemon gives: no page token, no logs without the token (issue 23)', async () => {
  const external = Object.values(networkInterfaces()).flat().find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
  assert.ok(external, 'this test needs an address of this machine beyond loopback (a network interface that is not lo)');
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'), { recursive: true });
  const vite = await startVite(root, '0.0.0.0');
  try {
    const port = (vite.httpServer!.address() as { port: number }).port;
    await waitFor(() => existsSync(join(root, 'daebug.md')), 'the registry');
    const get = (host: string, path: string, headers: Record<string, string> = {}) => fetch(`http://${host}:${port}${path}`, { headers }).then((answer) => answer.status);
    assert.equal(await get('127.0.0.1', '/-daebug/token'), 200, 'on loopback the page token is offered');
    assert.equal(await get('127.0.0.1', '/-daebug/registry'), 200, 'on loopback the registry is read without a token');
    assert.equal(await get(external, '/-daebug/token'), 404, 'from beyond loopback the page token is not offered');
    assert.equal(await get(external, '/-daebug/registry'), 401, 'from beyond loopback reading needs the token');
    assert.equal(await get(external, '/-daebug/registry', { 'x-daebug-forwarded-for': '127.0.0.1' }), 401, 'a caller cannot say it is on loopback');
    const token = readFileSync(join(root, '.daebug', 'token'), 'utf8').trim();
    assert.equal(await get(external, '/-daebug/registry', { 'x-daebug-token': token }), 200, 'with the token it reads');
  } finally {
    await vite.close();
  }
});
