// `daebug --test` and the daebug that may already serve the folder: it uses that one (and its open
// page) wherever it finds it, never starts a second one beside it, and starts its own, on --port when
// given, only when none serves the folder. Real processes, real HTTP, headless Chromium.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { candidatePorts } from '../../src/cli/port.js';
import { runningDaebug } from '../../src/cli/running-daebug.js';
import { serve } from '../../src/cli/serve.js';
import { launchBrowser } from '../helpers/browser.js';
import { freePort, nameWithFreePorts, runCli, startCli } from '../helpers/cli.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';

const NO_BROWSER = ['--browser', '/no/such/chrome'];

/** A folder with an index page and the given files. */
function project(name: string, files: Record<string, string>): string {
  const root = join(tempRoot(), name);
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>tests</title>');
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  return root;
}

/** A test file that passes only in a frame of the page the test marked. */
const IN_OPEN_PAGE = { 'open.test.js': "import { test } from 'node:test';\ntest('runs in the open page', () => { if (!parent.markedByTest) throw new Error('not the open page'); });\n" };

/** A test file that passes only in a page served on `port`. */
function portTest(port: number): string {
  return `import { test } from 'node:test';\ntest('served on ${port}', () => { if (parent.location.port !== '${port}') throw new Error('served on ' + parent.location.port); });\n`;
}

/** `daebug --root <root> --port <port>` as a user starts it; stopped when the test ends. Resolves with its token. */
async function runningDaemon(t: TestContext, root: string, port: number): Promise<string> {
  const daemon = startCli(t, ['--root', root, '--port', String(port)]);
  await waitFor(() => daemon.out().includes(`open http://localhost:${port}/`) || daemon.child.exitCode !== null, 'the banner', 15_000);
  assert.equal(daemon.child.exitCode, null, daemon.err());
  return readFileSync(join(root, '.daebug', 'token'), 'utf8').trim();
}

/** Opens `url` in headless Chromium, marks the page, and waits until it and its worker are listed in daebug.md; closed when the test ends. */
async function openPage(t: TestContext, root: string, url: string, token: string): Promise<string> {
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(url);
  await page.evaluate('window.markedByTest = true');
  const realm = (await page.evaluate('window.__daebug.realm')) as string;
  const names = async () => ((await (await fetch(new URL('/-daebug/realms', url), { headers: { 'x-daebug-token': token } })).json()) as { name: string }[]).map((entry) => entry.name);
  await waitFor(async () => (await names()).includes(`${realm}-webworker`) && (await names()).includes(realm), 'the page and its worker to connect', 10_000);
  await waitFor(() => registryShape(readText(join(root, 'daebug.md'))).realms.length === 2, 'daebug.md to list the page and its worker', 5_000);
  return realm;
}

/** Every version of daebug.md and .daebug/daemon.json seen while `during` runs (read every 10 ms). */
async function watchFiles<T>(root: string, during: () => Promise<T>): Promise<{ result: T; registries: string[]; daemonFiles: string[] }> {
  const registries = new Set<string>();
  const daemonFiles = new Set<string>();
  const look = () => {
    registries.add(readText(join(root, 'daebug.md')));
    daemonFiles.add(readText(join(root, '.daebug', 'daemon.json')));
  };
  look();
  const timer = setInterval(look, 10);
  try {
    const result = await during();
    look();
    return { result, registries: [...registries], daemonFiles: [...daemonFiles] };
  } finally {
    clearInterval(timer);
  }
}

/**
 * What of a running registry the running daemon alone decides, set apart from what it rewrites on
 * its own during a run: realms are listed by recent activity with their state, so only their names count.
 */
function registryShape(text: string) {
  const lines = text.split('\n');
  const realm = (line: string) => /^ *\* \[([^\]]+)\]/.exec(line)?.[1];
  return { title: lines[0], realms: lines.map(realm).filter(Boolean).sort(), rest: lines.slice(1).filter((line) => !realm(line)) };
}

/** The run left the running daemon's files alone: daemon.json never changed, daebug.md was only ever its own registry. */
function assertUntouched(before: { registry: string; daemonFile: string }, seen: { registries: string[]; daemonFiles: string[] }, after: string): void {
  assert.deepEqual(seen.daemonFiles, [before.daemonFile], 'daemon.json never changed: no second daebug wrote it');
  const title = registryShape(before.registry).title;
  for (const text of seen.registries) assert.equal(registryShape(text).title, title, `daebug.md was only ever the running daemon's registry, not:\n${text}`);
  assert.deepEqual(registryShape(after), registryShape(before.registry));
}

