#!/usr/bin/env node
/**
 * The `daebug` command: parses arguments (mri), picks the port, starts the server and the daemon,
 * prints the banner and one line per event, and maps every failure to an exit code. The only module
 * that calls `process.exit`.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import mri from 'mri';
import { DEFAULT_TIMING } from '../daemon/contract.js';
import { parseAllowedOrigin } from '../transport/security.js';
import { askToOpen, openTarget } from './open-browser.js';
import { exitCodeFor, stopOnProcessEnd } from './process-stop.js';
import { commandLine } from './command-line.js';
import { parseProxyTarget } from './proxy-target.js';
import { createConsoleLog } from './console-log.js';
import { candidatePorts, describeOwner, portOwner, servesRoot, takeOver } from './port.js';
import type { ServeOptions, Serving } from './serve.js';
import type { TestSettings } from './test-command.js';

const HELP = `daebug: run JavaScript in live browser pages, workers and Node processes through Markdown files

Usage:
  npx daebug [--root <dir>] [--port <n>] [--host <addr>] [--timeout <ms>] [--log json]
             [--max-output <bytes>] [--allow-origin <origin>]... [--open [<path>|<url>] [--headless] [--browser <path>]]
  npx daebug --proxy <url|port> [--root <dir>] [--port <n>] [...]
  npx daebug node [node options] <app.js> [args]
  npx daebug --test [<glob>...] [--root <dir>] [--port <n>] [--page <text>] [--timeout <ms>]
                    [--browser <path>]
  npx daebug eval [--realm <text>] [--timeout <ms>] [--root <dir>] [<code> | -]
  npx daebug realms [--root <dir>]
  npx daebug --help | --version

Options:
  -r, --root <dir>     folder to serve and watch (default: the current folder)
  -p, --port <n>       port (default: PORT, else derived from the folder name like earlier daebug);
                       with --test: use the daebug serving the folder there, or start one there
                       (PORT is not read); a daebug already serving the folder elsewhere is used
      --proxy <target> pass every request outside /-daebug/ to your dev server (http://localhost:5173,
                       or 5173 for that) instead of serving the folder, injecting the client into
                       its pages and worker scripts; hot reload's WebSockets pass too. daebug.md and
                       daebug/ stay in --root
      --host <addr>    interface to listen on (default 127.0.0.1; others expose your pages' REPL)
      --timeout <ms>   how long a request may run before it fails (default 60000)
      --log json       one JSON object per line instead of readable lines
      --max-output <bytes>
                       budget of each block of an answer (value, error, each event, a section's
                       events together; default 4096, 4k works too); the whole text of a longer
                       one goes to daebug/<realm>.out/<n>.json or .txt, named in the cut block
      --allow-origin <origin>
                       also let pages on <origin> (exactly, e.g. http://app.test:3000) load the
                       script tag and connect; pages on loopback origins always may; repeatable
      --open [<path>|<url>]
                       launch Chromium on <path> of the pages' server (default /: daebug's, or
                       the dev server's with the plugin) or on a URL of this machine, so requests
                       there can take screenshots with await daebug.screenshot(); a daebug already
                       serving the folder launches it and keeps running; playwright-core and a
                       system Chrome or Chromium (--browser, CHROME_PATH, or the usual paths)
      --headless       with --open: no window
      --test           run node:test files (default **/*.test.{js,mjs}, **/test-*.{js,mjs}; .ts,
                       .tsx and .mts too behind a dev server, which compiles them) in a
                       page and exit 0 when all pass, 1 otherwise, 2 for a pattern that leaves
                       the folder or a --port in use by something else; uses the daebug already
                       serving the folder, else starts one; launches headless Chromium
                       when no page connects within 3 s (1 s when it had to start daebug itself)
      --page <text>    with --test: the realm whose name or URL contains <text>
      --browser <path> with --test or --open: the Chrome or Chromium to launch (default CHROME_PATH, or the
                       usual install paths)
  eval                 run <code> (or standard input, with - or no code) in a realm of the daebug
                       serving the folder: appends it to the realm's log as a request, waits for
                       the answer and prints it; exit 0 for 👍, 1 for 🚫, 2 for no answer within
                       --timeout (default 65000), no daebug or no such realm
      --realm <text>   with eval: the realm whose name or URL contains <text> (the only one when
                       there is one)
  realms               list the realms of the daebug serving the folder, as daebug.md does
  -h, --help           this help
  -v, --version        the version

