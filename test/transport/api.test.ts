// The realm and read APIs over real HTTP: tokens, hosts, origins, limits, malformed bodies and a job
// from request to reply. None of it may crash the daemon.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rawRequest, startTestServer } from '../helpers/serve.js';
import { waitFor } from '../helpers/temp.js';

const server = await startTestServer();
const realmUrl = (realm: string, path: string, token = server.token) => server.at(`/-daebug/realms/${realm}${path}?t=${token}`);
const post = (url: string, body: unknown) => fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'text/plain' } });

test('health answers with the daemon counts', async () => {
  const health = (await (await fetch(server.at('/-daebug/health'))).json()) as Record<string, unknown>;
  assert.equal(health.ok, true);
  assert.equal(health.version, '0.0.0-test');
  assert.equal(health.root, server.root);
  assert.equal(health.port, server.server.port);
  for (const key of ['uptimeMs', 'realms', 'jobsRunning', 'jobsQueued']) assert.equal(typeof health[key], 'number', key);
});

test('a job goes from the log to a polling realm and its result back into the log', async () => {
  const polled = fetch(realmUrl('tab-1', '/poll') + '&kind=page&url=' + encodeURIComponent('http://localhost/'));
  const realms = async () => ((await (await fetch(server.at('/-daebug/health'))).json()) as { realms: number }).realms;
  await waitFor(async () => (await realms()) === 1, 'the realm to register');
  writeFileSync(join(server.root, 'daebug', 'tab-1.md'), '```js\nlet x = 5; x * 2\n```\n');
  const job = (await (await polled).json()) as { type: string; jobId: string; code: string; body: string };
  assert.equal(job.type, 'job');
  assert.equal(job.code, 'let x = 5; x * 2');
  assert.equal(job.body, 'x = 5; return (x * 2);');
  const accepted = await post(realmUrl('tab-1', `/jobs/${job.jobId}/result`), { outcome: { kind: 'value', value: { lang: 'JSON', text: '10' } }, durationMs: 1, events: [] });
  assert.equal(accepted.status, 200);
  const log = async () => (await fetch(server.at('/-daebug/logs/tab-1'))).text();
  await waitFor(async () => (await log()).includes('```JSON\n10\n```'), 'the reply in the log');
  const again = await post(realmUrl('tab-1', `/jobs/${job.jobId}/result`), { outcome: { kind: 'value', value: { lang: 'JSON', text: '10' } } });
  assert.equal(again.status, 409, 'a second result for the same job is refused');
});

test('the realm API needs the run token', async () => {
  assert.equal((await fetch(realmUrl('tab-2', '/poll', 'wrong'))).status, 401);
  assert.equal((await fetch(server.at('/-daebug/realms/tab-2/poll'))).status, 401);
  assert.equal((await post(realmUrl('tab-2', '/events', 'wrong'), { events: [] })).status, 401);
});

test('malformed bodies get 400 with a reason, big ones 413, unknown realms 404', async () => {
  const malformed = await post(realmUrl('tab-1', '/events'), '{not json');
  assert.equal(malformed.status, 400);
  assert.match(((await malformed.json()) as { error: string }).error, /^malformed JSON/);
  const wrongShape = await post(realmUrl('tab-1', '/events'), { events: [{ source: 'nonsense', lang: 'Text', text: 'x' }] });
  assert.equal(wrongShape.status, 400);
  const big = await rawRequest(realmUrl('tab-1', '/events'), { method: 'POST', headers: { 'content-length': String(17 * 1024 * 1024) }, body: '' });
  assert.equal(big.status, 413);
  const unknown = await post(realmUrl('nobody', '/events'), { events: [] });
  assert.equal(unknown.status, 404);
});

test('requests for another Host are refused (DNS rebinding)', async () => {
  const foreign = await rawRequest(server.at('/-daebug/health'), { headers: { host: 'evil.example:1234' } });
  assert.equal(foreign.status, 403);
  for (const host of [`localhost:${server.server.port}`, `127.0.0.1:${server.server.port}`, `[::1]:${server.server.port}`]) {
    assert.equal((await rawRequest(server.at('/-daebug/health'), { headers: { host } })).status, 200, host);
  }
});

test('cross-origin mutations without the token are refused', async () => {
  const response = await rawRequest(server.at('/-daebug/realms/tab-1/events'), { method: 'POST', headers: { origin: 'http://evil.example', host: `localhost:${server.server.port}` }, body: '{"events":[]}' });
  assert.equal(response.status, 403);
});

test('the registry and a missing log are readable over HTTP', async () => {
  const registry = await fetch(server.at('/-daebug/registry'));
  assert.equal(registry.status, 200);
  assert.match(await registry.text(), /^# 👾 daebug: /);
  assert.equal((await fetch(server.at('/-daebug/logs/nope'))).status, 404);
});

test('the client scripts are served', async () => {
  for (const path of ['/-daebug/client.js', '/-daebug/worker.js']) {
    const response = await fetch(server.at(path));
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type') ?? '', /javascript/);
    assert.match(await response.text(), /daebug/);
  }
});

test("a client's report of its own failure reaches the daemon console", async () => {
  const response = await post(realmUrl('tab-1', '/diagnostics'), { message: 'could not record an event' });
  assert.equal(response.status, 200);
  assert.ok(server.entries.some((entry) => entry.level === 'warn' && entry.message === 'tab-1: could not record an event'));
});

test('after all of that the daemon is still healthy', async () => {
  assert.equal(((await (await fetch(server.at('/-daebug/health'))).json()) as { ok: boolean }).ok, true);
  assert.ok(!server.entries.some((entry) => /internal error|TypeError|ERR_INTERNAL/.test(entry.message)), server.entries.map((entry) => entry.message).join('\n'));
});