test('--test --port N runs in the open page of the daebug serving the folder on N, reached through a symlink, and leaves its files alone', async (t) => {
  // The daemon was started on a symlinked path (as macOS's /tmp is) and the tests run from the real one.
  const root = project(await nameWithFreePorts('symlinked'), IN_OPEN_PAGE);
  const link = join(tempRoot(), 'link');
  symlinkSync(root, link);
  const port = await freePort();
  const token = await runningDaemon(t, link, port);
  const realm = await openPage(t, root, `http://localhost:${port}/`, token);
  const before = { registry: readText(join(root, 'daebug.md')), daemonFile: readText(join(root, '.daebug', 'daemon.json')) };
  const seen = await watchFiles(root, () => runCli(t, ['--test', '--port', String(port), ...NO_BROWSER], { cwd: root }));
  assert.equal(seen.result.code, 0, seen.result.out + seen.result.err);
  assert.equal(seen.result.out, `running 1 test file in ${realm}\n1 passed, 0 failed\n`);
  await waitFor(() => readText(join(root, 'daebug', `${realm}.md`)).includes('✓ runs in the open page'), 'the results in the log of the open page');
  assertUntouched(before, seen, readText(join(root, 'daebug.md')));
});

test('without daemon.json, --test finds the daebug on a derived port past a free one and runs in its open page', async (t) => {
  const name = await nameWithFreePorts('derived', 2);
  const root = project(name, IN_OPEN_PAGE);
  const second = candidatePorts(name)[1]!;
  const token = await runningDaemon(t, root, second);
  const realm = await openPage(t, root, `http://localhost:${second}/`, token);
  rmSync(join(root, '.daebug', 'daemon.json'));
  const before = { registry: readText(join(root, 'daebug.md')), daemonFile: '' };
  const seen = await watchFiles(root, () => runCli(t, ['--test', ...NO_BROWSER], { cwd: root }));
  assert.equal(seen.result.code, 0, seen.result.out + seen.result.err);
  assert.equal(seen.result.out, `running 1 test file in ${realm}\n1 passed, 0 failed\n`);
  assertUntouched(before, seen, readText(join(root, 'daebug.md')));
});

test('the places asked in turn: --port, then daemon.json, then daebug.md, then every derived port only without --port', async (t) => {
  const name = await nameWithFreePorts('places', 2);
  const root = project(name, {});
  const second = candidatePorts(name)[1]!;
  const serving = await serve({ root, port: second, host: '127.0.0.1', version: '0.0.0-test', onLog: () => {} });
  t.after(() => serving.stop('test finished'));
  const found = { kind: 'found', base: `http://localhost:${second}/`, port: second, token: serving.toolToken };
  const elsewhere = await freePort();
  assert.deepEqual(await runningDaebug(root, second), found, 'on --port');
  assert.deepEqual(await runningDaebug(root, elsewhere), found, 'named by daemon.json');
  rmSync(join(root, '.daebug', 'daemon.json'));
  assert.deepEqual(await runningDaebug(root, elsewhere), found, "named by daebug.md's title");
  rmSync(join(root, 'daebug.md'));
  assert.deepEqual(await runningDaebug(root, elsewhere), { kind: 'none' }, 'with --port, derived ports are not asked');
  assert.deepEqual(await runningDaebug(root, null), found, 'on a derived port past a free one');
});

test('a daebug serving the folder whose .daebug/ is gone is found through daebug.md, and --test starts no second one beside it', async (t) => {
  const root = project(await nameWithFreePorts('no-token'), IN_OPEN_PAGE);
  const port = await freePort();
  await runningDaemon(t, root, port);
  rmSync(join(root, '.daebug'), { recursive: true });
  const before = { registry: readText(join(root, 'daebug.md')), daemonFile: '' };
  const seen = await watchFiles(root, () => runCli(t, ['--test', ...NO_BROWSER], { cwd: root }));
  assert.equal(seen.result.code, 1, seen.result.out + seen.result.err);
  assert.equal(seen.result.err, `daebug: the daebug on port ${port} serves ${root} but left no token in .daebug/token (an older daebug, or .daebug/ was removed); stop it and try again\n`);
  assertUntouched(before, seen, readText(join(root, 'daebug.md')));
});

/** Runs `--test --port <port>` in `root` and checks that its own daebug ran the tests on that port and then went. */
async function assertOwnDaebugOn(t: TestContext, root: string, port: number): Promise<void> {
  const run = startCli(t, ['--test', '--port', String(port)], { cwd: root });
  const seen = await watchFiles(root, async () => ({ code: await run.exit, out: run.out(), err: run.err() }));
  assert.equal(seen.result.code, 0, seen.result.out + seen.result.err);
  assert.match(seen.result.out, /1 passed, 0 failed\n$/);
  const named = seen.daemonFiles.filter(Boolean).map((text) => JSON.parse(text) as { pid: number; port: number });
  assert.ok(named.some((info) => info.pid === run.child.pid && info.port === port), `daemon.json named the run's own daebug on ${port}: ${JSON.stringify(named)}`);
  assert.equal(existsSync(join(root, '.daebug', 'daemon.json')), false, 'its own daemon.json went with it');
  assert.match(readText(join(root, 'daebug.md')), new RegExp(`stopped at .* \\(test run finished\\)[^]*\`\`\`sh\\nnpx daebug --port ${port}\\n\`\`\``));
}

