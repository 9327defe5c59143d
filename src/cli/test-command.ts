/**
 * `daebug --test`: runs node:test files in a real page and exits 0 when all pass, 1 otherwise. Uses
 * the daebug already serving the root (see running-daebug.ts), or starts one, on `--port` when given;
 * uses a connected page, or launches headless Chromium on the root page when none connects within a
 * few seconds.
 */
import { existsSync } from 'node:fs';
import { basename, relative } from 'node:path';
import type { TestProgressEvent } from '../protocol/messages.js';
import { oneLine, printable } from '../protocol/safe-text.js';
import { formatDuration } from '../protocol/time.js';
import { DEFAULT_TEST_PATTERNS, DEV_SERVER_TEST_PATTERNS, discoverTestFiles } from '../daemon/test-discovery.js';
import { ROUTES, TOKEN_HEADER } from '../protocol/routes.js';
import { commandLine } from './command-line.js';
import { findBrowser, launchChromium } from './open-browser.js';
import { candidatePorts, describeOwner, portOwner } from './port.js';
import { runningDaebug } from './running-daebug.js';
import { serve, type Serving } from './serve.js';

/** What `--test` was asked to do. */
export interface TestSettings {
  root: string;
  patterns: string[];
  /** `--port`: the daebug to use, or the port to start one on; null to look for one and pick a derived port. */
  port: number | null;
  page: string | null;
  timeoutMs: number;
  browser: string | null;
  version: string;
}

interface RealmInfo {
  name: string;
  kind: string;
  url: string;
  state: string;
  /** A page that said it is going (closed, or reloading). */
  closing?: boolean;
}

const WAIT_FOR_REALM_MS = 3_000;
const WAIT_FOR_RECONNECT_MS = 1_000;

/** A failure with a one-line reason. */
class TestCommandError extends Error {}

/** Runs the tests; resolves with the exit code: 0 all passed, 1 a failure or nothing to run, 2 a refused pattern or a --port in use. */
export async function runTestCommand(settings: TestSettings, say: (line: string) => void, fail: (line: string) => void): Promise<number> {
  // Without patterns TypeScript files are found too, and run only where a dev server compiles them.
  const found = await discoverTestFiles(settings.root, settings.patterns.length > 0 ? settings.patterns : DEV_SERVER_TEST_PATTERNS);
  if (!found.ok) {
    fail(`daebug: ${found.error}`);
    return 2;
  }
  if (found.files.length === 0) {
    fail(`daebug: no test files match ${(settings.patterns.length > 0 ? settings.patterns : DEFAULT_TEST_PATTERNS).join(', ')} under ${settings.root}`);
    return 1;
  }
  if (found.capped) fail(`daebug: more than ${found.files.length} files match; running the first ${found.files.length} (narrow the patterns)`);
  let own: Serving | null = null;
  let closeBrowser: (() => Promise<void>) | null = null;
  try {
    const running = await runningDaebug(settings.root, settings.port);
    if (running.kind === 'unusable') throw new TestCommandError(running.reason);
    let daemon: { base: string; token: string };
    if (running.kind === 'found') {
      if (settings.port !== null && running.port !== settings.port) say(`using the daebug on port ${running.port}, which serves ${settings.root}`);
      daemon = running;
    } else {
      own = await serveOwn(settings);
      daemon = { base: own.url, token: own.toolToken };
    }
    const { base, token } = daemon;
    const pages = await pagesOf(base);
    const files = pages.compiled || settings.patterns.length > 0 ? found.files : found.files.filter((file) => /\.m?js$/.test(file));
    if (files.length === 0) throw new TestCommandError(`no test files match ${DEFAULT_TEST_PATTERNS.join(', ')} under ${settings.root} (TypeScript test files run behind a dev server: the Vite plugin, or --proxy)`);
    // A daemon started just now has no pages yet, except ones from an earlier run that reconnect on
    // their own within a second or so; a running daemon may have a page that is just loading.
    const wait = settings.page ? 0 : own ? WAIT_FOR_RECONNECT_MS : WAIT_FOR_REALM_MS;
    let realm = await waitForRealm(base, token, settings.page, pages.at, wait);
    if (!realm && settings.page) {
      const connected = await realmsOf(base, token);
      throw new TestCommandError(`no realm matches --page ${JSON.stringify(settings.page)}; connected: ${connected.map((entry) => entry.name).join(', ') || 'none'}`);
    }
    if (!realm) {
      closeBrowser = await launchBrowser(pages.at, settings.browser);
      realm = await waitForRealm(base, token, null, pages.at, 15_000);
      if (!realm) throw new TestCommandError(`the launched browser opened ${pages.at} but no page connected`);
    }
    say(`running ${files.length} test file${files.length > 1 ? 's' : ''} in ${realm.name}`);
    return await streamRun(base, token, realm.name, files, settings.timeoutMs, say, fail);
  } catch (error) {
    fail(`daebug: ${(error as Error).message}`);
    return (error as { code?: string }).code === 'ERR_PORT_TAKEN' ? 2 : 1;
  } finally {
    await closeBrowser?.().catch(() => {});
    await own?.stop('test run finished');
  }
}

