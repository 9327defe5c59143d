// End to end in headless Chromium: the app's own workers are realms. A page daebug serves starts a
// module worker and a classic worker (and a Blob worker), each with state of its own; each answers
// requests in its own log, while the page checks that the app's own messages are exactly what the
// app sent, and that its workers' URLs, names and handlers are their own.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { serve, type Serving } from '../../src/cli/serve.js';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { FAST } from '../helpers/daemon.js';
import { listenForTests } from '../helpers/dev-server.js';
import { startTestServer, type TestServer } from '../helpers/serve.js';
import { quietPeriod, readText, tempRoot, waitFor } from '../helpers/temp.js';

// Longer than the 10 s a page waits before it calls a worker hung.
const TIMING = { ...FAST, timeoutMs: 20_000 };

/** The app: a page that starts its workers and keeps every message they send it. */
const APP_PAGE = `<!doctype html><html><head><title>totals</title></head><body><script>
window.received = { totals: [], legacy: [], inline: [] };
const totals = new Worker('/js/totals.mjs', { type: 'module', name: 'totals-app' });
totals.onmessage = (event) => received.totals.push(event.data);
const legacy = new Worker('js/legacy.js', { name: 'legacy-app' });
legacy.addEventListener('message', (event) => received.legacy.push(event.data));
const source = URL.createObjectURL(new Blob(['"use strict"; var inlineState = 42; var inlineStrict = (function () { return this === undefined; })(); self.onmessage = (event) => postMessage(event.data);'], { type: 'text/javascript' }));
const inline = new Worker(source, { name: 'inline' });
URL.revokeObjectURL(source);
inline.onmessage = (event) => received.inline.push(event.data);
totals.postMessage({ add: 5 });
legacy.postMessage({ add: 2 });
inline.postMessage('first');
window.workers = { totals, legacy, inline };
</script></body></html>`;

const FILES: Record<string, string> = {
  'index.html': APP_PAGE,
  // A module worker: a relative import, import.meta.url, its state on the global scope.
  'js/totals.mjs': `import { withTax } from './tax.mjs';
globalThis.store = { total: 0, seen: [] };
globalThis.meta = import.meta.url;
self.onmessage = (event) => {
  store.seen.push(event.data);
  store.total += event.data.add;
  postMessage({ total: store.total, withTax: withTax(store.total) });
};
`,
  'js/tax.mjs': 'export const withTax = (n) => Math.round(n * 120) / 100;\n',
  // A classic worker: strict, with a relative importScripts and top-level vars.
  'js/legacy.js': `'use strict';
importScripts('helpers.js');
var count = 0;
var seen = [];
var strict = (function () { return this === undefined; })();
self.onmessage = function (event) {
  seen.push(event.data);
  count += event.data.add;
  postMessage({ count: count, doubled: double(count) });
};
`,
  'js/helpers.js': 'function double(n) { return n * 2; }\n',
};

const browser: Browser = await launchBrowser();
after(() => browser.close());
const server: TestServer = await startTestServer((root) => writeFiles(root, FILES), TIMING);

function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

const registry = (root: string) => readText(join(root, 'daebug.md'));

/** A realm's log, to append requests to and wait on. */
function logOf(root: string, name: string) {
  const path = join(root, 'daebug', `${logFileName(name)}.md`);
  return {
    name,
    path,
    append: (text: string) => appendFileSync(path, text),
    async waitFor(check: (text: string) => boolean, what: string, timeoutMs = 10_000) {
      await waitFor(() => check(readText(path)), what, timeoutMs).catch((error: Error) => {
        throw new Error(`${error.message}\n--- ${name}.md ---\n${readText(path)}\n--- daebug.md ---\n${registry(root)}`);
      });
      return readText(path);
    },
  };
}

/** Opens the app on `url`; resolves once its page realm is connected and the named workers are listed. */
async function openApp(url: string, root: string, workers: string[]): Promise<{ page: Page; name: string }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm);
  const name = await page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
  await waitFor(() => workers.every((worker) => registry(root).includes(`[${name}-${worker}]`)), `${workers.join(', ')} in the registry`, 10_000).catch((error: Error) => {
    throw new Error(`${error.message}\n${registry(root)}`);
  });
  return { page, name };
}