test('a stale daemon.json (its process is gone) is ignored and replaced: --test --port N starts its own daebug on N', async (t) => {
  const root = project(await nameWithFreePorts('stale-pid'), {});
  const port = await freePort();
  writeFileSync(join(root, 'port.test.js'), portTest(port));
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  mkdirSync(join(root, '.daebug'));
  writeFileSync(join(root, '.daebug', 'daemon.json'), JSON.stringify({ pid: gone, root, host: '127.0.0.1', port: await freePort(), url: 'x', version: '0', startedAt: '', command: 'npx daebug' }));
  writeFileSync(join(root, '.daebug', 'token'), 'stale\n');
  await assertOwnDaebugOn(t, root, port);
});

test('a daemon.json whose port serves nothing is ignored and replaced: --test --port N starts its own daebug on N', async (t) => {
  const root = project(await nameWithFreePorts('stale-port'), {});
  const port = await freePort();
  writeFileSync(join(root, 'port.test.js'), portTest(port));
  mkdirSync(join(root, '.daebug'));
  // A live process (this one), but nothing on the port it names.
  writeFileSync(join(root, '.daebug', 'daemon.json'), JSON.stringify({ pid: process.pid, root, host: '127.0.0.1', port: await freePort(), url: 'x', version: '0', startedAt: '', command: 'npx daebug' }));
  await assertOwnDaebugOn(t, root, port);
});

test('a daemon.json copied from another folder names its daebug, which --test --port N leaves alone', async (t) => {
  const other = project('original', {});
  const serving = await serve({ root: other, port: 0, host: '127.0.0.1', version: '0.0.0-test', onLog: () => {} });
  t.after(() => serving.stop('test finished'));
  const root = project(await nameWithFreePorts('copy'), {});
  cpSync(join(other, '.daebug'), join(root, '.daebug'), { recursive: true });
  const port = await freePort();
  writeFileSync(join(root, 'port.test.js'), portTest(port));
  const registry = readText(join(other, 'daebug.md'));
  await assertOwnDaebugOn(t, root, port);
  assert.equal(readText(join(other, 'daebug.md')), registry, "the other folder's daebug.md is untouched");
});

test('--test --port N where N is the daebug of another folder is an error, exit 2, and nothing starts', async (t) => {
  const other = project('elsewhere', {});
  const serving = await serve({ root: other, port: 0, host: '127.0.0.1', version: '0.0.0-test', onLog: () => {} });
  t.after(() => serving.stop('test finished'));
  const registry = readText(join(other, 'daebug.md'));
  const root = project(await nameWithFreePorts('asks-other'), IN_OPEN_PAGE);
  const result = await runCli(t, ['--test', '--port', String(serving.server.port), ...NO_BROWSER], { cwd: root });
  assert.equal(result.code, 2, result.out + result.err);
  assert.equal(result.err, `daebug: port ${serving.server.port} is in use by a daebug for ${other}\n`);
  assert.equal(existsSync(join(root, 'daebug.md')), false, 'no daebug started for this folder');
  assert.equal(readText(join(other, 'daebug.md')), registry, "the other folder's daebug.md is untouched");
});

test('--test --port N where another program holds N is an error, exit 2, and nothing starts', async (t) => {
  const server = createHttpServer((_req, res) => res.end('not daebug'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const root = project(await nameWithFreePorts('asks-program'), IN_OPEN_PAGE);
  const result = await runCli(t, ['--test', '--port', String(port), ...NO_BROWSER], { cwd: root });
  assert.equal(result.code, 2, result.out + result.err);
  assert.equal(result.err, `daebug: port ${port} is in use by another program\n`);
  assert.equal(existsSync(join(root, 'daebug.md')), false, 'no daebug started for this folder');
});

test('a daemon.json naming a live process whose port does not answer stops --test instead of starting a second daebug', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createTcpServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const port = (silent.address() as { port: number }).port;
  const root = project(await nameWithFreePorts('busy'), IN_OPEN_PAGE);
  mkdirSync(join(root, '.daebug'));
  writeFileSync(join(root, '.daebug', 'daemon.json'), JSON.stringify({ pid: process.pid, root, host: '127.0.0.1', port, url: 'x', version: '0', startedAt: '', command: 'npx daebug' }));
  const result = await runCli(t, ['--test', ...NO_BROWSER], { cwd: root });
  assert.equal(result.code, 1, result.out + result.err);
  assert.equal(result.err, `daebug: the daebug that .daebug/daemon.json names (process ${process.pid}, port ${port}) did not answer within 5 s; try again, or stop it\n`);
  assert.equal(existsSync(join(root, 'daebug.md')), false, 'no daebug started for this folder');
});