/**
 * Where the daebug at `base` has its pages (the plugin's dev server, else its own address, which is
 * also where --proxy shows the dev server's), and whether a dev server compiles them (TypeScript).
 */
async function pagesOf(base: string): Promise<{ at: string; compiled: boolean }> {
  const health = (await (await fetch(new URL(ROUTES.health.path, base))).json().catch(() => ({}))) as { devServer?: unknown; proxy?: unknown };
  const devServer = typeof health.devServer === 'string' ? health.devServer : null;
  return { at: devServer ?? base, compiled: devServer !== null || typeof health.proxy === 'string' };
}

/** Starts a daebug for the tests: on `--port` when given (an error when it is taken), else on the first free derived port. */
async function serveOwn(settings: TestSettings): Promise<Serving> {
  const explicit = settings.port !== null;
  for (const port of settings.port !== null ? [settings.port] : candidatePorts(basename(settings.root))) {
    const owner = await portOwner('127.0.0.1', port);
    if (owner.kind !== 'free') {
      if (explicit) throw Object.assign(new TestCommandError(`port ${port} is in use by ${describeOwner(owner)}`), { code: 'ERR_PORT_TAKEN' });
      continue;
    }
    try {
      return await serve({ root: settings.root, port, host: '127.0.0.1', version: settings.version, timing: {}, onLog: () => {}, command: startCommand(settings.root, port) });
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_PORT_TAKEN' || explicit) throw error;
    }
  }
  throw new TestCommandError('no free port for a daebug to run the tests');
}

/** How to start a daemon like the one the tests ran on, from the folder `--test` was run in. */
function startCommand(root: string, port: number): string {
  const folder = relative(process.cwd(), root);
  return commandLine([...(folder === '' ? [] : ['--root', folder]), '--port', String(port)]);
}

async function realmsOf(base: string, token: string): Promise<RealmInfo[]> {
  const response = await fetch(new URL(ROUTES.realms.path, base), { headers: { [TOKEN_HEADER]: token } });
  // A refusal here would otherwise read as "no page connected" and launch a browser for nothing.
  if (!response.ok) throw new TestCommandError(`the daebug on ${base} refused its realm list (${response.status}): ${oneLine(await response.text(), 200)}`);
  return (await response.json()) as RealmInfo[];
}

/**
 * The realm to run in: `--page` by case-insensitive substring (pages before workers), else the most
 * recent page this daebug serves. A page of another server (a script tag) is used only when named: its
 * test files would come from that server, and it has no import map for `node:test`.
 */
