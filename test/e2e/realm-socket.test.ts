// Realms wait for jobs on a WebSocket, not on HTTP long-polls: a browser keeps six connections per
// origin, and long-polls of a page and its workers held some of them, so the page's own requests to
// the same origin (a proxied dev server's) queued behind them. Checked in Chromium through --proxy,
// and the socket's own rules (secret, origin, close codes) from Node.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser } from 'playwright-core';
import WebSocket from 'ws';
import { serve } from '../../src/cli/serve.js';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { FAST } from '../helpers/daemon.js';
import { startTestServer } from '../helpers/serve.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';

const browser: Browser = await launchBrowser();
after(() => browser.close());

test("six requests of a proxied page to its dev server run at once while the page and its worker are realms (no connection held for daebug's polls)", async () => {
  const held: ServerResponse[] = [];
  const dev = createServer((req, res) => {
    if (req.url?.startsWith('/hold')) return void held.push(res);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><html><head><title>held</title></head><body></body></html>');
  });
  await new Promise<void>((resolve) => dev.listen(0, '127.0.0.1', resolve));
  after(() => dev.close());
  // Long-polls held as long as they are in real use: FAST's short ones would free their connections every second.
  const root = tempRoot();
  mkdirSync(join(root, 'daebug'));
  const daebug = await serve({ root, port: 0, host: '127.0.0.1', version: 'test', timing: { ...FAST, pollMs: 25_000 }, onLog: () => {}, proxy: new URL(`http://127.0.0.1:${(dev.address() as AddressInfo).port}`) });
  try {
    const context = await browser.newContext();
    const polls: string[] = [];
    context.on('request', (request) => void (request.url().includes('/poll') && polls.push(request.url())));
    const page = await context.newPage();
    await page.goto(daebug.url);
    const name = await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm).then((handle) => handle.jsonValue() as Promise<string>);
    const registry = join(root, 'daebug.md');
    await waitFor(() => existsSync(registry) && readFileSync(registry, 'utf8').includes(`[${name}-webworker]`), 'the page and its worker in the registry', 10_000);
    // Both realms answer, so both wait for jobs.
    for (const realm of [name, `${name}-webworker`]) {
      const log = join(root, 'daebug', `${logFileName(realm)}.md`);
      appendFileSync(log, '```js\n6 * 7\n```\n');
      await waitFor(() => readText(log).includes('42'), `${realm} answering`, 10_000);
    }

    await page.evaluate(() => void Promise.all(Array.from({ length: 6 }, (_, index) => fetch(`/hold?${index}`).then((response) => response.text()))).then(() => ((globalThis as { released?: boolean }).released = true)));
    await waitFor(() => held.length === 6, `six requests at the dev server at once (${held.length} arrived: the others wait for a free connection)`, 5_000);
    for (const res of held) res.end('done');
    await page.waitForFunction(() => (globalThis as { released?: boolean }).released === true);
    assert.deepEqual(polls, [], 'no HTTP long-polls: the realms wait on WebSockets');
    await context.close();
  } finally {
    await daebug.stop('test over');
  }
});

/** Connects a realm over HTTP with the page token; resolves with its name and secret. */
async function connectRealm(at: (path: string) => string, pageToken: string, name: string): Promise<{ name: string; secret: string }> {
  const response = await fetch(at('/-daebug/connect'), { method: 'POST', headers: { 'x-daebug-token': pageToken }, body: JSON.stringify({ name, url: 'http://localhost/' }) });
  const answer = (await response.json()) as { realm: string; secret: string };
  return { name: answer.realm, secret: answer.secret };
}

function openSocket(url: string, protocols: string[], origin?: string): WebSocket {
  return new WebSocket(url, protocols, origin ? { origin } : {});
}

