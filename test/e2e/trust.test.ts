// A Node process started with `--import daebug/node`, and `daebug eval` and `--test`, trust only the
// project's own daebug (issue 23). A Node process takes the first `.daebug/` up from its folder and no
// further, only this user's files that nobody else may write, only a loopback address; all of them
// join a daemon only once it proves it holds the token, before the token is sent.
// Each case plants a `.daebug/` that names a server of the test's own, standing for whoever took the
// port of a killed daemon or wrote into a shared parent folder; the server records every request.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { daemonForRoot } from '../../src/plugin/daemon-for-root.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

const repo = new URL('../..', import.meta.url).pathname;
const NOBODY = 65534;

/** A server that answers health for `root` as a daebug would, with a wrong proof, and records every request. */
async function impostor(t: TestContext, root: () => string): Promise<{ port: number; seen: { url: string; headers: IncomingHttpHeaders }[] }> {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url?.startsWith('/-daebug/health') ? { ok: true, root: root(), proof: 'not-the-proof' } : { realm: 'node-app', secret: 'x' }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  t.after(() => server.close());
  return { port: (server.address() as AddressInfo).port, seen };
}

/** Writes `.daebug/daemon.json` and `token` into `folder` for a daemon on `host:port`. */
function plant(folder: string, port: number, host = '127.0.0.1'): string {
  const dir = join(folder, '.daebug');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ pid: process.pid, root: folder, host, port, url: `http://${host}:${port}/`, version: '0.0.0', startedAt: new Date().toISOString(), command: 'npx daebug' }), { mode: 0o644 });
  writeFileSync(join(dir, 'token'), 'planted-token\n', { mode: 0o600 });
  return dir;
}

/** A project folder under `parent` with an app that stays up, and daebug installed in it. */
function project(parent: string): string {
  const folder = join(parent, 'project');
  mkdirSync(join(folder, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(folder, 'node_modules', 'daebug'));
  writeFileSync(join(folder, 'app.mjs'), 'setTimeout(() => {}, 20_000);\n');
  return folder;
}

/** True when a request to the impostor carried a token. */
const sentToken = (seen: { headers: IncomingHttpHeaders }[]) => seen.some((request) => request.headers['x-daebug-token'] !== undefined);

/**
 * Runs the app with daebug's preload until it has said what it did about daebug, or has sent the
 * planted token to the impostor; resolves with its stderr.
 */
async function runApp(t: TestContext, folder: string, said: RegExp, seen: { headers: IncomingHttpHeaders }[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'daebug/node', 'app.mjs'], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (chunk) => (err += chunk));
  await waitFor(() => said.test(err) || sentToken(seen), `the app to say ${said}`, 10_000).catch((error: Error) => {
    throw new Error(`${error.message}; it said:\n${err}`);
  });
  // Time for anything it would still send.
  await new Promise((done) => setTimeout(done, 300));
  return err;
}

test('a .daebug/ of another user in a parent folder is refused, and nothing is sent to the port it names', async (t) => {
  const parent = tempRoot();
  const server = await impostor(t, () => parent);
  const dir = plant(parent, server.port);
  for (const path of [dir, join(dir, 'daemon.json'), join(dir, 'token')]) chownSync(path, NOBODY, NOBODY);
  const err = await runApp(t, project(parent), /not connecting/, server.seen);
  assert.match(err, new RegExp(`daebug: not connecting: ${dir.replace(/[.]/g, '\\.')} belongs to user ${NOBODY}`));
  assert.deepEqual(server.seen, [], 'no request reached the port it names');
});

test('a .daebug/ that other users may write is refused', async (t) => {
  const parent = tempRoot();
  const server = await impostor(t, () => parent);
  const dir = plant(parent, server.port);
  chmodSync(dir, 0o777);
  const err = await runApp(t, project(parent), /not connecting/, server.seen);
  assert.match(err, /may be written by other users \(mode 777\)/);
  assert.deepEqual(server.seen, []);
});

test('the search ends at the project\'s own .daebug/: one further up is never used', async (t) => {
  const parent = tempRoot();
  const server = await impostor(t, () => parent);
  plant(parent, server.port);
  const folder = project(parent);
  mkdirSync(join(folder, '.daebug'), { mode: 0o700 });
  const err = await runApp(t, folder, /not running for/, server.seen);
  assert.match(err, /no \.daebug\/daemon\.json in the project's \.daebug\//);
  assert.deepEqual(server.seen, []);
});

test('a daemon.json that names a host beyond loopback is refused', async (t) => {
  const parent = tempRoot();
  const server = await impostor(t, () => parent);
  plant(parent, server.port, '192.0.2.7');
  const err = await runApp(t, project(parent), /not connecting/, server.seen);
  assert.match(err, /names the host "192\.0\.2\.7"; a Node process connects only to a daebug on loopback/);
  assert.deepEqual(server.seen, []);
});

test('a process on the port that cannot prove it holds the token gets no token and no connection', async (t) => {
  const parent = tempRoot();
  const server = await impostor(t, () => parent);
  plant(parent, server.port);
  const err = await runApp(t, project(parent), /not connecting/, server.seen);
  assert.match(err, /did not prove it holds the token of .*\.daebug\/token; nothing was sent to it/);
  assert.equal(sentToken(server.seen), false, 'the token was never sent');
  assert.ok(server.seen.every((request) => request.url.startsWith('/-daebug/health?nonce=')), `only the proof was asked for: ${server.seen.map((request) => request.url).join(', ')}`);
});

test('daebug eval and --test do not join a process on the port daemon.json names unless it proves it holds the token', async (t) => {
  const root = tempRoot();
  writeFileSync(join(root, 'a.test.js'), "import { test } from 'node:test';\ntest('x', () => {});\n");
  const server = await impostor(t, () => root);
  plant(root, server.port);
  for (const args of [['eval', '--root', root, '1 + 1'], ['--test', '--root', root, 'a.test.js']]) {
    const child = spawn(process.execPath, [join(repo, 'dist/cli/main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const code = await new Promise((done) => child.once('exit', done));
    assert.equal(sentToken(server.seen), false, `${args[0]} sent the token to the impostor`);
    assert.notEqual(code, 0, `${args[0]} fails`);
    assert.match(err, new RegExp(`the process on port ${server.port} answers for .* but cannot prove it holds the token of \\.daebug/token, so daebug does not join it`), `${args[0]}: ${err}`);
  }
  assert.equal(sentToken(server.seen), false, 'the token was never sent');
});

test('the build-tool plugin does not join a process on the port daemon.json names unless it proves it holds the token', async (t) => {
  const root = tempRoot();
  const server = await impostor(t, () => root);
  plant(root, server.port);
  await assert.rejects(daemonForRoot(root, '0.0.0-test', () => {}), /cannot prove it holds the token of \.daebug\/token, so daebug does not join it/);
  assert.equal(sentToken(server.seen), false, 'the token was never sent');
  assert.ok(server.seen.every((request) => !request.url.startsWith('/-daebug/token')), 'no page token was asked of it');
});
