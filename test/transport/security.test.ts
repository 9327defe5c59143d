// The access model over real HTTP: every route of the table against every kind of caller (origins
// included: this daemon's, loopback ones, one given with --allow-origin, foreign ones), with the CORS
// headers and preflights each answer must and must not have, on a daemon bound to loopback and on one
// bound to all interfaces; then each finding of the security review that this model closes.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { test } from 'node:test';
import { serve, type Serving } from '../../src/cli/serve.js';
import { ROUTES, routePath, type RouteName, type RouteSpec } from '../../src/protocol/routes.js';
import { isLoopbackOrigin, parseAllowedOrigin } from '../../src/transport/security.js';
import { FAST, startTestDaemon } from '../helpers/daemon.js';
import { rawRequest, startTestServer, type TestServer } from '../helpers/serve.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** Sends a request and resolves at its status line, without waiting for a body (a poll or a run streams). */
function send(url: string, options: { method: string; headers: Record<string, string>; body?: string }): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, method: options.method, path: target.pathname + target.search, headers: options.headers }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.destroy();
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** A daemon with two connected page realms, `tab-a` and `tab-b`, each with its secret. */
interface Setup {
  serving: Serving;
  port: number;
  exposed: boolean;
  secrets: { a: string; b: string };
}

async function connectOverHttp(serving: Serving, port: number, name: string): Promise<string> {
  const response = await fetch(`http://localhost:${port}${ROUTES.connect.path}`, { method: 'POST', headers: { 'x-daebug-token': serving.pageToken }, body: JSON.stringify({ name, url: `http://localhost:${port}/app?session=secret#frag` }) });
  assert.equal(response.status, 200);
  return ((await response.json()) as { secret: string }).secret;
}

async function setUp(host: string): Promise<Setup> {
  let serving: Serving | undefined;
  const root = tempRoot(() => serving?.stop('test finished') ?? Promise.resolve());
  serving = await serve({ root, port: 0, host, version: '0.0.0-test', timing: { ...FAST, pollMs: 300 }, onLog: () => {}, allowedOrigins: [ALLOWED_ORIGIN] });
  const port = serving.server.port;
  const secrets = { a: await connectOverHttp(serving, port, 'tab-a'), b: await connectOverHttp(serving, port, 'tab-b') };
  const worker = await fetch(`http://localhost:${port}${routePath('connectWorker', { realm: 'tab-a' })}`, { method: 'POST', headers: { 'x-daebug-secret': secrets.a }, body: JSON.stringify({ name: 'tab-a-webworker' }) });
  assert.equal(worker.status, 200);
  return { serving, port, exposed: host !== '127.0.0.1', secrets };
}

let unique = 0;
/** A request each route accepts from the right caller (it may still refuse it for its own reasons, never 401 or 403). */
function sample(name: RouteName): { body?: string } {
  switch (name) {
    case 'connect':
      return { body: JSON.stringify({ name: `matrix-${++unique}`, url: 'http://localhost/' }) };
    case 'connectWorker':
      return { body: JSON.stringify({ name: `tab-a-w${++unique}`, url: 'http://localhost/' }) };
    case 'connectNode':
      return { body: JSON.stringify({ name: `node-matrix-${++unique}`, pid: process.pid, command: 'node matrix.js', reconnect: false }) };
    case 'nodeExit':
      return { body: JSON.stringify({ code: 0, events: [] }) };
    case 'result':
      return { body: JSON.stringify({ outcome: { kind: 'value', value: { lang: 'JSON', text: '1' } } }) };
    case 'events':
      return { body: JSON.stringify({ events: [] }) };
    case 'heartbeat':
      return { body: JSON.stringify({ worker: { name: 'tab-a-webworker', state: 'alive' } }) };
    case 'diagnostics':
      return { body: JSON.stringify({ message: 'matrix' }) };
    case 'testProgress':
      return { body: JSON.stringify({ runId: 'none', events: [] }) };
    case 'discoverTests':
      return { body: JSON.stringify({ patterns: ['*.test.js'] }) };
    case 'runTests':
      // A realm that never connects: the run waits, and goes when this request is closed.
      return { body: JSON.stringify({ realm: 'nobody-here', files: ['/a.test.js'] }) };
    default:
      return {};
  }
}

