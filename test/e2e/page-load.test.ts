// End to end in headless Chromium: what a page does while it loads reaches its log without the agent
// writing first (failed requests, errors, console output), `daebug.network()` lists its requests,
// and a long answer is cut to the output budget with the whole value in a file beside the log.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { FAST } from '../helpers/daemon.js';
import { startTestServer } from '../helpers/serve.js';
import { quietPeriod, readText, waitFor } from '../helpers/temp.js';

const LOADING = `<!doctype html><html><head><title>loading</title>
<script src="/missing.js"></script>
<script>
console.log('booting');
fetch('/api/nope').then((r) => (window.apiStatus = r.status));
const xhr = new XMLHttpRequest(); xhr.open('GET', '/data/none.json'); xhr.send();
</script>
<link rel="stylesheet" href="/ok.css">
</head><body><script>throw new Error('boom while loading');</script></body></html>`;

const browser: Browser = await launchBrowser();
after(() => browser.close());
const server = await startTestServer((root) => {
  writeFileSync(join(root, 'index.html'), LOADING);
  writeFileSync(join(root, 'quiet.html'), '<!doctype html><title>quiet</title><p>quiet</p>');
  writeFileSync(join(root, 'ok.txt'), 'fine');
  writeFileSync(join(root, 'ok.css'), 'p {}');
}, { ...FAST, timeoutMs: 4000 });

/** Opens `path` and returns the realm's name and its log's path. */
async function open(path: string): Promise<{ name: string; log: string; page: import('playwright-core').Page }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.at(path));
  await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm);
  const name = await page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
  return { name, page, log: join(server.root, 'daebug', `${logFileName(name)}.md`) };
}

async function waitForLog(path: string, check: (text: string) => boolean, what: string): Promise<string> {
  await waitFor(() => check(readText(path)), what, 8000).catch((error: Error) => {
    throw new Error(`${error.message}\n--- log ---\n${readText(path)}`);
  });
  return readText(path);
}