daebug node runs a Node app with daebug attached: the process is the realm node-<script>
(daebug/node-app.md for app.js), in the daebug serving the current folder, or one started
for as long as the app runs. Signals go to the app; its exit code is daebug's. Start Node
yourself with node --import daebug/node app.js (--require daebug/node for CommonJS apps and
Node versions without --import); without a daebug for the folder the app runs as usual.
In the app, import { expose } from 'daebug/node'; expose({ app, db }) hands names to requests.

Open a served page, then append a fenced js block to daebug/<realm>.md; the answer is written under it.
A page on your own dev server joins with <script src="http://localhost:<port>/-daebug/client.js"></script>.
Realms are listed in daebug.md. Write %%SHUTDOWN%% on a line of its own there to stop the daemon.
`;

const KNOWN = new Set(['root', 'r', 'port', 'p', 'proxy', 'host', 'timeout', 'log', 'allow-origin', 'max-output', 'open', 'headless', 'help', 'h', 'version', 'v', 'test', 'page', 'browser', '_']);

/** A usage error: one line, a hint, exit code 2. */
class UsageError extends Error {}

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

interface Settings {
  root: string;
  port: number | null;
  host: string;
  timeoutMs: number;
  json: boolean;
  allowedOrigins: string[];
  maxOutputBytes?: number;
  proxy?: URL;
  /** `--open`: the path or loopback URL to launch Chromium on, `--headless`, `--browser`. */
  open: { target: string; headless: boolean; browser: string | null } | null;
  /** The options given that decide how a daebug serves: a running one that `--open` joins keeps its own. */
  serving: string[];
}

function parseSettings(argv: readonly string[]): Settings | (TestSettings & { test: true }) | 'help' | 'version' {
  const args = mri([...argv], { alias: { r: 'root', p: 'port', h: 'help', v: 'version' }, boolean: ['help', 'version', 'test', 'headless'], string: ['root', 'port', 'proxy', 'host', 'timeout', 'log', 'page', 'browser', 'allow-origin', 'max-output', 'open'] });
  for (const key of Object.keys(args)) if (!KNOWN.has(key)) throw new UsageError(`unknown option --${key}`);
  if (args._.length > 0 && !args.test) throw new UsageError(`unexpected argument ${JSON.stringify(args._[0])}`);
  if (!args.test && args.page !== undefined) throw new UsageError('--page goes with --test');
  if (!args.test && args.open === undefined && args.browser !== undefined) throw new UsageError('--browser goes with --test or --open');
  if (args.open === undefined && args.headless) throw new UsageError('--headless goes with --open');
  if (args.test && args.open !== undefined) throw new UsageError('--open does not go with --test, which launches its own browser when no page is open');
  if (args.test && args['max-output'] !== undefined) throw new UsageError('--max-output goes with serving, not with --test');
  if (args.test && args['allow-origin'] !== undefined) throw new UsageError('--allow-origin goes with serving, not with --test');
  if (args.test && args.proxy !== undefined) throw new UsageError('--proxy does not go with --test: start daebug --proxy, open a page, then run daebug --test');
  if (args.help) return 'help';
  if (args.version) return 'version';
  const root = resolve(String(args.root ?? '.'));
  let isFolder = false;
  try {
    isFolder = statSync(root).isDirectory();
  } catch {
    isFolder = false;
  }
  if (!isFolder) throw new UsageError(`--root ${root} is not a folder`);
  // PORT often names the app's own server (in CI above all): only an explicit --port points --test at a port.
  const portText = args.port ?? (args.test ? undefined : process.env.PORT);
  const port = portText === undefined || portText === '' ? null : Number(portText);
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new UsageError(`port ${JSON.stringify(String(portText))} is not a whole number from 1 to 65535`);
  const timeoutMs = args.timeout === undefined ? DEFAULT_TIMING.timeoutMs : Number(args.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new UsageError(`--timeout ${JSON.stringify(String(args.timeout))} is not a positive whole number of milliseconds`);
  if (args.log !== undefined && args.log !== 'json') throw new UsageError(`--log takes only "json"`);
  if (args.test) {
    const browser = args.browser === undefined ? null : resolve(String(args.browser));
    return { test: true, root, patterns: args._.map(String), port, page: args.page === undefined ? null : String(args.page), timeoutMs, browser, version: version() };
  }
  const allowedOrigins = [args['allow-origin'] ?? []].flat().map((text: unknown) => {
    const origin = parseAllowedOrigin(String(text));
    if (origin === null) throw new UsageError(`--allow-origin ${JSON.stringify(String(text))} is not an origin like http://app.test:3000`);
    return origin;
  });
  const proxy = args.proxy === undefined ? undefined : parseProxyTarget(String(args.proxy));
  if (proxy && !proxy.ok) throw new UsageError(proxy.reason);
  const maxOutputBytes = args['max-output'] === undefined ? undefined : parseBytes(String(args['max-output']));
  if (maxOutputBytes === null) throw new UsageError(`--max-output ${JSON.stringify(String(args['max-output']))} is not a number of bytes from 256 (like 4096 or 4k)`);
  const open = args.open === undefined ? null : { target: openArgument(String(args.open)), headless: Boolean(args.headless), browser: args.browser === undefined ? null : resolve(String(args.browser)) };
  const serving = ['proxy', 'host', 'allow-origin', 'max-output', 'timeout'].filter((key) => args[key] !== undefined).map((key) => `--${key}`);
  return { root, port, host: String(args.host ?? '127.0.0.1'), timeoutMs, json: args.log === 'json', allowedOrigins, proxy: proxy?.url, maxOutputBytes, open, serving };
}

