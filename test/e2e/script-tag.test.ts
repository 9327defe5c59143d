// End to end in headless Chromium: pages served by another server (a dev server on another loopback
// port) that load daebug's client with a plain script tag, and pages on an origin daebug refuses.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { FAST } from '../helpers/daemon.js';
import { startDevServer } from '../helpers/dev-server.js';
import { startTestServer, type TestServer } from '../helpers/serve.js';
import { quietPeriod, readText, waitFor } from '../helpers/temp.js';

const TIMING = { ...FAST, timeoutMs: 4000 };
// example.test is a name only this browser resolves (to this machine): a page on an origin that is not loopback.
const browser: Browser = await launchBrowser(['--host-resolver-rules=MAP example.test 127.0.0.1']);
after(() => browser.close());
const daebug: TestServer = await startTestServer((root) => writeFileSync(join(root, 'twice.html'), `<!doctype html><html><head><title>twice</title><script src="/-daebug/client.js"></script></head><body></body></html>`), TIMING);

/** A dev server's page with daebug's script tag, for the daebug on port `?daebug=<port>` (default: `daebug`'s). */
const devPage = (path: string, req: IncomingMessage) => {
  if (path === '/favicon.ico') return null;
  const port = new URL(req.url ?? '/', 'http://dev').searchParams.get('daebug') ?? String(daebug.server.port);
  // As the bundler plugins do it: a script of the page adds the tag, with the page token.
  const inserted = `<script>const tag = document.createElement('script'); tag.src = 'http://localhost:${port}/-daebug/client.js?t=${daebug.pageToken}'; document.head.appendChild(tag);</script>`;
  const tag = path === '/inserted.html' ? inserted : `<script src="http://localhost:${port}/-daebug/client.js"></script>`;
  return `<!doctype html><html><head><title>dev ${path}</title>${tag}</head><body><h1>${path}</h1></body></html>`;
};
const dev = await startDevServer(devPage);

interface Tab {
  page: Page;
  console: ConsoleMessage[];
  errors: Error[];
}

async function open(url: string): Promise<Tab> {
  const page = await (await browser.newContext()).newPage();
  const tab: Tab = { page, console: [], errors: [] };
  page.on('console', (message) => tab.console.push(message));
  page.on('pageerror', (error) => tab.errors.push(error));
  await page.goto(url);
  return tab;
}

/** The realm name of a tab once its client has connected, and its log. */
async function realmOf(tab: Tab, on: TestServer = daebug) {
  await tab.page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm);
  const name = await tab.page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
  await waitFor(() => registry(on).includes(`[${name}]`), `${name} in the registry`);
  const path = join(on.root, 'daebug', `${logFileName(name)}.md`);
  return {
    name,
    path,
    write: (text: string) => writeFileSync(path, text),
    append: (text: string) => appendFileSync(path, text),
    waitForLog: async (check: (text: string) => boolean, what: string, timeoutMs = 10_000) => {
      await waitFor(() => check(readText(path)), what, timeoutMs).catch((error: Error) => {
        throw new Error(`${error.message}\n--- ${name}.md ---\n${readText(path)}`);
      });
      return readText(path);
    },
  };
}

const registry = (on: TestServer) => (existsSync(join(on.root, 'daebug.md')) ? readFileSync(join(on.root, 'daebug.md'), 'utf8') : '');
const reply = (value: string) => new RegExp(`#### 👍\\S+ at \\d\\d:\\d\\d:\\d\\d \\(\\d+ms\\)\\n\`\`\`(JSON|Text)\\n${value}\\n\`\`\``);

test('a page on another loopback port with the script tag becomes a realm; the registry shows its real URL', async () => {
  const tab = await open(`http://127.0.0.1:${dev.port}/shop/cart.html?session=1`);
  const realm = await realmOf(tab);
  assert.match(registry(daebug), new RegExp(`\\[${realm.name}\\]\\(\\S+\\) http://127\\.0\\.0\\.1:${dev.port}/shop/cart\\.html · `));
  realm.write('```js\n[location.origin, document.title]\n```\n');
  const text = await realm.waitForLog((s) => s.includes('"dev /shop/cart.html"'), 'the reply');
  assert.ok(text.includes(`"http://127.0.0.1:${dev.port}"`) && text.includes('"dev /shop/cart.html"'), text);
  assert.deepEqual(tab.errors, []);
});

