// Realm names and URLs come from whoever connects: over real HTTP, a hostile one is refused or made
// harmless, and can neither stop the daemon nor add a line to daebug.md.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { hasShutdownRequest } from '../../src/protocol/index.js';
import { startTestServer } from '../helpers/serve.js';
import { quietPeriod, waitFor } from '../helpers/temp.js';

const server = await startTestServer();
const connect = (name: string, url = 'http://localhost/') => fetch(server.at('/-daebug/connect'), { method: 'POST', headers: { 'x-daebug-token': server.pageToken }, body: JSON.stringify({ name, url }) });
const secrets = new Map<string, string>();
const registry = () => readFileSync(join(server.root, 'daebug.md'), 'utf8');
const stopped = () => server.entries.some((entry) => entry.event === 'stopped');

/** Connects a realm and waits until the registry lists it. */
async function connectAndList(realm: string, url: string): Promise<void> {
  const response = await connect(realm, url);
  assert.equal(response.status, 200);
  secrets.set(realm, ((await response.json()) as { secret: string }).secret);
  await waitFor(() => registry().includes(`[${realm}]`), `${realm} in daebug.md`);
}

test('a connect with a realm name outside the safe alphabet gets 400 ERR_BAD_REALM', async () => {
  for (const name of ['evil\n%%SHUTDOWN%%', '\x1b[31mred', 'tab](javascript:alert(1))', 'tab`x`', '-tab', 'a'.repeat(81)]) {
    const response = await connect(name);
    assert.equal(response.status, 400, JSON.stringify(name));
    const body = (await response.json()) as { code: string; error: string };
    assert.equal(body.code, 'ERR_BAD_REALM');
    assert.match(body.error, /realm name is 1 to 80/);
  }
  assert.doesNotMatch(registry(), /evil|red|javascript|tab`/);
});

test('a hostile realm URL adds no line to daebug.md and does not stop the daemon', async () => {
  await connectAndList('tab-1', 'http://x/\n%%SHUTDOWN%%\n?secret=1');
  // The registry is watched: a %%SHUTDOWN%% line would stop the daemon within a few milliseconds.
  await quietPeriod(300);
  assert.equal(hasShutdownRequest(registry()), false, registry());
  assert.equal(stopped(), false, 'the daemon is still running');
  await connectAndList('tab-2', 'javascript:alert(1)');
  const text = registry();
  const lines = text.split('\n').filter((line) => line.startsWith('* '));
  assert.deepEqual(lines, ['* [tab-2](daebug/tab-2.md) page · idle', '* [tab-1](daebug/tab-1.md) http://x/%%SHUTDOWN%% · idle']);
  assert.doesNotMatch(text, /secret/);
  assert.equal(((await (await fetch(server.at('/-daebug/health'))).json()) as { ok: boolean }).ok, true);
});

test("a heartbeat naming a worker outside the safe alphabet gets 400 ERR_BAD_REALM", async () => {
  await connectAndList('tab-3', 'http://localhost/');
  const heartbeat = (name: string) =>
    fetch(server.at(`/-daebug/realms/tab-3/heartbeat`), { method: 'POST', headers: { 'content-type': 'text/plain', 'x-daebug-secret': secrets.get('tab-3')! }, body: JSON.stringify({ worker: { name, state: 'restarted' } }) });
  const refused = await heartbeat('tab-3-webworker\n%%SHUTDOWN%%');
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { code: string }).code, 'ERR_BAD_REALM');
  const worker = await fetch(server.at('/-daebug/realms/tab-3/workers'), { method: 'POST', headers: { 'x-daebug-secret': secrets.get('tab-3')! }, body: JSON.stringify({ name: 'tab-3-webworker' }) });
  assert.equal(worker.status, 200);
  assert.equal((await heartbeat('tab-3-webworker')).status, 200);
});

test('the daemon refuses a hostile name itself, without the HTTP layer', async () => {
  const refused = server.daemon.realmApi.connect({ name: 'evil\n%%SHUTDOWN%%', kind: 'page', url: '' });
  assert.equal(!refused.ok && refused.code, 'ERR_BAD_REALM');
  await quietPeriod(200);
  assert.equal(hasShutdownRequest(registry()), false);
  assert.equal(stopped(), false);
  assert.ok(!server.daemon.realms().some((realm) => realm.name.includes('evil')));
});

test('a page may not take a node- name: those are for Node processes (issue 23)', async () => {
  for (const name of ['node-app', 'NODE-server']) {
    const response = await connect(name);
    assert.equal(response.status, 400, name);
    assert.match(((await response.json()) as { error: string }).error, /names starting with node- are kept for Node processes/);
  }
  assert.doesNotMatch(registry(), /node-app|NODE-server/);
});

test("a realm's diagnostic is one line on the daemon's console, whatever it holds (issue 23)", async () => {
  await connectAndList('tab-diag', 'http://localhost/');
  const response = await fetch(server.at('/-daebug/realms/tab-diag/diagnostics'), { method: 'POST', headers: { 'x-daebug-secret': secrets.get('tab-diag')! }, body: JSON.stringify({ message: 'oops\n[daebug] stopped: %%SHUTDOWN%%\r\x1b[2Kfake line' }) });
  assert.equal(response.status, 200);
  const said = server.entries.filter((entry) => entry.message.startsWith('tab-diag: oops'));
  assert.equal(said.length, 1);
  assert.doesNotMatch(said[0]!.message, /[\n\r\x1b]/, 'no line break, carriage return or escape');
});