/** The page's workers as the test drives them (Node's own `Worker` type is another thing). */
interface AppWorker {
  postMessage(message: unknown): void;
  terminate(): void;
}

const received = (page: Page) => page.evaluate(() => (globalThis as unknown as { received: Record<string, unknown[]> }).received);

test("the app's module and classic workers are realms listed under their page, each answering in its own log", async () => {
  // daebug's helper worker too: it starts once the page has loaded, and may come after the app's.
  const { page, name } = await openApp(server.at('/'), server.root, ['totals', 'legacy', 'inline', 'webworker']);
  const lines = registry(server.root).split('\n');
  const at = lines.findIndex((line) => line.startsWith(`* [${name}]`));
  assert.ok(at >= 0, registry(server.root));
  const workerLines = lines.slice(at + 1).filter((line) => line.startsWith(`  * [${name}-`));
  assert.ok(workerLines.some((line) => new RegExp(`^  \\* \\[${name}-totals\\]\\(daebug/\\S+\\.md\\) worker /js/totals\\.mjs · idle$`).test(line)), registry(server.root));
  assert.ok(workerLines.some((line) => new RegExp(`^  \\* \\[${name}-legacy\\]\\(daebug/\\S+\\.md\\) worker /js/legacy\\.js · idle$`).test(line)), registry(server.root));
  assert.ok(workerLines.some((line) => new RegExp(`^  \\* \\[${name}-inline\\]\\(daebug/\\S+\\.md\\) worker \\(blob\\) · idle$`).test(line)), registry(server.root));
  assert.ok(workerLines.some((line) => line.includes(`[${name}-webworker]`) && line.includes("daebug's helper worker, not the app's")), registry(server.root));

  const totals = logOf(server.root, `${name}-totals`);
  writeFileSync(totals.path, "```js\nconsole.log('total is', store.total);\n[store.total, store.seen, self.location.pathname, meta === self.location.href, self.name, typeof self.onmessage, Object.getOwnPropertyNames(self).filter((key) => /daebug/i.test(key))]\n```\n");
  const totalsText = await totals.waitFor((s) => s.includes('```JSON'), 'the module worker reply');
  assert.match(totalsText, /```JSON\n\[\n {2}5,\n {2}\[\n {4}\{\n {6}"add": 5\n {4}\}\n {2}\],\n {2}"\/js\/totals\.mjs",\n {2}true,\n {2}"totals-app",\n {2}"function",\n {2}\[\n {4}"__daebug"\n {2}\]\n\]\n```/);
  assert.match(totalsText, /##### ☑️console\.log at \S+\n```Text console\.log\ntotal is 5\n```/);

  const legacy = logOf(server.root, `${name}-legacy`);
  writeFileSync(legacy.path, '```js\n[count, seen, strict, self.location.pathname, self.name, double(4)]\n```\n');
  const legacyText = await legacy.waitFor((s) => s.includes('```JSON'), 'the classic worker reply');
  assert.match(legacyText, /```JSON\n\[\n {2}2,\n {2}\[\n {4}\{\n {6}"add": 2\n {4}\}\n {2}\],\n {2}true,\n {2}"\/js\/legacy\.js",\n {2}"legacy-app",\n {2}8\n\]\n```/);

  const inline = logOf(server.root, `${name}-inline`);
  writeFileSync(inline.path, '```js\n[inlineState, inlineStrict, self.name]\n```\n');
  await inline.waitFor((s) => /```JSON\n\[\n {2}42,\n {2}true,\n {2}"inline"\n\]\n```/.test(s), 'the Blob worker reply');

  // The app keeps talking to its workers; over a few of daebug's ping rounds it sees only its own messages.
  await page.evaluate(() => {
    const { workers } = globalThis as unknown as { workers: Record<string, AppWorker> };
    workers.totals!.postMessage({ add: 1 });
    workers.legacy!.postMessage({ add: 1 });
    workers.inline!.postMessage('second');
  });
  await quietPeriod(4500);
  assert.deepEqual(await received(page), {
    totals: [{ total: 5, withTax: 6 }, { total: 6, withTax: 7.2 }],
    legacy: [{ count: 2, doubled: 4 }, { count: 3, doubled: 6 }],
    inline: ['first', 'second'],
  });
  legacy.append('```js\nseen\n```\n');
  await legacy.waitFor((s) => /```JSON\n\[\n {2}\{\n {4}"add": 2\n {2}\},\n {2}\{\n {4}"add": 1\n {2}\}\n\]\n```/.test(s), 'only the app messages in the worker');
});

test('a worker the app terminates while a request runs fails that request with the reason, and is listed as terminated', async () => {
  const { page, name } = await openApp(server.at('/'), server.root, ['legacy']);
  const legacy = logOf(server.root, `${name}-legacy`);
  writeFileSync(legacy.path, "```js\nawait new Promise((resolve) => setTimeout(resolve, 8000));\n'too late'\n```\n");
  await legacy.waitFor((s) => s.includes('executing'), 'the job running');
  await page.evaluate(() => (globalThis as unknown as { workers: Record<string, AppWorker> }).workers.legacy!.terminate());
  const text = await legacy.waitFor((s) => s.includes('#### 🚫'), 'the failure');
  assert.match(text, new RegExp(`#### 🚫\\S+ at .*\\n\`\`\`Error\\nError: ${name}-legacy was terminated by its page: worker\\.terminate\\(\\) before it answered\\n\`\`\``));
  await waitFor(() => new RegExp(`\\[${name}-legacy\\]\\S+ worker /js/legacy\\.js · terminated`).test(registry(server.root)), 'terminated in the registry');
});

test('a worker that hangs fails its request after 10 s without pongs, is listed as hung, and is not restarted', async () => {
  const { page, name } = await openApp(server.at('/'), server.root, ['totals']);
  const totals = logOf(server.root, `${name}-totals`);
  writeFileSync(totals.path, "```js\nstore.total = 100;\nconst end = Date.now() + 13000; while (Date.now() < end) {}\n'done'\n```\n");
  const text = await totals.waitFor((s) => s.includes('#### 🚫'), 'the failure', 16_000);
  assert.match(text, new RegExp(`Error: ${name}-totals stopped answering its page \\(no answer to pings for 10 s\\) before it answered; daebug does not restart the app's workers`));
  await waitFor(() => new RegExp(`\\[${name}-totals\\]\\S+ worker /js/totals\\.mjs · hung`).test(registry(server.root)), 'hung in the registry');
  // Once the loop ends it answers again, with the state it had: it was never restarted.
  totals.append('```js\nstore.total\n```\n');
  await totals.waitFor((s) => /```JSON\n100\n```/.test(s), 'the same worker answering again');
  await waitFor(() => new RegExp(`\\[${name}-totals\\]\\S+ worker /js/totals\\.mjs · idle`).test(registry(server.root)), 'idle again in the registry', 6000);
  assert.equal((await received(page)).totals!.length, 1, 'the app saw none of it');
});

test('a proxied page makes its workers realms too, with the app worker script still its own', async () => {
  const dev = await startFileServer(FILES);
  let serving: Serving | undefined;
  const root = tempRoot(() => serving?.stop('test finished') ?? Promise.resolve());
  mkdirSync(join(root, 'daebug'));
  serving = await serve({ root, port: 0, host: '127.0.0.1', version: '0.0.0-test', timing: TIMING, proxy: new URL(`http://127.0.0.1:${(dev.address() as AddressInfo).port}`), onLog: () => {} });
  const { page, name } = await openApp(new URL('/', serving.url).href, root, ['totals', 'legacy']);
  const legacy = logOf(root, `${name}-legacy`);
  writeFileSync(legacy.path, '```js\n[count, strict, self.location.pathname]\n```\n');
  await legacy.waitFor((s) => /```JSON\n\[\n {2}2,\n {2}true,\n {2}"\/js\/legacy\.js"\n\]\n```/.test(s), 'the proxied classic worker');
  const totals = logOf(root, `${name}-totals`);
  writeFileSync(totals.path, '```js\nstore.total\n```\n');
  await totals.waitFor((s) => /```JSON\n5\n```/.test(s), 'the proxied module worker');
  assert.deepEqual((await received(page)).legacy, [{ count: 2, doubled: 4 }]);
});

/** A dev server that serves `files` with their types, compressed as dev servers do. */
async function startFileServer(files: Record<string, string>): Promise<Server> {
  const { gzipSync } = await import('node:zlib');
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://dev').pathname.slice(1) || 'index.html';
    const text = files[path];
    if (text === undefined) return void res.writeHead(404).end();
    const type = path.endsWith('.html') ? 'text/html' : 'text/javascript';
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'content-encoding': 'gzip' });
    res.end(gzipSync(text));
  });
  await listenForTests(server);
  return server;
}