const LOOPBACK_ORIGIN = 'http://localhost:5173';
const ALLOWED_ORIGIN = 'http://app.test:8080';
const FOREIGN_ORIGIN = 'http://evil.example';

type Caller = 'none' | 'wrong' | 'other realm' | 'other token' | 'foreign origin' | 'foreign host' | 'loopback origin' | 'loopback origin, no credential' | 'allowed origin' | 'right';
const CALLERS: Caller[] = ['none', 'wrong', 'other realm', 'other token', 'foreign origin', 'foreign host', 'loopback origin', 'loopback origin, no credential', 'allowed origin', 'right'];

/** The Origin a caller sends, if any. */
function originOf(caller: Caller): string | undefined {
  if (caller === 'foreign origin') return FOREIGN_ORIGIN;
  if (caller === 'loopback origin' || caller === 'loopback origin, no credential') return LOOPBACK_ORIGIN;
  if (caller === 'allowed origin') return ALLOWED_ORIGIN;
  return undefined;
}

/** The headers of each caller for a route: `right` carries the credential its policy asks for. */
function headersOf(caller: Caller, spec: RouteSpec, setup: Setup): Record<string, string> {
  const host = `localhost:${setup.port}`;
  const right: Record<string, string> =
    spec.policy === 'realm' ? { 'x-daebug-secret': setup.secrets.a } : spec.policy === 'page' ? { 'x-daebug-token': setup.serving.pageToken } : spec.policy === 'public' ? {} : { 'x-daebug-token': setup.serving.toolToken };
  switch (caller) {
    case 'none':
      return { host };
    case 'wrong':
      return { host, 'x-daebug-token': 'wrong', 'x-daebug-secret': 'wrong' };
    case 'other realm':
      return { host, 'x-daebug-secret': setup.secrets.b };
    case 'other token':
      // The token a caller of another policy would hold: the page token where the daemon token is
      // asked for and the other way round, and both where a realm secret is.
      return { host, 'x-daebug-token': spec.policy === 'page' ? setup.serving.toolToken : setup.serving.pageToken };
    case 'foreign origin':
      return { host, origin: FOREIGN_ORIGIN, ...right };
    case 'loopback origin':
      return { host, origin: LOOPBACK_ORIGIN, ...right };
    case 'loopback origin, no credential':
      return { host, origin: LOOPBACK_ORIGIN };
    case 'allowed origin':
      return { host, origin: ALLOWED_ORIGIN, ...right };
    case 'foreign host':
      return { host: `evil.example:${setup.port}`, ...right };
    case 'right':
      return { host, ...right };
  }
}

/**
 * The routes pages on other origins use, by what they are rather than by the table's `crossOrigin`
 * flag (which this pins): the realm code they load, the page token, connect and a realm's own routes
 * but the exit request of Node processes; never health, the tool routes or the read routes.
 */
function pagesUse(spec: RouteSpec): boolean {
  if (spec.path.endsWith('/exit')) return false;
  return spec.policy === 'origin' || spec.policy === 'page' || spec.policy === 'realm' || (spec.policy === 'public' && spec.path.endsWith('.js'));
}

/**
 * What the guard must do: let the request through to its handler, refuse it, or not have the route at
 * all. Pages on loopback and allowed origins reach only the routes pages use (`pagesUse`), with the
 * same credentials as daebug's own pages; the tool and read routes stay same-origin.
 */
function expected(caller: Caller, spec: RouteSpec, exposed: boolean): 'through' | 'refused' | 'absent' {
  if (caller === 'foreign host') return 'refused';
  if (spec.loopbackOnly && exposed) return 'absent';
  if (spec.policy === 'public') return 'through';
  if (caller === 'foreign origin') return 'refused';
  const crossOrigin = originOf(caller) !== undefined;
  if (crossOrigin && !pagesUse(spec)) return 'refused';
  if (caller === 'right' || caller === 'loopback origin' || caller === 'allowed origin') return 'through';
  if (spec.policy === 'origin') return 'through';
  if (spec.policy === 'read' && !exposed) return 'through';
  return 'refused';
}

