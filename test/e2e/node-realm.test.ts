// End to end: Node processes as realms. A real daemon serves a temp folder; real Node processes run an
// http server app with daebug attached (through `daebug node`, `node --import daebug/node` and
// `node --require daebug/node`); requests are appended to their logs and the answers read back.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/serve.js';
import { realmLog } from '../helpers/realm-log.js';
import { quietPeriod, readText, tempRoot, waitFor } from '../helpers/temp.js';

const repo = new URL('../..', import.meta.url).pathname;

/** The app: an http server with in-memory state, a function, a log line per request and a route that crashes it. */
const APP = `import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { expose } from 'daebug/node';
const orders = { count: 0, last: null };
function priceOf(items) { return items.reduce((sum, item) => sum + item.price, 0); }
const server = createServer((req, res) => {
  orders.count++;
  orders.last = req.url;
  console.log('handled ' + req.url);
  if (req.url === '/crash') setTimeout(() => { throw new Error('crashed on purpose'); });
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => writeFileSync('port.txt', String(server.address().port)));
expose({ orders, priceOf, server });
`;

/** A folder served by a real daemon, holding the app, with `daebug` resolvable from it as an installed package. */
async function project(): Promise<TestServer> {
  return startTestServer(
    (root) => {
      writeFileSync(join(root, 'app.mjs'), APP);
      mkdirSync(join(root, 'node_modules'));
      symlinkSync(repo, join(root, 'node_modules', 'daebug'));
    },
    { timeoutMs: 5_000 },
  );
}

/** A Node process, stopped when the test ends. */
function startNode(t: TestContext, args: string[], cwd: string): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (out += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, out: () => out, exit };
}

/** A Node realm's log, and requests appended to it. */
const logOf = (root: string, realm: string) => realmLog(join(root, 'daebug', `${realm}.md`));

const portOf = (root: string) => Number(readFileSync(join(root, 'port.txt'), 'utf8'));