test("a page attached by script tag: a worker whose script loads daebug's client itself, and a Blob worker, are realms", async () => {
  const port = server.server.port;
  const dev = await startFileServer({
    'index.html': `<!doctype html><html><head><script src="http://localhost:${port}/-daebug/client.js"></script></head><body><script>
window.received = [];
const own = new Worker('/own.js');
own.onmessage = (event) => received.push(event.data);
own.postMessage('ping from the app');
new Worker(URL.createObjectURL(new Blob(['var fromBlob = 7;'])), { name: 'tagged' });
</script></body></html>`,
    // The line a user adds to a worker that daebug does not serve, as they add the tag to the page.
    'own.js': `importScripts('http://localhost:${port}/-daebug/worker-classic.js');\nvar own = 'state';\nself.onmessage = (event) => postMessage('echo: ' + event.data);\n`,
  });
  const { page, name } = await openApp(`http://127.0.0.1:${(dev.address() as AddressInfo).port}/`, server.root, ['own', 'tagged']);
  const own = logOf(server.root, `${name}-own`);
  writeFileSync(own.path, "```js\nsetTimeout(() => { throw new Error('worker uncaught'); }, 0);\nawait new Promise((resolve) => setTimeout(resolve, 150));\n[own, self.location.pathname]\n```\n");
  const text = await own.waitFor((s) => s.includes('```JSON'), 'the reply');
  assert.match(text, /```JSON\n\[\n {2}"state",\n {2}"\/own\.js"\n\]\n```/);
  assert.match(text, /##### 🚫self\.onerror at \S+\n```Error self\.onerror\nError: worker uncaught\n {4}at /, 'the agent errors are not muted');
  const tagged = logOf(server.root, `${name}-tagged`);
  writeFileSync(tagged.path, '```js\nfromBlob\n```\n');
  await tagged.waitFor((s) => /```JSON\n7\n```/.test(s), 'the Blob worker reply');
  assert.deepEqual(await page.evaluate(() => (globalThis as unknown as { received: unknown[] }).received), ['echo: ping from the app']);
});

test('a page that starts a SharedWorker: it still works for the app, and daebug.md says once why it is no realm', async () => {
  const server = await startTestServer((root) => {
    writeFileSync(join(root, 'shared.html'), `<!doctype html><title>shared</title><script>
const shared = new SharedWorker('/shared.js');
shared.port.onmessage = (event) => (window.sharedAnswer = event.data);
shared.port.postMessage('hello');
new SharedWorker('/shared.js');
</script>`);
    writeFileSync(join(root, 'shared.js'), 'onconnect = (event) => { const port = event.ports[0]; port.onmessage = (message) => port.postMessage(`echo ${message.data}`); };\n');
  }, TIMING);
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.at('/shared.html'));
  await page.waitForFunction(() => (globalThis as { sharedAnswer?: string }).sharedAnswer === 'echo hello', undefined, { timeout: 10_000 });
  const registry = join(server.root, 'daebug.md');
  await waitFor(() => readText(registry).includes('a page started a SharedWorker: shared workers are not realms'), 'the notice in the registry', 10_000);
  assert.equal(readText(registry).split('a page started a SharedWorker').length - 1, 1, 'said once');
  await page.context().close();
});