/**
 * The Access-Control-Allow-Origin an answer must carry: the caller's origin on the routes pages use,
 * for loopback and allowed origins, and for a foreign one only on a refusal (so its page can say why);
 * none anywhere else.
 */
function expectedCors(caller: Caller, spec: RouteSpec): string | undefined {
  const origin = originOf(caller);
  if (!pagesUse(spec) || origin === undefined) return undefined;
  if (caller === 'foreign origin') return spec.policy === 'public' ? undefined : origin;
  return origin;
}

for (const host of ['127.0.0.1', '0.0.0.0']) {
  test(`every route applies its policy to every kind of caller (listening on ${host})`, async () => {
    const setup = await setUp(host);
    const policies = new Set(['public', 'origin', 'page', 'realm', 'tool', 'read']);
    const failures: string[] = [];
    for (const [name, spec] of Object.entries(ROUTES) as [RouteName, RouteSpec][]) {
      assert.ok(policies.has(spec.policy), `${name} has no known policy`);
      if ((spec.crossOrigin === true) !== pagesUse(spec)) failures.push(`${name} is ${spec.crossOrigin ? '' : 'not '}marked crossOrigin`);
      for (const caller of CALLERS) {
        const path = routePath(name, { realm: 'tab-a', jobId: 'no-such-job' });
        const answer = await send(`http://127.0.0.1:${setup.port}${path}`, { method: spec.method, headers: headersOf(caller, spec, setup), ...sample(name) });
        const want = expected(caller, spec, setup.exposed);
        const got = answer.status === 404 && want === 'absent' ? 'absent' : answer.status === 401 || answer.status === 403 ? 'refused' : answer.status === 404 && spec.loopbackOnly ? 'absent' : 'through';
        if (got !== want) failures.push(`${spec.method} ${path} from ${caller}: ${answer.status}, wanted ${want}`);
        if (answer.status !== 404 || want !== 'absent') {
          if (answer.headers['x-content-type-options'] !== 'nosniff') failures.push(`${path} from ${caller}: no nosniff`);
          const corp = answer.headers['cross-origin-resource-policy'];
          if (corp !== (caller === 'foreign host' ? 'same-origin' : spec.policy === 'public' && spec.path.endsWith('.js') ? 'cross-origin' : 'same-origin')) failures.push(`${path} from ${caller}: CORP ${String(corp)}`);
        }
        const cors = caller === 'foreign host' || want === 'absent' ? undefined : expectedCors(caller, spec);
        const allowOrigin = answer.headers['access-control-allow-origin'];
        if (allowOrigin !== cors) failures.push(`${spec.method} ${path} from ${caller}: Access-Control-Allow-Origin ${String(allowOrigin)}, wanted ${String(cors)}`);
        if (cors !== undefined && !/\bOrigin\b/.test(String(answer.headers.vary))) failures.push(`${path} from ${caller}: no Vary: Origin`);
        if (answer.headers['access-control-allow-credentials'] !== undefined) failures.push(`${path} from ${caller}: allows credentials`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test(`preflights are answered only for the routes pages use, and only to allowed origins (listening on ${host})`, async () => {
    const setup = await setUp(host);
    const failures: string[] = [];
    for (const [name, spec] of Object.entries(ROUTES) as [RouteName, RouteSpec][]) {
      const path = routePath(name, { realm: 'tab-a', jobId: 'no-such-job' });
      for (const origin of [LOOPBACK_ORIGIN, ALLOWED_ORIGIN, 'http://127.0.0.1:3000', 'http://[::1]:3000', 'http://shop.localhost:3000', FOREIGN_ORIGIN, 'null']) {
        const headers = { host: `localhost:${setup.port}`, origin, 'access-control-request-method': spec.method, 'access-control-request-headers': 'content-type,x-daebug-secret,x-daebug-token' };
        const answer = await send(`http://127.0.0.1:${setup.port}${path}`, { method: 'OPTIONS', headers });
        const allowed = pagesUse(spec) && !(spec.loopbackOnly && setup.exposed) && origin !== FOREIGN_ORIGIN && origin !== 'null';
        const allowOrigin = answer.headers['access-control-allow-origin'];
        if (!allowed) {
          if (allowOrigin !== undefined || answer.status < 400) failures.push(`OPTIONS ${path} from ${origin}: ${answer.status} with ${String(allowOrigin)}, wanted a refusal`);
          continue;
        }
        const allowHeaders = String(answer.headers['access-control-allow-headers']).split(/,\s*/);
        if (answer.status !== 204 || allowOrigin !== origin) failures.push(`OPTIONS ${path} from ${origin}: ${answer.status} with ${String(allowOrigin)}`);
        if (!['content-type', 'x-daebug-secret', 'x-daebug-token'].every((header) => allowHeaders.includes(header))) failures.push(`OPTIONS ${path}: allows headers ${allowHeaders.join(', ')}`);
        if (!String(answer.headers['access-control-allow-methods']).includes(spec.method)) failures.push(`OPTIONS ${path}: allows methods ${String(answer.headers['access-control-allow-methods'])}`);
      }
    }
    assert.deepEqual(failures, []);
  });
}

test('loopback origins are http(s) on localhost, *.localhost, 127.x.x.x and [::1], as browsers send them; nothing else is', () => {
  for (const origin of ['http://localhost:3000', 'https://localhost', 'http://127.0.0.1:8080', 'http://127.1.2.3', 'http://[::1]:5173', 'http://app.localhost:3000', 'https://a.b.localhost']) {
    assert.equal(isLoopbackOrigin(origin), true, origin);
  }
  for (const origin of ['http://localhost.evil.example', 'http://127.0.0.1.nip.io', 'http://localtest.me', 'http://evil-localhost', 'null', 'file://', 'ftp://localhost', 'http://localhost:3000/', 'http://LOCALHOST:3000', 'http://user@localhost', 'http://[::ffff:7f00:1]', 'http://0.0.0.0:3000', 'http://2130706433', '']) {
    assert.equal(isLoopbackOrigin(origin), false, origin);
  }
});

test('--allow-origin takes an http(s) origin and keeps it as browsers send it', () => {
  assert.equal(parseAllowedOrigin('http://app.test:3000'), 'http://app.test:3000');
  assert.equal(parseAllowedOrigin('HTTPS://App.Test:443/'), 'https://app.test');
  for (const text of ['*', 'null', 'app.test:3000', 'http://app.test/path', 'http://app.test/?q', 'http://user@app.test', 'file:///tmp', 'ws://app.test']) {
    assert.equal(parseAllowedOrigin(text), null, text);
  }
});

test('a page on a foreign origin reads why it is refused; the daemon says so once per origin', async () => {
  const entries: string[] = [];
  let serving: Serving | undefined;
  const root = tempRoot(() => serving?.stop('test finished') ?? Promise.resolve());
  serving = await serve({ root, port: 0, host: '127.0.0.1', version: '0.0.0-test', timing: FAST, onLog: (entry) => entries.push(entry.message) });
  const host = `localhost:${serving.server.port}`;
  const ask = (origin: string, path: string = ROUTES.pageToken.path, headers: Record<string, string> = {}) => rawRequest(`http://127.0.0.1:${serving!.server.port}${path}`, { headers: { host, origin, ...headers } });
  for (let attempt = 0; attempt < 3; attempt++) {
    const refused = await ask(FOREIGN_ORIGIN);
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['access-control-allow-origin'], FOREIGN_ORIGIN, 'the refusal is readable by the page');
    const body = JSON.parse(refused.body) as { code: string; error: string };
    assert.equal(body.code, 'ERR_ORIGIN');
    assert.match(body.error, /^refused a page on http:\/\/evil\.example: .*--allow-origin http:\/\/evil\.example/);
    assert.ok(!refused.body.includes(serving.pageToken));
  }
  const toolRoute = await ask(FOREIGN_ORIGIN, ROUTES.realms.path, { 'x-daebug-token': serving.toolToken });
  assert.equal(toolRoute.status, 403);
  assert.equal(toolRoute.headers['access-control-allow-origin'], undefined, 'a tool route answers no other origin, not even its refusal');
  assert.equal(entries.filter((line) => line.includes('refused a page on http://evil.example')).length, 1, entries.join('\n'));
  await ask('http://other.example');
  assert.equal(entries.filter((line) => line.startsWith('refused a page on ')).length, 2, 'another origin gets its own line');
  const loopback = await ask(LOOPBACK_ORIGIN);
  assert.equal(loopback.status, 200);
  assert.equal(loopback.headers['access-control-allow-origin'], LOOPBACK_ORIGIN);
  assert.equal((JSON.parse(loopback.body) as { token: string }).token, serving.pageToken);
});

test('a loopback Origin does not let a foreign Host in (DNS rebinding)', async () => {
  const rebound = await rawRequest(server.at(ROUTES.pageToken.path), { headers: { host: `evil.example:${server.server.port}`, origin: LOOPBACK_ORIGIN } });
  assert.equal(rebound.status, 403);
  assert.equal(rebound.headers['access-control-allow-origin'], undefined);
  assert.ok(!rebound.body.includes(server.pageToken));
});

test('a path under /-daebug/ that is not in the table is not served from the folder', async () => {
  const server = await startTestServer((root) => {
    mkdirSync(`${root}/-daebug`);
    writeFileSync(`${root}/-daebug/secret.txt`, 'x');
  });
  const answer = await fetch(server.at('/-daebug/secret.txt'));
  assert.equal(answer.status, 404);
  assert.equal(((await answer.json()) as { code: string }).code, 'ERR_NO_ROUTE');
});

const server: TestServer = await startTestServer();
const connect = async (name: string, url = 'http://localhost/') => {
  const response = await fetch(server.at(ROUTES.connect.path), { method: 'POST', headers: { 'x-daebug-token': server.pageToken }, body: JSON.stringify({ name, url }) });
  return { status: response.status, body: (await response.json()) as { realm: string; secret: string; code?: string } };
};
const tool = (path: string, init: RequestInit = {}) => fetch(server.at(path), { ...init, headers: { 'x-daebug-token': server.toolToken, 'content-type': 'application/json' } });

test('a test run takes only paths on this server: no other origin, data: URL or protocol-relative URL (finding 1)', async () => {
  await connect('tab-runs');
  for (const file of ['http://127.0.0.1:9/evil.js', 'data:text/javascript,alert(1)', '//evil.example/x.js', '/\\evil.example/x.js', 'javascript:alert(1)', 'evil.js']) {
    const response = await tool(ROUTES.runTests.path, { method: 'POST', body: JSON.stringify({ realm: 'tab-runs', files: [file] }) });
    assert.equal(response.status, 400, file);
  }
  const anonymous = await fetch(server.at(ROUTES.runTests.path), { method: 'POST', body: JSON.stringify({ realm: 'tab-runs', files: ['/a.test.js'] }) });
  assert.equal(anonymous.status, 401, 'no run without the daemon token');
  const withPageToken = await fetch(server.at(ROUTES.realms.path), { headers: { 'x-daebug-token': server.pageToken } });
  assert.equal(withPageToken.status, 401, 'the page token does not list realms');
});

test('a name that is connected is given only to whoever holds its secret (finding 5)', async () => {
  const first = await connect('tab-owned');
  assert.equal(first.status, 200);
  const thief = await connect('tab-owned');
  assert.equal(thief.status, 409);
  assert.equal(thief.body.code, 'ERR_REALM_TAKEN');
  const reload = await fetch(server.at(ROUTES.connect.path), { method: 'POST', headers: { 'x-daebug-token': server.pageToken }, body: JSON.stringify({ name: 'tab-owned', secret: first.body.secret }) });
  assert.equal(reload.status, 200, 'a reloaded page keeps its name');
  const renewed = ((await reload.json()) as { secret: string }).secret;
  assert.notEqual(renewed, first.body.secret);
  const old = await fetch(server.at(routePath('poll', { realm: 'tab-owned' })), { headers: { 'x-daebug-secret': first.body.secret } });
  assert.equal(old.status, 401, 'the old secret is gone');
});

test("a page connects only workers named after itself, and only it reports on them (finding 5)", async () => {
  const page = await connect('tab-parent');
  const other = await connect('tab-other');
  const asPage = (path: string, body: unknown, secret = page.body.secret) => fetch(server.at(path), { method: 'POST', headers: { 'x-daebug-secret': secret }, body: JSON.stringify(body) });
  assert.equal((await asPage(routePath('connectWorker', { realm: 'tab-parent' }), { name: 'tab-other-webworker' })).status, 400, 'not a worker of this page');
  const worker = await asPage(routePath('connectWorker', { realm: 'tab-parent' }), { name: 'tab-parent-webworker' });
  assert.equal(worker.status, 200);
  const forged = await asPage(routePath('heartbeat', { realm: 'tab-other' }), { worker: { name: 'tab-parent-webworker', state: 'restarted' } }, other.body.secret);
  assert.equal(forged.status, 403, "another page cannot restart this page's worker");
  const stolen = await asPage(routePath('connectWorker', { realm: 'tab-other' }), { name: 'tab-other-x' }, page.body.secret);
  assert.equal(stolen.status, 401, "a page cannot connect workers for another page");
});

test('the realm list shows a page by origin and path, never its query string or fragment (finding 9)', async () => {
  await connect('tab-private', 'http://localhost:1234/account?session=s3cret#token=t0ken');
  const realms = (await (await tool(ROUTES.realms.path)).json()) as { name: string; url: string }[];
  assert.equal(realms.find((realm) => realm.name === 'tab-private')?.url, 'http://localhost:1234/account');
});

test('on an exposed daemon the page token does not read logs or the registry; the daemon token does (finding 2)', async () => {
  const setup = await setUp('0.0.0.0');
  for (const path of [ROUTES.registry.path, routePath('log', { realm: 'tab-a' })]) {
    assert.equal((await fetch(`http://localhost:${setup.port}${path}`, { headers: { 'x-daebug-token': setup.serving.pageToken } })).status, 401, path);
    assert.equal((await fetch(`http://localhost:${setup.port}${path}?t=${setup.serving.pageToken}`)).status, 401, path);
    assert.notEqual((await fetch(`http://localhost:${setup.port}${path}`, { headers: { 'x-daebug-token': setup.serving.toolToken } })).status, 401, path);
  }
});

test('job ids never repeat across daemon runs: a result from the previous run is refused, the new job gets its own (finding 5)', async () => {
  let serving: Serving | undefined;
  const root = tempRoot(() => serving?.stop('test finished') ?? Promise.resolve());
  mkdirSync(`${root}/daebug`);
  const start = async () => serve({ root, port: 0, host: '127.0.0.1', version: '0.0.0-test', timing: FAST, onLog: () => {} });
  const takeJob = async (running: Serving) => {
    const base = running.url.replace(/\/$/, '');
    const connected = (await (await fetch(`${base}${ROUTES.connect.path}`, { method: 'POST', headers: { 'x-daebug-token': running.pageToken }, body: JSON.stringify({ name: 'tab' }) })).json()) as { secret: string };
    for (;;) {
      const answer = (await (await fetch(`${base}${routePath('poll', { realm: 'tab' })}`, { headers: { 'x-daebug-secret': connected.secret } })).json()) as { type: string; jobId: string };
      if (answer.type === 'job') return { base, jobId: answer.jobId, secret: connected.secret };
    }
  };
  const post = (job: { base: string; jobId: string; secret: string }, text: string) =>
    fetch(`${job.base}${routePath('result', { realm: 'tab', jobId: job.jobId })}`, { method: 'POST', headers: { 'x-daebug-secret': job.secret }, body: JSON.stringify({ outcome: { kind: 'value', value: { lang: 'JSON', text } } }) });
  serving = await start();
  writeFileSync(`${root}/daebug/tab.md`, '```js\n"old run"\n```\n');
  const oldJob = await takeJob(serving);
  await serving.stop('restart');
  serving = await start();
  appendFileSync(`${root}/daebug/tab.md`, '\n```js\n"new run"\n```\n');
  const newJob = await takeJob(serving);
  assert.notEqual(newJob.jobId, oldJob.jobId);
  const stale = await post({ ...newJob, jobId: oldJob.jobId }, '"tok-1 (old run)"');
  assert.equal(stale.status, 409, 'the old run result is refused');
  assert.equal((await post(newJob, '"tok-2 (new run)"')).status, 200);
  await waitFor(() => readFileSync(`${root}/daebug/tab.md`, 'utf8').includes('tok-2 (new run)'), 'the new reply');
  const text = readFileSync(`${root}/daebug/tab.md`, 'utf8');
  assert.ok(!text.includes('tok-1'), text);
  assert.ok(/^[\w-]{12}$/.test(newJob.jobId), `an unguessable id: ${newJob.jobId}`);
});

test('test runs for a realm that never connects are capped, and fail and go after a while (finding 4)', async () => {
  const t = await startTestDaemon({ testRunWaitMs: 300 });
  const files = Array.from({ length: 1000 }, (_, index) => `/tests/${index}.test.js`);
  const handles = Array.from({ length: 4 }, () => t.daemon.runTests('never-connects', files, 1000));
  assert.ok(handles.every((handle) => handle.ok));
  const fifth = t.daemon.runTests('never-connects', files, 1000);
  assert.equal(fifth.ok, false, 'a fifth waiting run for one realm is refused');
  assert.equal(!fifth.ok && fifth.code, 'ERR_BUSY');
  const ends = handles.map(
    (handle) =>
      new Promise<string>((resolve) => {
        if (!handle.ok) return;
        let failure = '';
        handle.subscribe((event) => {
          if (event.kind === 'fail') failure = event.error;
          if (event.kind === 'end') resolve(failure);
        });
      }),
  );
  assert.match((await Promise.all(ends))[0]!, /no realm named never-connects took the run within 0 s/);
  assert.ok(t.daemon.runTests('never-connects', files, 1000).ok, 'the expired runs made room');
  for (let index = 0; index < 16; index++) t.daemon.runTests(`realm-${index}`, ['/a.test.js'], 1000);
  assert.equal(t.daemon.runTests('realm-17', ['/a.test.js'], 1000).ok, false, 'at most 16 runs wait in all');
});

test('a waiting run whose caller went away is dropped (finding 4)', async () => {
  const t = await startTestDaemon();
  const handle = t.daemon.runTests('gone-caller', ['/a.test.js'], 1000);
  assert.ok(handle.ok);
  handle.cancel();
  for (let index = 0; index < 4; index++) assert.ok(t.daemon.runTests('gone-caller', ['/a.test.js'], 1000).ok, `run ${index + 1} of 4 has room`);
});

test('test progress is checked field by field: a malformed event is a 400, not a crash further in', async () => {
  const { body } = await connect('tab-progress');
  const progress = (events: unknown) => fetch(server.at(routePath('testProgress', { realm: 'tab-progress' })), { method: 'POST', headers: { 'x-daebug-secret': body.secret }, body: JSON.stringify({ runId: 'r', events }) });
  for (const events of [[{ kind: 'pass', path: 5 }], [{ kind: 'fail', path: ['a'] }], [{ kind: 'evil' }], 'x', [{ kind: 'start', path: [{}] }]]) {
    assert.equal((await progress(events)).status, 400, JSON.stringify(events));
  }
  assert.equal((await progress([{ kind: 'pass', path: ['a'], durationMs: 1 }])).status, 409, 'well formed, for a run it was not given');
  assert.ok(!server.entries.some((entry) => /ERR_INTERNAL|TypeError/.test(entry.message)));
});