/** `--open`'s value: a path (`/` when none, a leading `/` added) or a URL of this machine; anything else is a usage error. */
function openArgument(text: string): string {
  const target = /^[a-z][a-z0-9+.-]*:/i.test(text) ? text : text.replace(/^\/?/, '/');
  const checked = openTarget(target, 'http://localhost/');
  if ('refused' in checked) throw new UsageError(checked.refused);
  return target;
}

/** `4096`, `4k`, `4KB` or `4KiB` as bytes; null for anything else, or less than 256. */
function parseBytes(text: string): number | null {
  const match = /^(\d+)\s*(k|kb|kib)?$/i.exec(text.trim());
  if (!match) return null;
  const bytes = Number(match[1]) * (match[2] ? 1024 : 1);
  return Number.isSafeInteger(bytes) && bytes >= 256 ? bytes : null;
}

/** Serves on the first usable port: an explicit port is the only one tried. */
/**
 * `--open` with a daebug already serving the root (the plugin's, a `--proxy` one, a plain one): that
 * daebug launches the browser and keeps serving as it does; it is joined, never replaced. Returns the
 * exit code, or null when no daebug serves the root.
 */
async function openInRunning(settings: Settings, open: NonNullable<Settings['open']>, say: (line: string) => void): Promise<number | null> {
  const { runningDaebug } = await import('./running-daebug.js');
  const running = await runningDaebug(settings.root, settings.port);
  if (running.kind === 'none') return null;
  const fail = (line: string, code: number) => (process.stderr.write(`daebug: ${line}\n`), code);
  if (running.kind === 'unusable') return fail(running.reason, 1);
  if (settings.serving.length > 0) return fail(`a daebug already serves ${settings.root} at ${running.base}, and --open joins it as it serves: ${settings.serving.join(', ')} cannot apply (stop it to start one that way)`, 2);
  return askToOpen(running.base, running.token, open.target, { headless: open.headless, browser: open.browser }).then(
    (url) => (say(`opened ${url} in the Chromium of the daebug at ${running.base}${open.headless ? ' (headless)' : ''}; daebug.screenshot() works in its pages`), 0),
    (error: Error) => fail(error.message, 1),
  );
}

async function serveOnFreePort(settings: Settings, onLog: ServeOptions['onLog'], say: (line: string) => void): Promise<Serving> {
  const ports = settings.port !== null ? [settings.port] : candidatePorts(basename(settings.root));
  for (const port of ports) {
    const owner = await portOwner(settings.host, port);
    if (await servesRoot(owner, settings.root)) {
      say(`another daebug serves ${settings.root} on port ${port}; asking it to stop`);
      if (!(await takeOver(settings.root, settings.host, port))) throw Object.assign(new Error(`the daebug on port ${port} did not stop within 3 s`), { code: 'ERR_PORT_TAKEN' });
    } else if (owner.kind !== 'free') {
      if (settings.port !== null) throw Object.assign(new Error(`port ${port} is in use by ${describeOwner(owner)}`), { code: 'ERR_PORT_TAKEN' });
      continue;
    }
    const { serve } = await import('./serve.js');
    try {
      return await serve({ root: settings.root, port, host: settings.host, version: version(), timing: { timeoutMs: settings.timeoutMs }, proxy: settings.proxy, onLog, command: commandLine(process.argv.slice(2)), allowedOrigins: settings.allowedOrigins, maxOutputBytes: settings.maxOutputBytes });
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_PORT_TAKEN' || settings.port !== null) throw error;
    }
  }
  throw Object.assign(new Error(`no free port among ${ports.join(', ')}`), { code: 'ERR_PORT_TAKEN' });
}

