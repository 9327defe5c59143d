// daebug's benchmark: save-to-answer latency, its growth with history, scale, idle cost, start-up
// and the test runner. Prints a Markdown table and writes bench/results.json. Run after `npm run
// build` (npm run bench does both). See docs/performance.md for what each figure means.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, fstatSync, rmSync, watch, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { LOSS_KINDS, runStress, STRESS_SCENARIOS, stressProblems, stressSummary, waitForFooters, writeHistoryLogs } from '../test/helpers/stress.mjs';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const SIM = new URL('./realm.mjs', import.meta.url).pathname;
const DEV_SERVER = new URL('./dev-server.mjs', import.meta.url).pathname;
const VITE_APP = new URL('./vite-app.mjs', import.meta.url).pathname;
const BARE_PROXY = new URL('./bare-proxy.mjs', import.meta.url).pathname;
const NODE_REALM = new URL('../dist/node.js', import.meta.url).href;
const FOOTER = `${'-'.repeat(70)}\n> Append your JavaScript snippet below to execute against this page.\n\n\n`;
const BROWSER = process.env.CHROME_PATH ?? '/usr/bin/chromium';
const temps = [];
const children = [];
let nextPort = 18_700;

const median = (values) => percentile(values, 50);
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const round = (value) => Math.round(value * 10) / 10;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function tempRoot(name) {
  const root = join(mkdtempSync(join(tmpdir(), 'daebug-bench-')), name);
  mkdirSync(join(root, 'daebug'), { recursive: true });
  temps.push(root);
  return root;
}

function spawnTracked(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], ...options });
  // Read whatever the child prints, so a full pipe never blocks it.
  child.stdout.on('data', () => {});
  child.stdout.on('data', () => {});
  children.push(child);
  return child;
}

/** The earlier daebug's port for a folder name (the formula of spec/daemon.md). */
function derivedPort(name) {
  let hash = 0;
  for (const char of name.toLowerCase()) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return 8100 + (Math.abs(hash) % 1000);
}

/** Starts the daemon (the built CLI) and resolves once /-daebug/health answers. */
async function startDaemon(root, port = nextPort++, extraArgs = []) {
  const started = performance.now();
  // BENCH_DAEMON_ARGS passes Node flags to the daemons, e.g. "--cpu-prof --cpu-prof-dir=bench/profiles".
  const nodeArgs = (process.env.BENCH_DAEMON_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawnTracked(process.execPath, [...nodeArgs, CLI, '--root', root, '--port', String(port), ...extraArgs], { env: { ...process.env, NO_COLOR: '1' } });
  const base = `http://127.0.0.1:${port}/`;
  for (;;) {
    try {
      if ((await fetch(new URL('/-daebug/health', base))).ok) break;
    } catch {
      await sleep(1);
    }
  }
  return { child, base, startupMs: performance.now() - started };
}

async function stopDaemon(daemon) {
  daemon.child.kill('SIGTERM');
  await new Promise((resolve) => (daemon.child.exitCode !== null ? resolve() : daemon.child.once('exit', resolve)));
}

/** Simulated realms in another process, on their sockets (with `http`, long-polling instead). */
async function startSimulatedRealms(base, name, count = 1, http = false) {
  const child = spawnTracked(process.execPath, [SIM, base, name, String(count), ...(http ? ['--http'] : [])]);
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return child;
}

async function waitForRealms(base, count) {
  const root = JSON.parse(await (await fetch(new URL('/-daebug/health', base))).text()).root;
  // Listing realms is for local tools: the daemon's token is in .daebug/token, written right after
  // the server starts to answer.
  const tokenPath = join(root, '.daebug', 'token');
  while (!existsSync(tokenPath)) await sleep(5);
  const token = readFileSync(tokenPath, 'utf8').trim();
  for (;;) {
    const realms = await (await fetch(new URL('/-daebug/realms', base), { headers: { 'x-daebug-token': token } })).json();
    if (realms.length >= count) return;
    await sleep(5);
  }
}

/** A log's text; '' before it exists. */
function readLog(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return '';
    throw error;
  }
}

