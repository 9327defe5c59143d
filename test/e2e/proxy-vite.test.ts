// End to end in headless Chromium: daebug --proxy in front of a real Vite dev server (no plugin). The
// page opened through daebug is a realm, Vite's hot updates reach it through the proxied WebSocket,
// and a job running across a hot update answers.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createServer } from 'vite';
import { serve } from '../../src/cli/serve.js';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';

const browser: Browser = await launchBrowser();
after(() => browser.close());

const MAIN = (label: string) => `document.querySelector('#label').textContent = ${JSON.stringify(label)};\nwindow.version = ${JSON.stringify(label)};\nif (import.meta.hot) import.meta.hot.accept();\n`;

test('a page of a real Vite dev server opened through daebug --proxy is a realm and gets hot updates while a job runs', async () => {
  const app = tempRoot();
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'), { recursive: true });
  writeFileSync(join(app, 'index.html'), '<!doctype html><html><head><title>vite app</title></head><body><p id="label"></p><script type="module" src="/main.js"></script></body></html>');
  writeFileSync(join(app, 'main.js'), MAIN('first'));
  const vite = await createServer({ root: app, configFile: false, logLevel: 'silent', server: { port: 0, host: '127.0.0.1' } });
  await vite.listen();
  const daebug = await serve({ root, port: 0, host: '127.0.0.1', version: 'test', onLog: () => {}, proxy: new URL(vite.resolvedUrls!.local[0]!) });
  try {
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(daebug.url);
    await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 10_000 });
    assert.equal(await page.locator('#label').textContent(), 'first', "Vite's module ran in the page served through daebug");
    const name = await page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
    const log = join(root, 'daebug', `${logFileName(name)}.md`);
    await waitFor(() => existsSync(join(root, 'daebug.md')) && readFileSync(join(root, 'daebug.md'), 'utf8').includes(`[${name}]`), `${name} in the registry`);

    appendFileSync(log, '```js\nawait new Promise((resolve) => setTimeout(resolve, 1500));\nwindow.version\n```\n');
    await waitFor(() => /executing \(\d+s\)/.test(readText(log)), 'the slow job running', 10_000);
    writeFileSync(join(app, 'main.js'), MAIN('second'));
    await waitFor(() => readText(log).includes('"second"'), 'the job answering after the hot update', 10_000);
    assert.equal(await page.locator('#label').textContent(), 'second', 'the hot update came through the proxied WebSocket');
    assert.doesNotMatch(readText(log), /reloaded while this ran/);
    assert.deepEqual(errors, []);
  } finally {
    await daebug.stop('test over');
    await vite.close();
  }
});