test('a missing project file is a plain-text 404, not daebug JSON', async () => {
  const answer = await fetch(server.at('/missing.js'));
  assert.equal(answer.status, 404);
  assert.match(answer.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(await answer.text(), '404 Not Found: /missing.js');
});

test('what a page logs, throws and fails to load while loading is in its log before the agent writes', async () => {
  const { name, log } = await open('/');
  const text = await waitForLog(log, (s) => s.includes('boom while loading') && s.includes('/data/none.json') && s.includes('/api/nope') && s.includes('/missing.js'), 'the load-time events');
  assert.match(text, new RegExp(`^# ${name}\\n`), 'the log was made with its header');
  assert.match(text, new RegExp(`#### 📣${name} background at \\d\\d:\\d\\d:\\d\\d\\n`));
  assert.match(text, /##### 🌐network at \d\d:\d\d:\d\d\n```Text network\nGET \/missing\.js → 404 \(script, \d+ms\)\n```/);
  assert.match(text, /GET \/api\/nope → 404 \(fetch, \d+ms\)/);
  assert.match(text, /GET \/data\/none\.json → 404 \(xhr, \d+ms\)/);
  assert.match(text, /##### 🚫window\.onerror at .*\n```Error window\.onerror\nError: boom while loading/);
  assert.match(text, /```Text console\.log\nbooting\n```/);
  assert.equal(text.match(/missing\.js/g)?.length, 1, 'the failed script is reported once');
  assert.ok(!text.includes('ok.css'), 'a load that worked is not an event');
  assert.ok(!text.includes('/-daebug/'), "daebug's own requests are not listed");
});

test('a page that logs nothing gets an empty log at once, ready for the agent', async () => {
  const { name, log } = await open('/quiet.html');
  const text = await waitForLog(log, (s) => s.includes('> Append your JavaScript snippet below'), 'the log made at connect');
  assert.match(text, new RegExp(`^# ${name}\\n`));
  assert.ok(!text.includes('####'), 'no section yet');
  // The browser asks for /favicon.ico on its own (a 404 here): that is not the app's request.
  await quietPeriod(1_000);
  assert.ok(!readText(log).includes('####'), `still nothing: ${readText(log)}`);
});

test('daebug.network() lists the recent requests as a Markdown table, filtered by failure or URL', async () => {
  const { log, page } = await open('/');
  await waitForLog(log, (s) => s.includes('/data/none.json'), 'the load-time events');
  await page.waitForFunction(() => (globalThis as { apiStatus?: number }).apiStatus === 404);
  appendFileSync(log, '```js\ndaebug.network({ failed: true })\n```\n```js\ndaebug.network("ok.css")\n```\n');
  const text = await waitForLog(log, (s) => (s.match(/#### 👍.* \(\d+(ms|\.\d+s)\)\n/g) ?? []).length === 2, 'both replies');
  assert.match(text, /```Text\n3 requests \(failed\), oldest first:\n\| at \| method \| status \| url \| kind \| ms \| size \|\n\| --- \|/);
  assert.match(text, /\| \d\d:\d\d:\d\d \| GET \| 404 \| \/missing\.js \| script \| \d+ \| /);
  assert.match(text, /\| GET \| 404 \| \/api\/nope \| fetch \| \d+ \| \d+ B \|/);
  assert.match(text, /1 request \(matching "ok\.css"\), oldest first:\n.*\n.*\n\| \d\d:\d\d:\d\d \| GET \| 200 \| \/ok\.css \| link \| \d+ \| 4 B \|\n```/);
});

test("the app's fetch behaves as before: its name, length and source, its answers and its errors", async () => {
  const { log, page } = await open('/quiet.html');
  await waitForLog(log, (s) => s.includes('> Append your JavaScript snippet below'), 'the log');
  const seen = await page.evaluate(async () => {
    const body = await (await fetch('/ok.txt')).text();
    const error = await fetch('http://127.0.0.1:9/').then(() => null, (caught: Error) => `${caught.name}: ${caught.message}`);
    return { name: fetch.name, length: fetch.length, source: String(fetch), body, error };
  });
  assert.deepEqual(seen, { name: 'fetch', length: 1, source: 'function fetch() { [native code] }', body: 'fine', error: 'TypeError: Failed to fetch' });
  const text = await waitForLog(log, (s) => s.includes('127.0.0.1:9'), 'the failed fetch');
  assert.match(text, /GET http:\/\/127\.0\.0\.1:9\/ → Failed to fetch \(fetch, \d+ms\)/);
});

test('a 10,000-number array is cut to the 4 KiB budget by elements; the whole array is in a file beside the log', async () => {
  const { name, log } = await open('/quiet.html');
  await waitForLog(log, (s) => s.includes('> Append your JavaScript snippet below'), 'the log');
  appendFileSync(log, '```js\nArray.from({ length: 10000 }, (_, i) => i)\n```\n');
  const text = await waitForLog(log, (s) => /#### 👍.* \(\d+(ms|\.\d+s)\)\n/.test(s), 'the reply');
  const block = /#### 👍.*\n```JSON\n([\s\S]*?)\n```\n/.exec(text)![1]!;
  assert.ok(Buffer.byteLength(block) <= 4096, `${Buffer.byteLength(block)} bytes`);
  const lines = block.split('\n');
  assert.equal(lines[0], '[');
  const more = lines.findIndex((line) => line.startsWith('  ... '));
  assert.equal(lines[more], `  ... ${10_000 - (more - 1)} more items`);
  const whole = `daebug/${logFileName(name)}.out/1.json`;
  assert.match(lines.at(-1)!, new RegExp(`^\\.\\.\\. \\(cut at 4 KiB: [\\d.]+ KiB of [\\d.]+ KiB left out; whole: ${whole.replace(/\./g, '\\.')}\\) \\.\\.\\.$`));
  const kept = JSON.parse(readFileSync(join(server.root, whole), 'utf8')) as number[];
  assert.equal(kept.length, 10_000);
  assert.equal(kept[9_999], 9_999);
});