/** The default wait of `eval`: a little longer than a job may run, so a timed-out job's 🚫 comes first. */
const EVAL_TIMEOUT_MS = DEFAULT_TIMING.timeoutMs + 5_000;

/** `daebug eval ...` and `daebug realms ...`: parsed here, run by eval-command.ts. */
async function runSubcommand(name: 'eval' | 'realms', argv: readonly string[]): Promise<number> {
  const args = mri([...argv], { alias: { r: 'root' }, string: ['root', 'realm', 'timeout'] });
  const allowed = new Set(name === 'eval' ? ['root', 'r', 'realm', 'timeout', '_'] : ['root', 'r', '_']);
  for (const key of Object.keys(args)) if (!allowed.has(key)) throw new UsageError(`unknown option --${key} for daebug ${name}`);
  const root = resolve(String(args.root ?? '.'));
  const { runEval, runRealms } = await import('./eval-command.js');
  const say = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const fail = (line: string) => process.stderr.write(`${line}\n`);
  if (name === 'realms') {
    if (args._.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args._[0])} for daebug realms`);
    return runRealms(root, say, fail);
  }
  if (args._.length > 1) throw new UsageError('daebug eval takes one argument, the code (quote it), or - to read it from standard input');
  const timeoutMs = args.timeout === undefined ? EVAL_TIMEOUT_MS : Number(args.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new UsageError(`--timeout ${JSON.stringify(String(args.timeout))} is not a positive whole number of milliseconds`);
  const given = args._[0] === undefined ? '-' : String(args._[0]);
  if (given === '-' && process.stdin.isTTY) throw new UsageError('daebug eval needs code: daebug eval "document.title", or pipe it in with -');
  const code = given === '-' ? readFileSync(0, 'utf8') : given;
  if (code.trim() === '') throw new UsageError('daebug eval got no code');
  return runEval({ root, realm: args.realm === undefined ? null : String(args.realm), timeoutMs, code }, say, fail);
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'eval' || argv[0] === 'realms') {
    try {
      return await runSubcommand(argv[0], argv.slice(1));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      process.stderr.write(`daebug: ${error.message}\nRun daebug --help for usage.\n`);
      return 2;
    }
  }
  // Everything after `node` is Node's: its options, the script and the script's arguments.
  if (argv[0] === 'node') return runNode(argv.slice(1));
  let settings: Settings | (TestSettings & { test: true }) | 'help' | 'version';
  try {
    settings = parseSettings(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`daebug: ${error.message}\nRun daebug --help for usage.\n`);
    return 2;
  }
  if (settings === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (settings === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if ('test' in settings) {
    const { runTestCommand } = await import('./test-command.js');
    return runTestCommand(settings, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`));
  }
  const out = createConsoleLog({ json: settings.json, color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR });
  if (settings.open) {
    const joined = await openInRunning(settings, settings.open, out.line);
    if (joined !== null) return joined;
  }
  let serving: Serving;
  try {
    serving = await serveOnFreePort(settings, out.entry, out.line);
  } catch (error) {
    process.stderr.write(`daebug: ${(error as Error).message}\n`);
    return (error as { code?: string }).code === 'ERR_PORT_TAKEN' ? 2 : 1;
  }
  // Handlers first: a signal sent as soon as the banner shows must still leave the stopped registry.
  stopOnProcessEnd(serving, (code) => process.exit(code));
  out.banner({ version: version(), root: settings.root, url: serving.url, host: settings.host, allowedOrigins: settings.allowedOrigins, proxy: settings.proxy?.origin });
  if (settings.open) {
    const { headless } = settings.open;
    // A browser that cannot start leaves daebug serving: the pages can still be opened by hand.
    await serving.open(settings.open.target, settings.open).then(
      (url) => out.line(`opened ${url} in Chromium${headless ? ' (headless)' : ''}; daebug.screenshot() works in its pages`),
      (error: Error) => out.line(`could not open the browser: ${error.message.split('\n')[0]}`),
    );
  }
  return exitCodeFor(await serving.closed);
}

async function runNode(nodeArgs: readonly string[]): Promise<number> {
  if (nodeArgs.length === 0) {
    process.stderr.write('daebug: daebug node needs the app to run, like daebug node app.js\nRun daebug --help for usage.\n');
    return 2;
  }
  const { runNodeCommand } = await import('./node-command.js');
  const ended = await runNodeCommand(nodeArgs, version(), (line) => process.stderr.write(`${line}\n`));
  if (typeof ended === 'number') return ended;
  // Ended by a signal: end by the same one, so whoever started daebug node sees what the app got.
  process.kill(process.pid, ended);
  return 128 + 15;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`daebug: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