test("a realm's socket: jobs come as answers to `poll`, a wrong secret is closed with 4401, a foreign origin is refused, and a plain GET is told to upgrade", async () => {
  const server = await startTestServer();
  const realm = await connectRealm(server.at, server.pageToken, 'socket-tab');
  const socketUrl = server.at(`/-daebug/realms/${realm.name}/socket`).replace(/^http/, 'ws');

  const wrong = openSocket(socketUrl, ['daebug', 'daebug-secret.not-the-secret']);
  const closed = await new Promise<number>((resolve) => wrong.on('close', (code) => resolve(code)));
  assert.equal(closed, 4401, 'a wrong secret: the realm is told to connect again');

  const foreign = openSocket(socketUrl, ['daebug', `daebug-secret.${realm.secret}`], 'https://evil.example');
  const status = await new Promise<number>((resolve) => foreign.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
  assert.equal(status, 403, 'a page on a foreign origin gets no socket, even with the secret');
  await waitFor(() => server.entries.some((entry) => entry.message.includes('refused a page on https://evil.example')), 'the refusal in the daemon output');

  const plain = await fetch(server.at(`/-daebug/realms/${realm.name}/socket`), { headers: { 'x-daebug-secret': realm.secret } });
  assert.equal(plain.status, 426);

  const socket = openSocket(socketUrl, ['daebug', `daebug-secret.${realm.secret}`], server.url.replace(/\/$/, ''));
  const answers: { type: string; jobId?: string; code?: string }[] = [];
  socket.on('message', (data) => answers.push(JSON.parse(String(data)) as { type: string }));
  await new Promise((resolve) => socket.on('open', resolve));
  assert.equal(socket.protocol, 'daebug');
  socket.send('poll');
  const log = join(server.root, 'daebug', `${logFileName(realm.name)}.md`);
  appendFileSync(log, '```js\n"over the socket"\n```\n');
  await waitFor(() => answers.length === 1, 'the job over the socket');
  const [job] = answers;
  assert.equal(job!.type, 'job');
  assert.equal(job!.code, '"over the socket"');
  const result = await fetch(server.at(`/-daebug/realms/${realm.name}/jobs/${job!.jobId}/result`), {
    method: 'POST',
    headers: { 'x-daebug-secret': realm.secret },
    body: JSON.stringify({ type: 'result', jobId: job!.jobId, outcome: { kind: 'value', value: { lang: 'JSON', text: '"answered"' } }, durationMs: 1, events: [] }),
  });
  assert.equal(result.status, 200);
  await waitFor(() => readText(log).includes('"answered"'), 'the reply in the log');
  // Connecting again gives a new secret: the socket of the old one is closed at its next poll.
  const again = await fetch(server.at('/-daebug/connect'), { method: 'POST', headers: { 'x-daebug-token': server.pageToken }, body: JSON.stringify({ name: realm.name, url: 'http://localhost/', secret: realm.secret }) });
  assert.equal(again.status, 200);
  const closedAfter = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  socket.send('poll');
  assert.equal(await closedAfter, 4401, 'a socket of a stale secret is closed');
});

test('where no WebSocket can be opened, a page waits for jobs over HTTP long-polls and still answers', async () => {
  const server = await startTestServer((root) => writeFileSync(join(root, 'index.html'), '<!doctype html><title>no sockets</title>'));
  const context = await browser.newContext();
  // As a browser or a proxy in between that offers no WebSocket would.
  await context.addInitScript(() => {
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
  });
  const polls: string[] = [];
  context.on('request', (request) => void (request.url().includes('/poll') && polls.push(request.url())));
  const page = await context.newPage();
  await page.goto(server.url);
  const name = await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm).then((handle) => handle.jsonValue() as Promise<string>);
  const log = join(server.root, 'daebug', `${logFileName(name)}.md`);
  appendFileSync(log, '```js\ndocument.title\n```\n');
  await waitFor(() => readText(log).includes('"no sockets"'), 'the answer over long-polls', 10_000);
  assert.ok(polls.some((url) => url.includes(`/realms/${encodeURIComponent(name)}/poll`)), 'the page long-polled');
  await context.close();
});
