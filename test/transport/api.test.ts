// The realm, read and test-discovery APIs over real HTTP: connecting, secrets, hosts, origins,
// limits, malformed bodies, a refused test pattern and a job from request to reply. None of it may
// crash the daemon.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rawRequest, startTestServer } from '../helpers/serve.js';
import { waitFor } from '../helpers/temp.js';

const server = await startTestServer();
const secrets = new Map<string, string>();
/** Connects a page realm over HTTP with the page token and keeps its secret. */
const connect = async (name: string) => {
  const response = await fetch(server.at('/-daebug/connect'), { method: 'POST', headers: { 'x-daebug-token': server.pageToken }, body: JSON.stringify({ name, url: 'http://localhost/' }) });
  assert.equal(response.status, 200, await response.clone().text());
  const answer = (await response.json()) as { realm: string; secret: string };
  secrets.set(name, answer.secret);
  return answer.secret;
};
const realmUrl = (realm: string, path: string) => server.at(`/-daebug/realms/${realm}${path}`);
const withSecret = (realm: string) => ({ 'x-daebug-secret': secrets.get(realm) ?? 'none' });
const post = (url: string, body: unknown, realm = /\/realms\/([^/]+)\//.exec(url)?.[1] ?? '') =>
  fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'text/plain', ...withSecret(realm) } });

test('health answers with the daemon counts', async () => {
  const health = (await (await fetch(server.at('/-daebug/health'))).json()) as Record<string, unknown>;
  assert.equal(health.ok, true);
  assert.equal(health.version, '0.0.0-test');
  assert.equal(health.root, server.root);
  assert.equal(health.port, server.server.port);
  for (const key of ['uptimeMs', 'realms', 'jobsRunning', 'jobsQueued']) assert.equal(typeof health[key], 'number', key);
});

test('a job goes from the log to a polling realm and its result back into the log', async () => {
  await connect('tab-1');
  const polled = fetch(realmUrl('tab-1', '/poll'), { headers: withSecret('tab-1') });
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

test('the realm API needs the realm secret, and connecting needs the page token', async () => {
  await connect('tab-2');
  assert.equal((await fetch(realmUrl('tab-2', '/poll'), { headers: { 'x-daebug-secret': 'wrong' } })).status, 401);
  assert.equal((await fetch(realmUrl('tab-2', '/poll'))).status, 401);
  assert.equal((await fetch(realmUrl('tab-2', '/poll') + `?t=${server.pageToken}`)).status, 401, 'the page token is not a realm secret');
  const refused = await fetch(server.at('/-daebug/connect'), { method: 'POST', headers: { 'x-daebug-token': 'wrong' }, body: JSON.stringify({ name: 'tab-9' }) });
  assert.equal(refused.status, 401);
});

test('malformed bodies get 400 with a reason, big ones 413, unknown realms 404', async () => {
  const malformed = await post(realmUrl('tab-1', '/events'), '{not json');
  assert.equal(malformed.status, 400);
  assert.match(((await malformed.json()) as { error: string }).error, /^malformed JSON/);
  const wrongShape = await post(realmUrl('tab-1', '/events'), { events: [{ source: 'nonsense', lang: 'Text', text: 'x' }] });
  assert.equal(wrongShape.status, 400);
  const big = await rawRequest(realmUrl('tab-1', '/events'), { method: 'POST', headers: { 'content-length': String(17 * 1024 * 1024), ...withSecret('tab-1') }, body: '' });
  assert.equal(big.status, 413);
  const unknown = await post(realmUrl('nobody', '/events'), { events: [] });
  assert.equal(unknown.status, 401, 'a realm that never connected has no secret to give');
});

test('requests for another Host are refused (DNS rebinding)', async () => {
  const foreign = await rawRequest(server.at('/-daebug/health'), { headers: { host: 'evil.example:1234' } });
  assert.equal(foreign.status, 403);
  for (const host of [`localhost:${server.server.port}`, `127.0.0.1:${server.server.port}`, `[::1]:${server.server.port}`]) {
    assert.equal((await rawRequest(server.at('/-daebug/health'), { headers: { host } })).status, 200, host);
  }
});

test('cross-origin requests are refused, even with the secret', async () => {
  const response = await rawRequest(server.at('/-daebug/realms/tab-1/events'), { method: 'POST', headers: { origin: 'http://evil.example', host: `localhost:${server.server.port}`, ...withSecret('tab-1') }, body: '{"events":[]}' });
  assert.equal(response.status, 403);
});

test('the registry and a missing log are readable over HTTP', async () => {
  const registry = await fetch(server.at('/-daebug/registry'));
  assert.equal(registry.status, 200);
  assert.match(await registry.text(), /^# 👾 daebug: /);
  assert.equal((await fetch(server.at('/-daebug/logs/nope'))).status, 404);
});

test('the client scripts are served', async () => {
  for (const [path, content] of [['/-daebug/client.js', /daebug/], ['/-daebug/worker.js', /daebug/], ['/-daebug/evaluate.js', /export \{\s*compileJob\s*\}/]] as const) {
    const response = await fetch(server.at(path));
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type') ?? '', /javascript/);
    assert.match(await response.text(), content);
  }
});

test('the client scripts may be cached but are asked for again: a reload gets a 304 for an unchanged script', async () => {
  const first = await fetch(server.at('/-daebug/client.js?t=abc'));
  const etag = first.headers.get('etag');
  assert.ok(etag, 'an ETag');
  assert.equal(first.headers.get('cache-control'), 'no-cache');
  const again = await fetch(server.at('/-daebug/client.js?t=abc'), { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), '');
  const other = await fetch(server.at('/-daebug/worker.js'), { headers: { 'if-none-match': etag } });
  assert.equal(other.status, 200, "another script's ETag is not this one's");
});

test("a client's report of its own failure reaches the daemon console", async () => {
  const response = await post(realmUrl('tab-1', '/diagnostics'), { message: 'could not record an event' });
  assert.equal(response.status, 200);
  assert.ok(server.entries.some((entry) => entry.level === 'warn' && entry.message === 'tab-1: could not record an event'));
});

test('POST /-daebug/tests/discover answers a refused pattern with 400 and the reason', async () => {
  const response = await fetch(server.at('/-daebug/tests/discover'), { method: 'POST', headers: { 'x-daebug-token': server.toolToken }, body: JSON.stringify({ patterns: ['{/etc/*,x}'] }) });
  assert.equal(response.status, 400);
  const body = (await response.json()) as { code: string; error: string };
  assert.equal(body.code, 'ERR_BAD_PATTERN');
  assert.match(body.error, /^test pattern "\{\/etc\/\*,x\}" is refused: "\/etc\/\*" is absolute/);
  const fine = await fetch(server.at('/-daebug/tests/discover'), { method: 'POST', headers: { 'x-daebug-token': server.toolToken }, body: JSON.stringify({ patterns: ['**/*.test.js'] }) });
  assert.deepEqual(await fine.json(), { files: [], capped: false });
});

test('after all of that the daemon is still healthy', async () => {
  assert.equal(((await (await fetch(server.at('/-daebug/health'))).json()) as { ok: boolean }).ok, true);
  assert.ok(!server.entries.some((entry) => /internal error|TypeError|ERR_INTERNAL/.test(entry.message)), server.entries.map((entry) => entry.message).join('\n'));
});