test('an http server app under daebug node: state, functions, request logs, an uncaught error and a restart, all in one log', { timeout: 60_000 }, async (t) => {
  const server = await project();
  const cli = startCli(t, ['node', '--watch', 'app.mjs'], { cwd: server.root });
  const log = logOf(server.root, 'node-app');
  await waitFor(() => readText(join(server.root, 'daebug.md')).includes('[node-app](daebug/node-app.md)'), 'node-app in the registry', 10_000);
  await waitFor(() => readText(join(server.root, 'port.txt')) !== '', 'the app listening');
  const pid = cli.child.pid;
  const registry = readText(join(server.root, 'daebug.md'));
  assert.match(registry, /^\* \[node-app\]\(daebug\/node-app\.md\) node pid (\d+) `node app\.mjs` · (idle|executing)$/m, 'listed with its pid and command line (node --watch leaves its flag out), without daebug\'s preload');
  const firstPid = Number(/node pid (\d+)/.exec(registry)![1]);
  assert.notEqual(firstPid, pid, 'the app runs in a process of its own');
  await log.until((text) => text.includes(`pid ${firstPid} started: node app.mjs`), 'the start notice');

  assert.match(await log.ask('orders.count'), /```JSON\n0\n```/);
  assert.match(await log.ask("priceOf([{ price: 2 }, { price: 3.5 }])"), /```JSON\n5\.5\n```/);
  assert.match(await log.ask('const seen = new Set([orders.count]); seen'), /```Text\nSet\(1\) \{ 0 \}\n```/, 'values as util.inspect shows them');
  assert.match(await log.ask('[...seen][0] + typeof require("node:os").cpus'), /"0function"/, 'declarations persist, require works in an ESM app');
  assert.match(await log.ask("(await import('./app.mjs')) !== undefined && typeof (await import('node:path')).join"), /"function"/, 'import() resolves against the app folder');

  await fetch(`http://127.0.0.1:${portOf(server.root)}/checkout`);
  await log.until((text) => /#### 📣node-app background at [\d:]+\n##### ☑️console\.log at [\d:]+\n```Text console\.log\nhandled \/checkout\n```/.test(text), 'the request handler\'s console.log as a background event');
  assert.match(await log.ask('orders.last'), /"\/checkout"/);

  await fetch(`http://127.0.0.1:${portOf(server.root)}/crash`);
  const crashed = await log.until((text) => text.includes(`pid ${firstPid} exited with code 1.`), 'the exit noted with its code');
  assert.match(crashed, /##### 🚫uncaughtException at [\d:]+\n```Error uncaughtException\nError: crashed on purpose\n {4}at Timeout\._onTimeout \(file:\/\/\/.*app\.mjs:\d+:\d+\)/, 'the uncaught error, reported before the exit');
  await waitFor(() => readText(join(server.root, 'daebug.md')).includes('· exited'), 'the registry says it exited');

  writeFileSync(join(server.root, 'port.txt'), '');
  appendFileSync(join(server.root, 'app.mjs'), '// edited: node --watch restarts the app\n');
  await log.until((text) => /restarted as pid (\d+) \(what earlier requests declared is gone\): node app\.mjs/.test(text), 'the restart marked in the same log');
  const secondPid = Number(/restarted as pid (\d+)/.exec(log.read())![1]);
  assert.notEqual(secondPid, firstPid);
  assert.match(await log.ask('[orders.count, typeof seen, process.pid]'), new RegExp(`\\[\\n  0,\\n  "undefined",\\n  ${secondPid}\\n\\]`), 'the new process answers in the old log');
  assert.ok(log.read().includes('priceOf([{ price: 2 }'), 'the history is kept');

  cli.child.kill('SIGTERM');
  assert.equal(await cli.exit, 0, 'the signal went on to node --watch, which ends with 0, and so does daebug node');
  await log.until((text) => text.includes(`pid ${secondPid} ended without an exit code`), 'the end by a signal noted');
});

test('daebug node passes exit codes and signals through', { timeout: 30_000 }, async (t) => {
  const server = await project();
  writeFileSync(join(server.root, 'three.mjs'), 'setTimeout(() => process.exit(3), 300);\n');
  const three = startCli(t, ['node', 'three.mjs'], { cwd: server.root });
  assert.equal(await three.exit, 3);
  await logOf(server.root, 'node-three').until((text) => text.includes('exited with code 3.'), 'the exit code noted');

  writeFileSync(join(server.root, 'forever.mjs'), "setInterval(() => {}, 1000); console.log('up');\n");
  const forever = startCli(t, ['node', 'forever.mjs'], { cwd: server.root });
  await logOf(server.root, 'node-forever').until((text) => text.includes('up\n```'), 'the app running');
  forever.child.kill('SIGTERM');
  await forever.exit;
  assert.equal(forever.child.signalCode, 'SIGTERM', 'the app ended by SIGTERM, and daebug node by the same signal');
  assert.equal(readText(join(server.root, 'daebug.md')).includes('stopped'), false, 'the daebug it joined keeps running');
});

test('node --import daebug/node: the same realm for people who start Node themselves; the log goes on across a restart by hand', { timeout: 30_000 }, async (t) => {
  const server = await project();
  const log = logOf(server.root, 'node-app');
  const first = startNode(t, ['--import', 'daebug/node', 'app.mjs'], server.root);
  await log.until((text) => text.includes('started: node app.mjs'), 'the start notice');
  await waitFor(() => readText(join(server.root, 'port.txt')) !== '', 'the app listening');
  assert.match(await log.ask('priceOf([{ price: 40 }, { price: 2 }])'), /```JSON\n42\n```/);
  await fetch(`http://127.0.0.1:${portOf(server.root)}/hello`);
  await log.until((text) => text.includes('handled /hello\n```'), 'the handler\'s console.log');
  assert.match(first.out(), /handled \/hello/, 'console output still printed as usual');
  assert.match(first.out(), /daebug: this process is the realm node-app/);

  first.child.kill('SIGTERM');
  await first.exit;
  await log.until((text) => text.includes(`pid ${first.child.pid} ended without an exit code`), 'the end noted');
  startNode(t, ['--import', 'daebug/node', 'app.mjs'], server.root);
  await log.until((text) => text.includes(`restarted as pid`), 'the restart marked');
  assert.match(await log.ask('orders.count'), /```JSON\n0\n```/);
});

test('node --require daebug/node: a CommonJS app, with require at its folder and a thrown error as Node prints it', { timeout: 30_000 }, async (t) => {
  const server = await project();
  writeFileSync(join(server.root, 'worker.cjs'), "const helper = require('./helper.cjs');\nsetInterval(() => {}, 1000);\n");
  writeFileSync(join(server.root, 'helper.cjs'), 'module.exports = { twice: (n) => n * 2 };\n');
  startNode(t, ['--require', 'daebug/node', 'worker.cjs'], server.root);
  const log = logOf(server.root, 'node-worker');
  await log.until((text) => text.includes('started: node worker.cjs'), 'the start notice');
  assert.match(await log.ask("require('./helper.cjs').twice(21)"), /```JSON\n42\n```/);
  assert.match(await log.ask("throw Object.assign(new Error('nope', { cause: new Error('deeper') }), { code: 'E_NOPE' })"), /^#### 🚫node-worker[^\n]*\n```Error\nError: nope\n {4}at request:1:21\n[\s\S]*code: 'E_NOPE',\n {2}\[cause\]: Error: deeper\n {6}at request:1:48\n/);
  assert.doesNotMatch(log.read(), /dist\/node\.c?js/, 'no frames of daebug\'s own');
});

test('a process with daebug attached ends when its own work ends: daebug keeps it alive neither connected nor not', { timeout: 30_000 }, async (t) => {
  const server = await startTestServer((root) => {
    mkdirSync(join(root, 'node_modules'));
    symlinkSync(repo, join(root, 'node_modules', 'daebug'));
  }, { pollMs: 25_000 });
  writeFileSync(join(server.root, 'job.mjs'), "console.log('working'); setTimeout(() => console.log('done'), 800);\n");
  const started = Date.now();
  const connected = startNode(t, ['--import', 'daebug/node', 'job.mjs'], server.root);
  assert.equal(await connected.exit, 0);
  assert.ok(Date.now() - started < 5_000, `it ended after ${Date.now() - started} ms, while its 25 s poll was waiting`);
  const log = logOf(server.root, 'node-job');
  await log.until((text) => text.includes(`pid ${connected.child.pid} exited with code 0.`), 'the exit noted');
  assert.match(log.read(), /```Text console\.log\nworking\n```/, 'what it printed before it connected is kept');

  const elsewhere = tempRoot();
  mkdirSync(join(elsewhere, 'node_modules'));
  symlinkSync(repo, join(elsewhere, 'node_modules', 'daebug'));
  writeFileSync(join(elsewhere, 'job.mjs'), "console.log('working alone'); setTimeout(() => {}, 300);\n");
  const alone = startNode(t, ['--import', 'daebug/node', 'job.mjs'], elsewhere);
  assert.equal(await alone.exit, 0, 'with no daebug for the folder the app runs as usual');
  const lines = alone.out().split('\n').filter((line) => line.startsWith('daebug:'));
  assert.equal(lines.length, 1, `one line says daebug is not running:\n${alone.out()}`);
  assert.match(lines[0]!, /^daebug: not running for /);
  assert.match(alone.out(), /working alone/);
});

test('two processes of one script are two realms; a third that cannot take a name is refused without the token', { timeout: 30_000 }, async (t) => {
  const server = await project();
  startNode(t, ['--import', 'daebug/node', 'app.mjs'], server.root);
  await logOf(server.root, 'node-app').until((text) => text.includes('started: node app.mjs'), 'the first');
  startNode(t, ['--import', 'daebug/node', 'app.mjs'], server.root);
  await logOf(server.root, 'node-app-2').until((text) => text.includes('started: node app.mjs'), 'the second, under a name of its own');
  const refused = await fetch(server.at('/-daebug/node'), { method: 'POST', body: JSON.stringify({ name: 'node-app', pid: process.pid, command: 'node x.js', reconnect: false }) });
  assert.equal(refused.status, 401, 'connecting a Node realm needs the daemon token from .daebug/token');
  const page = await fetch(server.at('/-daebug/node'), { method: 'POST', headers: { 'x-daebug-token': server.pageToken }, body: JSON.stringify({ name: 'node-app', pid: process.pid, command: 'node x.js', reconnect: false }) });
  assert.equal(page.status, 401, 'the page token does not connect one');
  await quietPeriod(100);
  assert.match(readText(join(server.root, 'daebug.md')), /\[node-app-2\]/);
});
