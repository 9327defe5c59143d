// Nothing waits forever, in headless Chromium: a tab closed during a job fails that job and drops the
// requests queued behind it with a notice; a reload fails the running job and the next request runs
// in the reloaded page; a blocked main thread shows as not responding in the marker and the registry
// within seconds and its job fails at the timeout saying why; a request for a realm that never
// connects gets a notice instead of `queued` forever.
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { logPath } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { startTestServer } from '../helpers/serve.js';
import { readText, waitFor } from '../helpers/temp.js';

const browser: Browser = await launchBrowser();
after(() => browser.close());

const server = await startTestServer(
  (root) => writeFileSync(join(root, 'index.html'), '<!doctype html><title>stuck</title><script>window.loads = (window.loads ?? 0) + 1;</script>'),
  { timeoutMs: 7_000, closeGraceMs: 500, unresponsiveMs: 4_000, notRespondingMs: 1_500, tickMs: 5_000 },
);

async function openRealm(): Promise<{ page: Page; name: string; log: string }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url);
  const name = await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm).then((handle) => handle.jsonValue() as Promise<string>);
  await waitFor(() => readRegistry().includes(`[${name}]`), `${name} in the registry`, 10_000);
  return { page, name, log: join(server.root, logPath(name)) };
}

function readRegistry(): string {
  try {
    return readFileSync(join(server.root, 'daebug.md'), 'utf8');
  } catch {
    return '';
  }
}

test('a tab closed while a job runs: the job fails, and the request queued behind it gets a notice in place of its marker', async () => {
  const { page, name, log } = await openRealm();
  appendFileSync(log, '```js\nawait new Promise(() => {})\n```\n```js\n"never"\n```\n');
  await waitFor(() => /executing \(\d+s\)/.test(readText(log)) && readText(log).includes('queued'), 'one running, one queued');
  await page.context().close();
  await waitFor(() => readText(log).includes(`Error: ${name} was closed while this ran`), 'the running job failed', 5_000);
  await waitFor(() => readText(log).includes(`not run: ${name} was closed`), 'the queued request dropped with a notice', 5_000);
  const text = readText(log);
  assert.doesNotMatch(text, /^queued$/m, 'no marker left queued');
  assert.doesNotMatch(text, /^executing/m, 'no marker left executing');
  assert.match(text, /```js\n"never"\n```\n\n?#### ⚠️daebug at \d\d:\d\d:\d\d\n```Text\nnot run: .* Append the request again once it is back, or in the log of a connected realm \(see daebug\.md\)\.\n```/, 'the notice sits where the marker was and says what to do');
  await waitFor(() => new RegExp(`\\[${name}\\].*· gone`).test(readRegistry()), 'the registry showing the realm gone');
});

test('a page reloaded while a job runs: that job fails at once as reloaded, and the next request runs in the reloaded page', async () => {
  const { page, name, log } = await openRealm();
  appendFileSync(log, '```js\nawait new Promise(() => {})\n```\n```js\nwindow.loads\n```\n');
  await waitFor(() => /executing \(\d+s\)/.test(readText(log)), 'the hanging job running');
  await page.reload();
  await waitFor(() => readText(log).includes(`Error: ${name} reloaded while this ran`), 'the running job failed as reloaded', 5_000);
  await waitFor(() => /```js\nwindow\.loads\n```\n#### 👍\S+ at \S+ \(\d+ms\)\n```JSON\n1\n```/.test(readText(log)), 'the next request answered by the reloaded page', 5_000).catch((error: Error) => {
    throw new Error(`${error.message}\n--- log ---\n${readText(log)}\n--- daebug.md ---\n${readRegistry()}`);
  });
  await page.context().close();
});

test('a blocked main thread: the marker and the registry say not responding within seconds, and the job fails at the timeout saying why', async () => {
  const { page, name, log } = await openRealm();
  const started = Date.now();
  appendFileSync(log, '```js\nconst end = Date.now() + 9000; while (Date.now() < end) {}\n```\n');
  await waitFor(() => readText(log).includes('executing (') && readText(log).includes(', not responding'), 'not responding in the marker', 6_000);
  assert.ok(Date.now() - started < 5_000, 'within 5 s of the block, well before the next tick (the page beats every second)');
  await waitFor(() => new RegExp(`\\[${name}\\].*· not responding`).test(readRegistry()), 'not responding in the registry', 2_000);
  await waitFor(() => readText(log).includes('job timed out'), 'the timeout', 10_000);
  assert.match(readText(log), /#### 🚫\S+ at \S+ \(\d+(\.\d+)?s\)\n```Error\n.*job timed out; the realm stopped polling, its main thread may be blocked/);
  await page.context().close();
});

test('a request for a realm that never connects gets a notice after the unresponsive time, not queued forever', async () => {
  const log = join(server.root, 'daebug', 'no-such-tab.md');
  writeFileSync(log, '```js\n1 + 1\n```\n');
  await waitFor(() => readText(log).includes('not run: no realm named no-such-tab connected within 4 s.'), 'the notice', 8_000);
  assert.doesNotMatch(readText(log), /^queued$/m);
});

test('a test run for a page that is closing fails within seconds, not after a minute', async () => {
  const { page, name } = await openRealm();
  await page.context().close();
  const run = server.daemon.runTests(name, ['/none.test.js'], 2_000);
  assert.ok(run.ok);
  const events: { kind: string; error?: string }[] = [];
  run.subscribe((event) => events.push(event as { kind: string; error?: string }));
  await waitFor(() => events.some((event) => event.kind === 'end'), 'the run to end', 5_000);
  // Taken by the closing page's last poll, or still waiting: either way it ends as soon as the page is known closed.
  assert.ok(events.some((event) => event.kind === 'fail' && (event.error === `Error: ${name} was closed before it took the run` || event.error === `Error: ${name} was closed during the run`)), JSON.stringify(events));
});
