// End to end in headless Chromium: daebug --proxy in front of a plain Node dev server written here.
// Its pages become realms, and what a dev server needs (compressed pages, chunked and streamed
// answers, redirects, cookies, bodies, server-sent events, WebSockets) still works through daebug.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { serve, type Serving } from '../../src/cli/serve.js';
import type { DaemonLogEntry } from '../../src/daemon/daemon.js';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { freePort } from '../helpers/cli.js';
import { FAST } from '../helpers/daemon.js';
import { rawRequest } from '../helpers/serve.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';

const TIMING = { ...FAST, timeoutMs: 4000 };
const PAGE = '<!doctype html><html><head><title>dev shop</title></head><body><h1 id="title">Dev shop</h1><script>window.cart = { items: [1, 2, 3] };</script></body></html>';
const STRICT_PAGE = '<!doctype html><html><head><title>strict</title></head><body><p>strict</p></body></html>';
const META_PAGE = `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'"><title>meta</title></head><body></body></html>`;
const MAPPED_PAGE = '<!doctype html><html><head><script type="importmap">{"imports":{"lib":"/lib.mjs","node:test":"/lib.mjs"}}</script><title>mapped</title></head><body></body></html>';

/** What the dev server saw. */
const seen: { hosts: string[] } = { hosts: [] };

/** A dev server as plain as they come: every answer the tests need, and a WebSocket echo. */
function startDevServer(): Promise<Server> {
  const server = createServer((req, res) => {
    seen.hosts.push(String(req.headers.host));
    const url = new URL(req.url ?? '/', 'http://dev');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip', etag: '"v1"', 'set-cookie': 'flavour=mint; Path=/; Domain=dev.example' });
      return res.end(gzipSync(PAGE));
    }
    if (url.pathname === '/strict') {
      res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': "default-src 'none'; script-src 'self'" });
      return res.end(STRICT_PAGE);
    }
    if (url.pathname === '/meta') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(META_PAGE);
    }
    if (url.pathname === '/mapped') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(MAPPED_PAGE);
    }
    if (url.pathname === '/lib.mjs') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return res.end('export const answer = 42;');
    }
    if (url.pathname === '/cookie') return res.end(String(req.headers.cookie ?? ''));
    if (url.pathname === '/old') {
      res.writeHead(302, { location: `http://127.0.0.1:${port(server)}/new?from=old` });
      return res.end();
    }
    if (url.pathname === '/new') return res.end(`new ${url.search}`);
    if (url.pathname === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => res.end(`${req.method} ${req.headers['content-type'] ?? '-'} ${Buffer.concat(chunks).toString()}`));
      return;
    }
    if (url.pathname === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('one,');
      setTimeout(() => res.write('two,'), 30);
      setTimeout(() => res.end('three'), 60);
      return;
    }
    if (url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let sent = 0;
      const timer = setInterval(() => res.write(`data: tick ${++sent}\n\n`), 40);
      // The stream stays open, as a dev server's does: only an answer passed on as it comes shows its events.
      req.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('no such thing');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    seen.hosts.push(String(req.headers.host));
    acceptWebSocket(req, socket);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** The server side of RFC 6455, as little as an echo of short text messages needs. */
function acceptWebSocket(req: IncomingMessage, socket: Socket): void {
  const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
  let pending = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 6) {
      const opcode = pending[0]! & 0x0f;
      const length = pending[1]! & 0x7f;
      // Browsers mask every frame they send; the messages here are under 126 bytes.
      if (pending.length < 6 + length) return;
      const mask = pending.subarray(2, 6);
      const payload = Buffer.from(pending.subarray(6, 6 + length).map((byte, index) => byte ^ mask[index % 4]!));
      pending = pending.subarray(6 + length);
      if (opcode === 8) return void socket.end();
      const answer = Buffer.from(`echo: ${payload.toString()}`);
      if (opcode === 1) socket.write(Buffer.concat([Buffer.from([0x81, answer.length]), answer]));
    }
  });
  socket.on('error', () => {});
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** daebug --proxy on a fresh root; stopped when the file's tests end. */
async function startProxy(target: URL): Promise<Serving & { root: string; entries: DaemonLogEntry[]; at(path: string): string }> {
  let serving: Serving | undefined;
  const root = tempRoot(() => serving?.stop('test finished') ?? Promise.resolve());
  mkdirSync(join(root, 'daebug'));
  const entries: DaemonLogEntry[] = [];
  serving = await serve({ root, port: 0, host: '127.0.0.1', version: '0.0.0-test', timing: TIMING, proxy: target, onLog: (entry) => entries.push(entry) });
  return { ...serving, root, entries, at: (path) => new URL(path, serving!.url).href };
}