/** The last `bytes` of a file, read without loading the whole log; '' before it exists. */
function tailOf(path, bytes = 16_384) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if (error.code === 'ENOENT') return '';
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(bytes, size);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Resolves when `check(changed)` holds, re-checking on every change in `dir` (`changed`: the name of
 * the file the event names) and every `fallbackMs` as a fallback (`changed` undefined: look at all).
 */
function whenChanged(dir, check, what, timeoutMs = 30_000, fallbackMs = 20) {
  return new Promise((resolve, reject) => {
    const watcher = watch(dir, (_event, name) => test(name ?? undefined));
    const timer = setInterval(() => test(), fallbackMs);
    const deadline = setTimeout(() => {
      finish();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    function finish() {
      watcher.close();
      clearInterval(timer);
      clearTimeout(deadline);
    }
    function test(changed) {
      if (!check(changed)) return;
      finish();
      resolve();
    }
    test();
  });
}

let requestNumber = 0;

/** A log holding `bytes` of earlier requests and replies. */
function historyLog(realm, bytes) {
  const reply = `### 🗣️bench to ${realm} at 08:00:00\n\`\`\`js\n'earlier'\n\`\`\`\n#### 👍${realm} to bench at 08:00:00 (1ms)\n\`\`\`JSON\n"earlier"\n\`\`\`\n\n`;
  return `# ${realm}\n\n` + reply.repeat(Math.ceil(bytes / reply.length)) + FOOTER;
}

/** Appends `1+1` requests one at a time; each clock stops when the reply is in the file. */
async function saveToAnswer(root, realm, runs) {
  const log = join(root, 'daebug', `${realm}.md`);
  const times = [];
  for (let index = 0; index < runs; index++) {
    const request = `run ${++requestNumber}\n\`\`\`js\n1+1\n\`\`\`\n`;
    const answered = new RegExp(`${request.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#### 👍\\S+ at \\S+ \\(`, 'u');
    const started = performance.now();
    appendFileSync(log, request);
    await whenChanged(join(root, 'daebug'), () => answered.test(tailOf(log)), `the reply to request ${requestNumber}`);
    times.push(performance.now() - started);
    await sleep(5);
  }
  return { p50: round(median(times)), p95: round(percentile(times, 95)), runs };
}

async function latencySimulated(historyBytes, runs, http = false) {
  const root = tempRoot('latency');
  writeFileSync(join(root, 'daebug', 'sim.md'), historyBytes > 0 ? historyLog('sim', historyBytes) : '# sim\n');
  const daemon = await startDaemon(root);
  const sim = await startSimulatedRealms(daemon.base, 'sim', 1, http);
  await waitForRealms(daemon.base, 1);
  await saveToAnswer(root, 'sim', 3);
  const result = await saveToAnswer(root, 'sim', runs);
  sim.kill();
  await stopDaemon(daemon);
  return result;
}

/**
 * What the daemon writes into a log for one `1+1` turn: the log's growth minus the agent's own bytes
 * (a bare fence), and its parts: the request header it inserts, the reply header, the result block,
 * blank lines. Measured after a warm-up turn, so the file header and the footer are already there.
 */
async function turnOverhead() {
  const root = tempRoot('overhead');
  const log = join(root, 'daebug', 'sim.md');
  writeFileSync(log, '# sim\n');
  const daemon = await startDaemon(root);
  const sim = await startSimulatedRealms(daemon.base, 'sim');
  await waitForRealms(daemon.base, 1);
  await saveToAnswer(root, 'sim', 1);
  await sleep(300);
  const before = readFileSync(log);
  const request = '```js\n1+1\n```\n';
  appendFileSync(log, request);
  const answered = /#### 👍sim at \S+ \(\S+\)\n```JSON\n2\n```\n\n----/u;
  await whenChanged(join(root, 'daebug'), () => answered.test(readFileSync(log, 'utf8').slice(before.length - 200)), 'the reply to 1+1');
  await sleep(300);
  const after = readFileSync(log);
  const added = after.toString('utf8').slice(before.toString('utf8').length - 200);
  const bytes = (text) => Buffer.byteLength(text ?? '');
  const parts = {
    requestHeader: bytes(/### 🗣️agent at \S+\n/u.exec(added)?.[0]),
    replyHeader: bytes(/#### 👍sim at \S+ \(\S+\)\n/u.exec(added)?.[0]),
    resultBlock: bytes('```JSON\n2\n```\n'),
  };
  const total = after.length - before.length - bytes(request);
  sim.kill();
  await stopDaemon(daemon);
  return { total, ...parts, blankLines: total - parts.requestHeader - parts.replyHeader - parts.resultBlock, agentBytes: bytes(request) };
}

async function latencyBrowser(runs) {
  const root = tempRoot('browser');
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>bench</title>');
  const daemon = await startDaemon(root);
  const browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  const page = await browser.newPage();
  await page.goto(daemon.base);
  await page.waitForFunction('window.__daebug');
  const realm = await page.evaluate('window.__daebug.realm');
  await waitForRealms(daemon.base, 1);
  writeFileSync(join(root, 'daebug', `${realm}.md`), `# ${realm}\n`);
  await saveToAnswer(root, realm, 3);
  const result = await saveToAnswer(root, realm, runs);
  await browser.close();
  await stopDaemon(daemon);
  return result;
}

/** A daemon with `count` simulated realms r-0, r-1, ..., each with a log holding only its title. */
/** A Node process with daebug preloaded (an idle http server), as `node --import daebug/node app.mjs` runs it. */
async function latencyNode(runs) {
  const root = tempRoot('node');
  writeFileSync(join(root, 'app.mjs'), "import { createServer } from 'node:http';\ncreateServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');\n");
  const daemon = await startDaemon(root);
  // The realm finds the daemon through .daebug/daemon.json, written once health answers ok.
  while (!existsSync(join(root, '.daebug', 'token'))) await sleep(5);
  const app = spawnTracked(process.execPath, ['--import', NODE_REALM, 'app.mjs'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  app.stderr.on('data', () => {});
  await waitForRealms(daemon.base, 1);
  await saveToAnswer(root, 'node-app', 3);
  const result = await saveToAnswer(root, 'node-app', runs);
  app.kill();
  await stopDaemon(daemon);
  return result;
}

async function startManyRealms(name, count) {
  const root = tempRoot(name);
  for (let index = 0; index < count; index++) writeFileSync(join(root, 'daebug', `r-${index}.md`), `# r-${index}\n`);
  const daemon = await startDaemon(root);
  const sim = await startSimulatedRealms(daemon.base, 'r', count);
  await waitForRealms(daemon.base, count);
  return { root, daemon, sim };
}

async function scale(realmCount, perRealm) {
  const { root, daemon, sim } = await startManyRealms('scale', realmCount);
  const started = performance.now();
  const finished = new Array(realmCount).fill(0);
  for (let index = 0; index < realmCount; index++) {
    const chunk = Array.from({ length: perRealm }, (_, k) => `\`\`\`js\n${index} * 1000 + ${k}\n\`\`\`\n`).join('');
    appendFileSync(join(root, 'daebug', `r-${index}.md`), chunk);
  }
  // Only the log an event names is read again (all of them every 200 ms as a fallback): reading all
  // hundred at every event took a third of the machine from the daemon it measures.
  let left = realmCount;
  const look = (index) => {
    if (finished[index]) return;
    const text = readLog(join(root, 'daebug', `r-${index}.md`));
    if ((text.match(/^#### 👍\S+ at \S+ \(/gmu) ?? []).length !== perRealm) return;
    finished[index] = performance.now() - started;
    left -= 1;
  };
  await whenChanged(join(root, 'daebug'), (changed) => {
    const named = /^r-(\d+)\.md$/.exec(changed ?? '');
    if (named) look(Number(named[1]));
    else if (changed === undefined) for (let index = 0; index < realmCount; index++) look(index);
    return left === 0;
  }, 'every reply of the scale run', 120_000, 200);
  const total = performance.now() - started;
  let correct = 0;
  for (let index = 0; index < realmCount; index++) {
    const text = readFileSync(join(root, 'daebug', `r-${index}.md`), 'utf8');
    for (let k = 0; k < perRealm; k++) {
      if (text.includes(`\`\`\`js\n${index} * 1000 + ${k}\n\`\`\`\n#### 👍r-${index} at`) && text.includes(`\`\`\`JSON\n${index * 1000 + k}\n\`\`\``)) correct++;
      else if (process.env.BENCH_DEBUG) process.stderr.write(`r-${index} request ${k} not answered in place:\n${text}\n`);
    }
  }
  sim.kill();
  await stopDaemon(daemon);
  return { jobs: realmCount * perRealm, correct, seconds: round(total / 1000), jobsPerSecond: Math.round((realmCount * perRealm) / (total / 1000)), slowestReplyMs: Math.round(Math.max(...finished)) };
}

function processStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuMs: ticks * 10, rssMb: round(rss / 1024) };
}

async function idle(realmCount, seconds) {
  const { root, daemon, sim } = await startManyRealms('idle', realmCount);
  await sleep(1500);
  let writes = 0;
  const onChange = (_event, name) => {
    if (name && !String(name).endsWith('.daebug-tmp') && !String(name).endsWith('.daebug-prev')) writes++;
  };
  const watchers = [watch(root, onChange), watch(join(root, 'daebug'), onChange)];
  const before = processStats(daemon.child.pid);
  await sleep(seconds * 1000);
  const after = processStats(daemon.child.pid);
  for (const watcher of watchers) watcher.close();
  sim.kill();
  await stopDaemon(daemon);
  return { realms: realmCount, seconds, cpuMs: after.cpuMs - before.cpuMs, fileWrites: writes, rssMb: after.rssMb };
}

async function startup(runs) {
  const times = [];
  for (let index = 0; index < runs; index++) {
    const daemon = await startDaemon(tempRoot('startup'));
    times.push(daemon.startupMs);
    await stopDaemon(daemon);
  }
  return { p50: Math.round(median(times)), p95: Math.round(percentile(times, 95)), runs };
}

/** Fetches `path` from `base` and reads the whole body. */
async function fetchAll(base, path) {
  const answer = await fetch(new URL(path, base));
  await answer.arrayBuffer();
}

/** Milliseconds for `count` requests of small modules, 6 at a time as a browser asks one origin over HTTP/1.1. */
async function smallBatch(base, count) {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) await fetchAll(base, `/small/${next++}.js`);
  };
  await Promise.all(Array.from({ length: 6 }, lane));
  return performance.now() - started;
}

/**
 * daebug --proxy in front of a dev server (another process) against the dev server directly: a 1 MB
 * script (`bigRuns` times) and batches of 100 small modules (`batches` times), direct and through
 * daebug in turn so that both see the same noise.
 */
async function proxyOverhead(bigRuns, batches) {
  const dev = spawnTracked(process.execPath, [DEV_SERVER]);
  const devPort = Number(await new Promise((resolve) => dev.stdout.once('data', resolve)));
  const direct = `http://127.0.0.1:${devPort}/`;
  const daemon = await startDaemon(tempRoot('proxy'), nextPort++, ['--proxy', `http://127.0.0.1:${devPort}`]);
  const times = { bigDirect: [], bigProxy: [], smallDirect: [], smallProxy: [] };
  for (const base of [direct, daemon.base]) {
    await fetchAll(base, '/big.js');
    await smallBatch(base, 100);
  }
  for (let run = 0; run < bigRuns; run++) {
    for (const [base, into] of [[direct, times.bigDirect], [daemon.base, times.bigProxy]]) {
      const started = performance.now();
      await fetchAll(base, '/big.js');
      into.push(performance.now() - started);
    }
  }
  for (let run = 0; run < batches; run++) {
    times.smallDirect.push(await smallBatch(direct, 100));
    times.smallProxy.push(await smallBatch(daemon.base, 100));
  }
  dev.kill();
  await stopDaemon(daemon);
  const figure = (directTimes, proxyTimes) => {
    const [directMs, proxyMs] = [median(directTimes), median(proxyTimes)];
    return { directMs: round(directMs), proxyMs: round(proxyMs), slowerPercent: Math.round(((proxyMs - directMs) / directMs) * 100) };
  };
  return { big: figure(times.bigDirect, times.bigProxy), small: figure(times.smallDirect, times.smallProxy), bigRuns, batches };
}

/**
 * daebug --proxy in front of a real Vite dev server (another process) against Vite directly, in
 * headless Chromium: a page of 100 modules loaded in a new browser context (nothing cached) and
 * reloaded (Vite answers 304 to most of it), `runs` times each way in turn. The clock is the page's
 * own: milliseconds from navigation start until its last module ran.
 */
async function proxyVite(runs) {
  const vite = spawnTracked(process.execPath, [VITE_APP, tempRoot('vite-app')]);
  const vitePort = Number(await new Promise((resolve) => vite.stdout.once('data', resolve)));
  const direct = `http://127.0.0.1:${vitePort}/`;
  const bare = spawnTracked(process.execPath, [BARE_PROXY, direct]);
  const barePort = Number(await new Promise((resolve) => bare.stdout.once('data', resolve)));
  const daemon = await startDaemon(tempRoot('proxy-vite'), nextPort++, ['--proxy', `http://127.0.0.1:${vitePort}`]);
  const browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  const bases = { direct, bare: `http://127.0.0.1:${barePort}/`, daebug: daemon.base };
  const times = Object.fromEntries(Object.keys(bases).flatMap((name) => [[`load-${name}`, []], [`reload-${name}`, []]]));
  const measure = async (name, record) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(bases[name]);
    const loaded = await page.waitForFunction('window.benchLoaded').then((handle) => handle.jsonValue());
    await page.reload();
    const reloaded = await page.waitForFunction('window.benchLoaded').then((handle) => handle.jsonValue());
    if (record) times[`load-${name}`].push(loaded), times[`reload-${name}`].push(reloaded);
    await context.close();
  };
  for (const name of Object.keys(bases)) for (let warm = 0; warm < 3; warm++) await measure(name, false);
  // Side by side, one run of each in turn, so a noisy moment of the machine falls on all three.
  for (let run = 0; run < runs; run++) for (const name of Object.keys(bases)) await measure(name, true);
  await browser.close();
  vite.kill();
  bare.kill();
  await stopDaemon(daemon);
  const figure = (kind) => {
    const [direct, bare, proxy] = ['direct', 'bare', 'daebug'].map((name) => times[`${kind}-${name}`]);
    const [directMs, bareMs, proxyMs] = [direct, bare, proxy].map(median);
    const slower = (ms) => Math.round(((ms - directMs) / directMs) * 100);
    // daebug's own share, paired within each round (the three loads of a round share the machine's
    // moment): the median of (daebug - bare) / direct, in points.
    const points = Math.round(median(direct.map((ms, run) => ((proxy[run] - bare[run]) / ms) * 100)));
    return { directMs: round(directMs), bareMs: round(bareMs), proxyMs: round(proxyMs), bareSlowerPercent: slower(bareMs), slowerPercent: slower(proxyMs), pointsAboveBare: points };
  };
  return { load: figure('load'), reload: figure('reload'), runs };
}

/**
 * `daebug eval` and `daebug realms` against a daemon with one simulated realm: each command's wall
 * time as a whole process, beside `node -e 0` run the same way, so the difference is the command's
 * own start-up. `eval 1+1` includes the save → answer round trip.
 */
async function evalCommand(runs) {
  const root = tempRoot('eval');
  writeFileSync(join(root, 'daebug', 'sim.md'), '# sim\n');
  const daemon = await startDaemon(root);
  const sim = await startSimulatedRealms(daemon.base, 'sim');
  await waitForRealms(daemon.base, 1);
  const timed = async (args) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${out}`);
    return performance.now() - started;
  };
  const times = { node: [], realms: [], eval: [] };
  for (let run = 0; run < runs + 2; run++) {
    const node = await timed(['-e', '0']);
    const realms = await timed([CLI, 'realms', '--root', root]);
    const answer = await timed([CLI, 'eval', '--root', root, '1+1']);
    // The first two runs warm the file cache.
    if (run < 2) continue;
    times.node.push(node);
    times.realms.push(realms);
    times.eval.push(answer);
  }
  sim.kill();
  await stopDaemon(daemon);
  const [node, realms, evaluated] = [median(times.node), median(times.realms), median(times.eval)];
  return { nodeMs: round(node), realmsMs: round(realms), evalMs: round(evaluated), realmsOwnMs: round(realms - node), evalOwnMs: round(evaluated - node), runs };
}

/** A page and one test file with `count` empty tests. */
function writeManyTests(root, count) {
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>tests</title>');
  writeFileSync(join(root, 'many.test.js'), "import { test } from 'node:test';\n" + Array.from({ length: count }, (_, index) => `test('t${index}', () => {});`).join('\n') + '\n');
}

async function testRunner(count) {
  const root = tempRoot('tests');
  writeManyTests(root, count);
  // On the folder's own port, so `daebug --test` finds this daemon and its open page.
  const daemon = await startDaemon(root, derivedPort('tests'));
  const browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
  const page = await browser.newPage();
  await page.goto(daemon.base);
  await page.waitForFunction('window.__daebug');
  await waitForRealms(daemon.base, 1);
  let writes = 0;
  const watcher = watch(join(root, 'daebug'), (_event, name) => {
    if (name && String(name).endsWith('.md')) writes++;
  });
  const started = performance.now();
  const exit = await new Promise((resolve) => {
    const child = spawnTracked(process.execPath, [CLI, '--test', '--root', root], { env: { ...process.env, NO_COLOR: '1' } });
    child.once('exit', resolve);
  });
  const wallMs = performance.now() - started;
  await sleep(200);
  watcher.close();
  await browser.close();
  await stopDaemon(daemon);
  return { tests: count, exitCode: exit, wallMs: Math.round(wallMs), logFileEvents: writes };
}

/** The same run with nothing open: the CLI starts its own daemon and launches headless Chromium. */
async function testRunnerAlone(count) {
  const root = tempRoot('alone');
  writeManyTests(root, count);
  const started = performance.now();
  const exit = await new Promise((resolve) => {
    const child = spawnTracked(process.execPath, [CLI, '--test', '--root', root], { env: { ...process.env, NO_COLOR: '1', CHROME_PATH: BROWSER } });
    child.once('exit', resolve);
  });
  return { tests: count, exitCode: exit, wallMs: Math.round(performance.now() - started) };
}

/**
 * The stress scenarios of test/daemon/stress.test.ts, `scale` times longer, against the built CLI with
 * a page and its worker answering over HTTP from another process: what each covered and lost.
 */
async function soak(scale) {
  const outcome = {};
  for (const scenario of Object.keys(STRESS_SCENARIOS)) {
    const root = tempRoot('soak');
    const logDir = join(root, 'daebug');
    const historyLines = writeHistoryLogs(logDir);
    const daemon = await startDaemon(root);
    const ran = { tab: [], 'tab-webworker': [] };
    const sim = spawnTracked(process.execPath, [SIM, daemon.base, 'tab', '1', 'echo']);
    let pending = '';
    sim.stdout.on('data', (data) => {
      const lines = (pending + data).split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const [, realm, code] = /^ran (\S+) (.*)$/.exec(line) ?? [];
        if (realm) (ran[realm] ??= []).push(JSON.parse(code));
      }
    });
    await waitForRealms(daemon.base, 2);
    await waitForFooters(logDir);
    // The daemon's own timing: backups are watched for 2 s, so settle for longer than that.
    const report = await runStress({ logDir, scenario, historyLines, ran: () => ran, scale, waitMs: 60_000, stableMs: 5_000, settleMs: 2_500 });
    sim.kill();
    await stopDaemon(daemon);
    process.stderr.write(`  ${stressSummary(report)}\n`);
    for (const problem of stressProblems(report, 5)) process.stderr.write(`  ${problem}\n`);
    const losses = Object.fromEntries(Object.keys(LOSS_KINDS).map((key) => [key, report[key].length]));
    const { requests, edits, save, middle, restarts } = report.agents;
    const seconds = round((report.agentsMs + report.waitedMs) / 1000);
    outcome[scenario] = { requests, edits, save, middle, restarts, answeredWhileAgentsRan: report.answeredWhileAgentsRan, seconds, losses, total: Object.values(losses).reduce((sum, count) => sum + count, 0) };
  }
  return outcome;
}

/** A soak result as a table cell: what ran, and every kind of loss that is not 0. */
function soakCell(result) {
  const lost = Object.entries(result.losses).filter(([, count]) => count > 0).map(([key, count]) => `${count} ${LOSS_KINDS[key]}`);
  const saves = result.save === 'rename' ? 'safe saves' : 'in-place edits';
  // How many replies made it in while the agents wrote says how much racing there was.
  return `${result.requests} requests (${result.answeredWhileAgentsRan} answered while the agents ran), ${result.edits} ${saves} in ${result.seconds} s: ${lost.length ? lost.join(', ') : 'no losses'}`;
}

/**
 * A latency step run `BENCH_REPEAT` times (3 unless told): its figures are the medians of the runs'
 * p50s and p95s, so one noisy run does not decide; every run's p50 is kept beside them.
 */
async function repeated(step) {
  const runs = [];
  for (let index = 0; index < Number(process.env.BENCH_REPEAT ?? 3); index++) runs.push(await step());
  return { p50: median(runs.map((run) => run.p50)), p95: median(runs.map((run) => run.p95)), runs: runs[0].runs, p50s: runs.map((run) => run.p50) };
}

/** A latency result as a table cell: the median p50 and p95, and each run's p50. */
const latencyCell = (r) => `p50 ${r.p50} ms, p95 ${r.p95} ms${r.p50s?.length > 1 ? ` (p50 of each run: ${r.p50s.join(' / ')})` : ''}`;

const results = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model };
try {
  const only = process.env.BENCH_ONLY;
  const step = async (name, work) => {
    if (only && only !== name) return;
    process.stderr.write(`${name}...\n`);
    results[name] = await work();
  };
  await step('latencySimulated', () => repeated(() => latencySimulated(0, 60)));
  await step('latencySimulatedHttp', () => repeated(() => latencySimulated(0, 60, true)));
  await step('turnOverhead', () => turnOverhead());
  await step('latencyBrowser', () => repeated(() => latencyBrowser(40)));
  await step('latencyNode', () => repeated(() => latencyNode(60)));
  await step('latency1MB', () => repeated(() => latencySimulated(1024 * 1024, 30)));
  await step('latency10MB', () => repeated(() => latencySimulated(10 * 1024 * 1024, 20)));
  await step('scale', () => scale(100, 10));
  await step('idle', () => idle(50, 10));
  await step('startup', () => startup(10));
  await step('evalCommand', () => evalCommand(10));
  await step('proxyOverhead', () => proxyOverhead(40, 30));
  await step('proxyVite', () => proxyVite(20));
  await step('testRunner', () => testRunner(1000));
  await step('testRunnerAlone', () => testRunnerAlone(1000));
  // BENCH_SOAK_SCALE: how many times the test's operations (5 unless told).
  await step('soak', () => soak(Number(process.env.BENCH_SOAK_SCALE ?? 5)));
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const root of temps) rmSync(join(root, '..'), { recursive: true, force: true });
}

writeFileSync(new URL('./results.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
// One row per figure, for the steps that ran (BENCH_ONLY runs one).
const rows = [
  ['latencySimulated', (r) => ['save → answer, simulated realm (socket, other process)', latencyCell(r), 'p50 ≤ 8 ms, p95 ≤ 40 ms']],
  ['latencySimulatedHttp', (r) => ['save → answer, simulated realm long-polling over HTTP (the older figures)', latencyCell(r), '']],
  ['turnOverhead', (r) => ['bytes daebug adds to a log for one `1+1` turn (agent wrote a bare fence)', `${r.total} B: request header ${r.requestHeader}, reply header ${r.replyHeader}, result block ${r.resultBlock}, blank lines ${r.blankLines}`, '']],
  ['latencyBrowser', (r) => ['save → answer, headless Chromium page', latencyCell(r), 'p50 ≤ 12 ms']],
  ['latencyNode', (r) => ['save → answer, Node realm (node --import daebug/node)', latencyCell(r), 'p50 ≤ 15 ms']],
  ['latency1MB', (r) => ['save → answer, 1 MB of history', latencyCell(r), '']],
  ['latency10MB', (r) => ['save → answer, 10 MB of history', latencyCell(r), 'p50 ≤ 50 ms']],
  ['scale', (r) => [`scale: ${r.jobs} jobs over 100 realms at once`, `${r.jobsPerSecond} jobs/s, slowest ${r.slowestReplyMs} ms, ${r.correct}/${r.jobs} correct`, '≥ 400 jobs/s']],
  ['idle', (r) => ['idle: 50 realms for 10 s', `${r.cpuMs} ms CPU, ${r.fileWrites} file writes, ${r.rssMb} MB RSS`, '0 writes, ≤ 100 MB']],
  ['startup', (r) => ['start-up to /-daebug/health', `p50 ${r.p50} ms, p95 ${r.p95} ms`, '≤ 300 ms']],
  ['evalCommand', (r) => ['daebug realms, its own start-up (wall minus node -e 0, p50)', `${r.realmsOwnMs} ms (${r.realmsMs} ms vs ${r.nodeMs} ms)`, '< 100 ms']],
  ['evalCommand', (r) => ['daebug eval 1+1, whole command with the answer (p50)', `${r.evalMs} ms, ${r.evalOwnMs} ms more than node -e 0`, '']],
  ['proxyOverhead', (r) => ['--proxy: a 1 MB script, direct vs through daebug (p50)', `${r.big.directMs} ms vs ${r.big.proxyMs} ms (${r.big.slowerPercent}% slower)`, '≤ 10% slower']],
  ['proxyOverhead', (r) => ['--proxy: 100 small modules, 6 at a time, direct vs through daebug (p50)', `${r.small.directMs} ms vs ${r.small.proxyMs} ms (${r.small.slowerPercent}% slower)`, '≤ 10% slower']],
  ['proxyVite', (r) => ['--proxy in front of real Vite: a page of 100 modules in Chromium, first load (p50): direct, a bare http-proxy-3, daebug', `${r.load.directMs} / ${r.load.bareMs} (+${r.load.bareSlowerPercent}%) / ${r.load.proxyMs} ms (+${r.load.slowerPercent}%); daebug's own, paired per round: ${r.load.pointsAboveBare} points`, 'within 5 points of the bare proxy']],
  ['proxyVite', (r) => ['--proxy in front of real Vite: the same page reloaded (p50): direct, bare, daebug', `${r.reload.directMs} / ${r.reload.bareMs} (+${r.reload.bareSlowerPercent}%) / ${r.reload.proxyMs} ms (+${r.reload.slowerPercent}%); daebug's own, paired per round: ${r.reload.pointsAboveBare} points`, 'within 5 points of the bare proxy']],
  ['testRunner', (r) => ['1,000 trivial tests, daebug --test in an open page', `${r.wallMs} ms wall, exit ${r.exitCode}, ${r.logFileEvents} log file events`, '≤ 3 s']],
  ['testRunnerAlone', (r) => ['1,000 trivial tests, daebug --test launching its own browser', `${r.wallMs} ms wall, exit ${r.exitCode}`, '']],
  ['soak', (r) => ['soak: editor safe saves (temp file + rename) racing replies, 300 KiB history', soakCell(r['editor safe saves']), '0 losses']],
  ['soak', (r) => ['soak: edit tool writing in place racing replies, 300 KiB history', soakCell(r['edit tool in place']), '0 losses']],
]
  .filter(([name]) => results[name])
  .map(([name, row]) => row(results[name]));
console.log(`\n| measure | result | target |\n| --- | --- | --- |\n${rows.map((row) => `| ${row.join(' | ')} |`).join('\n')}\n`);
console.log(`(${results.cpus} cores, ${results.cpu}, Node ${results.node})`);