test("the agent's errors keep their message and stack on a page of another origin, and unhandled rejections are captured", async () => {
  const tab = await open(`http://127.0.0.1:${dev.port}/errors.html`);
  const realm = await realmOf(tab);
  realm.write("```js\nsetTimeout(() => { throw new Error('uncaught later'); }, 0);\nPromise.reject(new Error('rejected'));\nawait new Promise((resolve) => setTimeout(resolve, 150));\n'done'\n```\n");
  const text = await realm.waitForLog((s) => reply('"done"').test(s), 'the reply');
  assert.ok(!text.includes('Script error'), text);
  assert.match(text, /##### 🚫window\.onerror at \S+\n```Error window\.onerror\nError: uncaught later\n {4}at /);
  assert.match(text, /##### 🚫unhandledrejection at \S+\n```Error unhandledrejection\nError: rejected\n {4}at /);
  realm.append('```js\nnull.boom\n```\n');
  const failed = await realm.waitForLog((s) => /^#### 🚫/m.test(s), 'the failure');
  assert.match(failed, /```Error\nTypeError: Cannot read properties of null \(reading 'boom'\)\n {4}at /);
  realm.append('```js\nawait Promise.reject(new RangeError(\'thrown after await\'))\n```\n');
  await realm.waitForLog((s) => /```Error\nRangeError: thrown after await\n {4}at /.test(s), 'a rejection thrown after an await');
});

test('a client tag that a script of the page adds with the page token (as the bundler plugins do) connects and keeps the errors', async () => {
  const tab = await open(`http://127.0.0.1:${dev.port}/inserted.html`);
  const realm = await realmOf(tab);
  realm.write("```js\nsetTimeout(() => { throw new Error('inserted uncaught'); }, 0);\nawait new Promise((resolve) => setTimeout(resolve, 150));\nlocation.pathname\n```\n");
  const text = await realm.waitForLog((s) => reply('"/inserted.html"').test(s), 'the reply');
  assert.match(text, /```Error window\.onerror\nError: inserted uncaught\n {4}at /);
});

test('a page on localhost:<port> gets a worker realm too, started from a Blob URL', async () => {
  const tab = await open(`http://localhost:${dev.port}/worker.html`);
  const page = await realmOf(tab);
  const workerName = `${page.name}-webworker`;
  await waitFor(() => registry(daebug).includes(`[${workerName}]`), 'the worker in the registry', 10_000);
  const worker = { ...page, path: join(daebug.root, 'daebug', `${logFileName(workerName)}.md`) };
  writeFileSync(worker.path, "```js\nsetTimeout(() => { throw new Error('worker uncaught'); }, 0);\nawait new Promise((resolve) => setTimeout(resolve, 150));\n[self.location.protocol, typeof window]\n```\n");
  await waitFor(() => readText(worker.path).includes('"blob:"'), 'the worker reply', 10_000).catch((error: Error) => {
    throw new Error(`${error.message}\n${readText(worker.path)}`);
  });
  const text = readText(worker.path);
  assert.match(text, /\[\s*"blob:",\s*"undefined"\s*\]/);
  assert.match(text, /##### 🚫self\.onerror at \S+\n```Error self\.onerror\nError: worker uncaught\n {4}at /);
});

test('a page on a foreign origin is refused: the page console says why, the daemon says so once', async () => {
  const url = `http://example.test:${dev.port}/foreign.html`;
  const origin = `http://example.test:${dev.port}`;
  const tab = await open(url);
  const refusal = () => tab.console.filter((message) => message.type() === 'error' && message.text().startsWith('daebug: refused a page on '));
  await waitFor(() => refusal().length === 1, 'the refusal in the page console');
  assert.match(refusal()[0]!.text(), new RegExp(`^daebug: refused a page on ${origin}: .*--allow-origin ${origin}`));
  await tab.page.reload();
  await waitFor(() => refusal().length === 2, 'the refusal after a reload');
  const lines = daebug.entries.filter((entry) => entry.message.includes(`refused a page on ${origin}`));
  assert.equal(lines.length, 1, lines.map((entry) => entry.message).join('\n'));
  assert.equal(lines[0]!.level, 'warn');
  assert.match(lines[0]!.message, new RegExp(`--allow-origin ${origin}`));
  assert.ok(!registry(daebug).includes('example.test'), 'no realm for the refused page');
  assert.deepEqual(tab.errors, [], 'nothing thrown into the page');
});

test('--allow-origin lets that exact origin in', async () => {
  const allowedDev = await startDevServer(devPage);
  const allowing = await startTestServer(undefined, TIMING, { allowedOrigins: [`http://example.test:${allowedDev.port}`] });
  const tab = await open(`http://example.test:${allowedDev.port}/allowed.html?daebug=${allowing.server.port}`);
  const realm = await realmOf(tab, allowing);
  realm.write('```js\nlocation.host\n```\n');
  await realm.waitForLog((s) => reply(`"example.test:${allowedDev.port}"`).test(s), 'the reply');
  // The origin is exact: the same name on another port is still refused.
  const other = await open(`http://example.test:${dev.port}/other.html?daebug=${allowing.server.port}`);
  await waitFor(() => other.console.some((message) => message.text().startsWith(`daebug: refused a page on http://example.test:${dev.port}`)), 'the refusal of another port');
});

test('a page with the client twice (a script tag and the injection) starts it once', async () => {
  const tab = await open(daebug.at('/twice.html'));
  const realm = await realmOf(tab);
  await quietPeriod(1000);
  const pages = registry(daebug).split('\n').filter((line) => line.includes('/twice.html'));
  assert.equal(pages.length, 1, registry(daebug));
  assert.ok(pages[0]!.includes(`[${realm.name}]`));
  assert.ok(tab.console.some((message) => message.text() === 'daebug: the client is on this page twice; this copy does nothing'));
  realm.write('```js\n1 + 1\n```\n');
  await realm.waitForLog((s) => reply('2').test(s), 'the reply');
});