const browser: Browser = await launchBrowser();
after(() => browser.close());
const dev = await startDevServer();
after(() => new Promise((resolve) => dev.close(resolve)));
const target = new URL(`http://127.0.0.1:${port(dev)}`);
const daebug = await startProxy(target);

/** Opens a page through daebug and waits until its realm is in the registry. */
async function openRealm(path: string): Promise<{ page: Page; name: string; log: string }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(daebug.at(path));
  await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm, undefined, { timeout: 8000 });
  const name = await page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
  const registry = join(daebug.root, 'daebug.md');
  await waitFor(() => existsSync(registry) && readFileSync(registry, 'utf8').includes(`[${name}]`), `${name} in the registry`, 8000);
  return { page, name, log: join(daebug.root, 'daebug', `${logFileName(name)}.md`) };
}

/** Appends a request to a realm's log and resolves with the reply's fence. */
async function ask(log: string, code: string): Promise<string> {
  writeFileSync(log, `\`\`\`js\n${code}\n\`\`\`\n`);
  let reply = '';
  await waitFor(
    () => {
      reply = /#### (👍|🚫)\S+ at .*\n```\w+\n([\s\S]*?)\n```/u.exec(readText(log))?.slice(1).join(' ') ?? '';
      return reply !== '';
    },
    `the reply in ${log}`,
    8000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n--- log ---\n${readText(log)}`);
  });
  return reply;
}

const { page, name, log } = await openRealm('/');

test('a gzip page of the dev server becomes a realm that runs an agent request from its log', async () => {
  assert.equal(await ask(log, "document.title + ' ' + cart.items.length"), '👍 "dev shop 3"');
  assert.match(readFileSync(join(daebug.root, 'daebug.md'), 'utf8'), new RegExp(`^> daebug proxies ${target.origin.replace(/[.]/g, '\\.')}: open its pages through ${daebug.url}`, 'm'));
  assert.ok(name.length > 0);
});

test('a page comes back decoded, injected, with its length fixed and no stale validators', async () => {
  const answer = await rawRequest(daebug.at('/'), { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['content-encoding'], undefined);
  assert.equal(answer.headers.etag, undefined);
  assert.equal(Number(answer.headers['content-length']), Buffer.byteLength(answer.body));
  assert.match(answer.body, /^<!doctype html><html><head><script type="importmap"[^>]*>.*<\/script><script src="\/-daebug\/client\.js\?t=[\w-]+" nonce="[^"]+"><\/script><title>dev shop<\/title>/);
  const head = await rawRequest(daebug.at('/'), { method: 'HEAD' });
  assert.equal(head.headers['content-length'], undefined, 'a HEAD does not claim the length of the page without the client');
  assert.equal(head.headers.etag, undefined);
});

test('a cookie the dev server sets for its own domain is kept for daebug and sent back', async () => {
  assert.match(await page.evaluate('document.cookie'), /flavour=mint/);
  assert.equal(await page.evaluate(async () => (await fetch('/cookie')).text()), 'flavour=mint');
});

test('a redirect to the dev server comes back to daebug', async () => {
  const [url, text] = await page.evaluate(async () => {
    const answer = await fetch('/old');
    return [answer.url, await answer.text()];
  });
  assert.equal(url, daebug.at('/new?from=old'));
  assert.equal(text, 'new ?from=old');
});

test('request bodies and every method reach the dev server', async () => {
  const answers = await page.evaluate(async () =>
    Promise.all(
      ['POST', 'PUT', 'PATCH', 'DELETE'].map(async (method) => (await fetch('/echo', { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method }) })).text()),
    ),
  );
  assert.deepEqual(answers, ['POST application/json {"method":"POST"}', 'PUT application/json {"method":"PUT"}', 'PATCH application/json {"method":"PATCH"}', 'DELETE application/json {"method":"DELETE"}']);
});

test('a chunked answer arrives whole and stays chunked', async () => {
  assert.equal(await page.evaluate(async () => (await fetch('/chunked')).text()), 'one,two,three');
  const answer = await rawRequest(daebug.at('/chunked'));
  assert.equal(answer.headers['transfer-encoding'], 'chunked');
  assert.equal(answer.body, 'one,two,three');
});

test('server-sent events arrive while the stream stays open', async () => {
  const ticks = await page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const source = new EventSource('/events');
        const got: string[] = [];
        source.onmessage = (event) => {
          got.push(event.data as string);
          if (got.length === 3) {
            source.close();
            resolve(got);
          }
        };
        setTimeout(() => reject(new Error(`only ${JSON.stringify(got)} after 3 s`)), 3000);
      }),
  );
  assert.deepEqual(ticks, ['tick 1', 'tick 2', 'tick 3']);
});

test('a WebSocket to the dev server (hot reload) goes through daebug', async () => {
  const echo = await page.evaluate(
    (host) =>
      new Promise<string>((resolve, reject) => {
        const socket = new WebSocket(`ws://${host}/hmr`);
        socket.onopen = () => socket.send('ping');
        socket.onmessage = (event) => {
          resolve(event.data as string);
          socket.close();
        };
        socket.onerror = () => reject(new Error('the WebSocket failed'));
      }),
    new URL(daebug.url).host,
  );
  assert.equal(echo, 'echo: ping');
});