async function waitForRealm(base: string, token: string, page: string | null, pagesAt: string, waitMs: number): Promise<RealmInfo | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const live = (await realmsOf(base, token)).filter((realm) => (realm.state === 'idle' || realm.state === 'executing') && !realm.closing);
    const pages = live.filter((realm) => realm.kind === 'page');
    const wanted = page?.toLowerCase();
    const match = wanted ? [...pages, ...live.filter((realm) => realm.kind !== 'page')].find((realm) => realm.name.toLowerCase().includes(wanted) || realm.url.toLowerCase().includes(wanted)) : pages.find((realm) => isServedBy(realm.url, pagesAt));
    if (match || Date.now() >= deadline) return match ?? null;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** True for a page URL on the server at `base` (its port, however its loopback host is spelled). */
function isServedBy(url: string, base: string): boolean {
  try {
    return new URL(url).port === new URL(base).port;
  } catch {
    return false;
  }
}

async function launchBrowser(base: string, explicit: string | null): Promise<() => Promise<void>> {
  if (explicit && !existsSync(explicit)) throw new TestCommandError(`--browser ${explicit} does not exist`);
  const path = findBrowser(explicit);
  if (!path) throw new TestCommandError('no page is connected and no browser was found: open the page, or pass --browser <path> (or set CHROME_PATH)');
  try {
    await import('playwright-core');
  } catch {
    throw new TestCommandError('no page is connected, and launching a browser needs the playwright-core package (npm install playwright-core)');
  }
  // Nobody works in this browser: it may run without the sandbox where the sandbox cannot start.
  const browser = await launchChromium(path, true, false);
  const page = await browser.newPage();
  await page.goto(base);
  return () => browser.close();
}

async function streamRun(base: string, token: string, realm: string, files: string[], timeoutMs: number, say: (line: string) => void, fail: (line: string) => void): Promise<number> {
  const response = await fetch(new URL(ROUTES.runTests.path, base), { method: 'POST', headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token }, body: JSON.stringify({ realm, files, timeoutMs }) });
  if (!response.ok || !response.body) throw new TestCommandError(`the daemon refused the run: ${await response.text()}`);
  const failures: Extract<TestProgressEvent, { kind: 'fail' }>[] = [];
  let passed = 0;
  let skipped = 0;
  let ended = false;
  let lastLine = Date.now();
  let buffer = '';
  const decoder = new TextDecoder();
  // On a terminal one line is rewritten in place; elsewhere a plain line at most every second.
  const live = process.stdout.isTTY ? (text: string) => process.stdout.write(`\r\x1b[2K${text.slice(0, (process.stdout.columns || 80) - 1)}`) : null;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.trim()) continue;
      const event = JSON.parse(line) as TestProgressEvent | { kind: 'accepted' };
      if (event.kind === 'pass') passed++;
      else if (event.kind === 'skip' || event.kind === 'todo') skipped++;
      else if (event.kind === 'fail') failures.push(event);
      else if (event.kind === 'end') ended = true;
      const status = `${passed} passed, ${failures.length} failed, ${skipped} skipped`;
      if (live) live(status + (event.kind === 'start' ? ` · ${testName(event.path)}` : ''));
      else if (Date.now() - lastLine > 1000) {
        say(`${status} so far`);
        lastLine = Date.now();
      }
    }
  }
  live?.('');
  if (!ended) throw new TestCommandError(`${realm} went away before the run finished`);
  for (const failure of failures) fail(`✗ ${testName(failure.path)} (${formatDuration(failure.durationMs)})\n${printable(failure.error).replace(/^/gm, '    ')}`);
  say(`${passed} passed, ${failures.length} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
  return failures.length === 0 && passed + skipped > 0 ? 0 : 1;
}

/** A test's `suite > name` for the terminal: names come from the realm, so no control characters. */
function testName(path: readonly string[]): string {
  return path.map((name) => oneLine(name, 200)).join(' > ');
}
