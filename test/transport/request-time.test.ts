// Every request has a time to arrive whole (issue 23): one whose body trickles in is answered 408 and
// its connection closed, so a caller cannot hold the daemon's connections open for good. A Node
// realm's exit request, whose body comes when its process exits, is the one without a limit.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startTestServer } from '../helpers/serve.js';

const LIMIT_MS = 300;
const server = await startTestServer(undefined, {}, { requestTimeoutMs: LIMIT_MS });
const { port } = new URL(server.url);

/** Sends a request head promising a body of 100 bytes and only the first of them; resolves with what came back and how long the connection stayed open. */
function trickle(path: string, headers: Record<string, string> = {}, waitMs = 3 * LIMIT_MS): Promise<{ answer: string; closedAfterMs: number | null }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    let closedAfterMs: number | null = null;
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('close', () => (closedAfterMs = Date.now() - started));
    socket.on('error', () => {});
    const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: text/plain', 'Content-Length: 100', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n{`);
    setTimeout(() => {
      socket.destroy();
      resolve({ answer, closedAfterMs });
    }, waitMs);
  });
}

test('a request whose body does not arrive in time gets 408 and its connection closed', async () => {
  const { answer, closedAfterMs } = await trickle('/-daebug/connect', { 'x-daebug-token': server.pageToken });
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.match(answer, /ERR_REQUEST_TIMEOUT/);
  assert.ok(closedAfterMs !== null && closedAfterMs >= LIMIT_MS, `closed after ${closedAfterMs} ms`);
});

test("a Node realm's exit request has no limit: it stays open", async () => {
  const connected = await fetch(server.at('/-daebug/node'), { method: 'POST', headers: { 'x-daebug-token': server.toolToken }, body: JSON.stringify({ name: 'node-app', pid: process.pid, command: 'node app.mjs' }) });
  assert.equal(connected.status, 200);
  const { realm, secret } = (await connected.json()) as { realm: string; secret: string };
  const { answer, closedAfterMs } = await trickle(`/-daebug/realms/${realm}/exit`, { 'x-daebug-secret': secret });
  assert.equal(answer, '', 'nothing answered yet');
  assert.equal(closedAfterMs, null, 'still open');
});