test('the dev server sees the Host the browser sent, which passed daebug\'s Host check', async () => {
  const count = seen.hosts.length;
  const refused = await rawRequest(daebug.at('/cookie'), { headers: { host: 'rebound.example.com' } });
  assert.equal(refused.status, 403);
  assert.equal(seen.hosts.length, count, 'a refused request never reaches the dev server');
  await rawRequest(daebug.at('/cookie'));
  assert.equal(seen.hosts.at(-1), new URL(daebug.url).host);
});

test('a WebSocket with a foreign Host is refused before it reaches the dev server', async () => {
  const count = seen.hosts.length;
  const status = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(new URL(daebug.url).port), '127.0.0.1', () => {
      socket.write('GET /hmr HTTP/1.1\r\nhost: rebound.example.com\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
    });
    socket.once('data', (data: Buffer) => resolve(data.toString().split('\r\n')[0]!));
    socket.once('error', reject);
  });
  assert.equal(status, 'HTTP/1.1 403 Forbidden');
  assert.equal(seen.hosts.length, count);
});

test("a page whose CSP allows only script-src 'self' still connects and runs requests", async () => {
  const strict = await openRealm('/strict');
  assert.equal(await ask(strict.log, '6 * 7'), '👍 42');
  const policy = (await rawRequest(daebug.at('/strict'))).headers['content-security-policy'];
  assert.match(String(policy), /^default-src 'none'; script-src 'self' 'nonce-[^']+' http:\/\/localhost:\d+\/-daebug\/; connect-src http:\/\/localhost:\d+\/-daebug\/ ws:\/\/localhost:\d+\/-daebug\/$/);
});

test("a page with its own import map keeps it as it was, and daebug's map adds node:test where the page has none", async () => {
  const mapped = await openRealm('/mapped');
  const html = (await rawRequest(daebug.at('/mapped'))).body;
  assert.ok(html.includes('<script type="importmap">{"imports":{"lib":"/lib.mjs","node:test":"/lib.mjs"}}</script><script type="importmap" nonce='), 'the page map untouched, daebug\'s right after it');
  assert.equal(await ask(mapped.log, "(await import('lib')).answer + ' ' + typeof (await import('node:assert')).strictEqual + ' ' + (await import('node:test')).answer"), '👍 "42 function 42"');
});

test('a page whose CSP is in a meta tag still connects and runs requests', async () => {
  const meta = await openRealm('/meta');
  assert.equal(await ask(meta.log, "document.querySelector('title').textContent"), '👍 "meta"');
});

test('a dev server that is down gets a 502 page saying what daebug tried, and one line in the output', async () => {
  const closed = await freePort();
  const lonely = await startProxy(new URL(`http://127.0.0.1:${closed}`));
  const answers = await Promise.all([1, 2, 3].map(() => rawRequest(lonely.at('/app?x=1'))));
  for (const answer of answers) {
    assert.equal(answer.status, 502);
    assert.match(String(answer.headers['content-type']), /^text\/html/);
    assert.ok(answer.body.includes(`GET http://127.0.0.1:${closed}/app?x=1`), answer.body);
    assert.match(answer.body, /ECONNREFUSED/);
  }
  const downLines = lonely.entries.filter((entry) => entry.event === 'proxy' && entry.message.startsWith(`cannot reach http://127.0.0.1:${closed}`));
  assert.equal(downLines.length, 1, JSON.stringify(lonely.entries));
  const tab = await (await browser.newContext()).newPage();
  await tab.goto(lonely.at('/'));
  assert.match((await tab.textContent('h1')) ?? '', /502 Bad Gateway: daebug cannot reach http:\/\/127\.0\.0\.1:\d+/);
});
