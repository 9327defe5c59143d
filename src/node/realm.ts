/**
 * A Node process as a realm: it finds the daebug of its folder (find-daemon.ts), connects with the
 * daemon's token as `node-<script>`, long-polls for jobs and runs them (run-job.ts), sends console
 * output and errors (capture.ts), and tells the daemon its exit code as it exits. When the daemon goes
 * away it looks for it again, with back-off, on unref'd timers and sockets: daebug never keeps the
 * process alive and never blocks its event loop. Nothing here may throw into the app.
 */
import { basename, dirname, extname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { shellQuote } from '../cli/command-line.js';
import { REQUEST_SOURCE_PREFIX, type ConnectAnswer, type PollAnswer, type WireEvent, type WireOutcome } from '../protocol/messages.js';
import { logFileName, logPath } from '../protocol/registry.js';
import { ROUTES, SECRET_HEADER, TOKEN_HEADER, routePath, type RouteName } from '../protocol/routes.js';
import { installNodeCapture } from './capture.js';
import { findDaemon, type DaemonAddress } from './find-daemon.js';
import { openLastWords, send, type LastWords } from './http.js';
import { renderNodeError, renderNodeValue } from './render.js';
import { createJobRunner } from './run-job.js';

/** A connection: the daemon, and the realm's name and secret there. */
interface Link {
  daemon: DaemonAddress;
  name: string;
  secret: string;
  exit: LastWords;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;
/** The daemon answers a poll within 25 s; a poll silent for longer is given up. */
const POLL_SILENCE_MS = 40_000;
/** Events kept while not connected; later ones are dropped. */
const MAX_EARLY_EVENTS = 100;
/** Names tried after `node-<script>` is held by another live process: `node-<script>-2` and on. */
const MAX_NAME_TRIES = 20;

// The console as it was before capture: what daebug says is not an event of the app.
const say = console.error.bind(console);

/** Starts the realm of this process (once per process; the caller checks). */
export function startNodeRealm(): void {
  const script = process.argv[1] ? resolve(process.argv[1]) : null;
  const appDir = script ? dirname(script) : process.cwd();
  const baseName = `node-${script ? logFileName(basename(script, extname(script))) : 'eval'}`.slice(0, 70);
  const runJob = createJobRunner(appDir);
  let link: Link | null = null;

  const post = async (route: RouteName, body: unknown, jobId?: string): Promise<number | null> => {
    const own = link;
    if (!own) return null;
    try {
      const answer = await send(own.daemon, 'POST', routePath(route, { realm: own.name, jobId }), { [SECRET_HEADER]: own.secret }, body);
      if (answer.status === 401 && link === own) drop();
      return answer.status;
    } catch {
      return null;
    }
  };
  const report = (message: string) => void post('diagnostics', { message });
  // What the app prints before it is connected (its start-up lines) is sent once it is.
  const early: WireEvent[] = [];
  const sendEvents = (jobId: string | null, events: WireEvent[]) => {
    if (!link) return void early.push(...events.slice(0, MAX_EARLY_EVENTS - early.length));
    void post('events', jobId ? { jobId, events } : { events });
  };
  const capture = installNodeCapture(sendEvents, report);

  const drop = () => {
    link?.exit.drop();
    link = null;
  };

  const connect = connector(baseName, appDir);

  const run = async (job: Extract<PollAnswer, { type: 'job' }>) => {
    capture.setJob(job.jobId);
    const started = performance.now();
    let outcome: WireOutcome;
    try {
      outcome = { kind: 'value', value: renderNodeValue(await runJob(job.body, `${REQUEST_SOURCE_PREFIX}${job.jobId}`)) };
    } catch (error) {
      outcome = { kind: 'error', error: safely(() => renderNodeError(error)) };
    }
    const durationMs = performance.now() - started;
    capture.setJob(null);
    const status = await post('result', { outcome, durationMs, events: capture.takeJobEvents(job.jobId) }, job.jobId);
    if (status === 409) report(`the daemon refused the result of job ${job.jobId}`);
  };

  process.on('exit', (code) => {
    link?.exit.say({ code, events: safely(() => capture.takeAll(), [] as WireEvent[]) });
  });

  void pollForever(async () => {
    if (!link) {
      link = await connect().catch(() => null);
      if (!link) return 'retry';
      if (early.length > 0) sendEvents(null, early.splice(0));
    }
    const own = link;
    const answer = await send(own.daemon, 'GET', routePath('poll', { realm: own.name }), { [SECRET_HEADER]: own.secret }, undefined, POLL_SILENCE_MS).catch(() => null);
    if (!answer || answer.status === 401 || answer.status === 404) {
      if (link === own) drop();
      return answer ? 'again' : 'retry';
    }
    const work = answer.body as PollAnswer | null;
    if (work?.type === 'job') void run(work);
    else if (work?.type === 'tests') report('test runs go to pages and workers; this Node process skipped one');
    return 'again';
  });
}

/**
 * Connects to the daemon of this folder as `base` (or `base-2` and on, when other live processes hold
 * the name); null when there is none or it refused. Each kind of trouble is said once on stderr.
 */
function connector(base: string, appDir: string): () => Promise<Link | null> {
  let connected = false;
  const told = new Set<'missing' | 'taken' | 'refused'>();
  const once = (what: 'missing' | 'taken' | 'refused', line: string) => {
    if (!told.has(what)) say(line);
    told.add(what);
  };
  return async () => {
    const found = await findDaemon([process.cwd(), appDir]);
    if (found.kind === 'refused') {
      once('refused', `daebug: not connecting: ${found.reason}`);
      return null;
    }
    if (found.kind === 'none') {
      once('missing', `daebug: not running for ${process.cwd()} (no .daebug/daemon.json in the project's .daebug/); start npx daebug in the project folder and this process connects`);
      return null;
    }
    const { daemon } = found;
    for (let attempt = 1; attempt <= MAX_NAME_TRIES; attempt++) {
      const name = attempt === 1 ? base : `${base}-${attempt}`;
      const answer = await send(daemon, 'POST', ROUTES.connectNode.path, { [TOKEN_HEADER]: daemon.token }, { name, pid: process.pid, command: commandLine(), reconnect: connected });
      if (answer.status === 409) continue;
      if (answer.status !== 200) return null;
      const { realm, secret } = answer.body as ConnectAnswer;
      if (!connected || told.has('missing') || told.has('refused')) say(`daebug: this process is the realm ${realm}; append a js block to ${logPath(realm)} in ${daemon.root}`);
      connected = true;
      told.clear();
      const exit = openLastWords(daemon, routePath('nodeExit', { realm }), { [SECRET_HEADER]: secret });
      return { daemon, name: realm, secret, exit };
    }
    once('taken', `daebug: ${base} and ${MAX_NAME_TRIES - 1} more names are taken by other processes; this one stays out`);
    return null;
  };
}

/**
 * Calls `step` again and again: at once after `again`, after a back-off that doubles up to 5 s after
 * `retry` (the daemon is away). The waits are unref'd timers.
 */
async function pollForever(step: () => Promise<'again' | 'retry'>): Promise<void> {
  let backoff = MIN_BACKOFF_MS;
  for (;;) {
    const next = await step().catch(() => 'retry' as const);
    if (next === 'again') {
      backoff = MIN_BACKOFF_MS;
      continue;
    }
    await new Promise((done) => setTimeout(done, backoff).unref());
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

/** How the process was started, for the registry: `node --watch app.js --port 3000`, without daebug's own preload. */
function commandLine(): string {
  const flags: string[] = [];
  const exec = process.execArgv;
  for (let index = 0; index < exec.length; index++) {
    const flag = exec[index]!;
    const preload = /^(--import|--require|-r)(=(.*))?$/.exec(flag);
    if (preload) {
      const value = preload[3] ?? exec[index + 1] ?? '';
      if (preload[3] === undefined) index++;
      if (!isDaebugPreload(value)) flags.push(flag, ...(preload[3] === undefined ? [value] : []));
      continue;
    }
    flags.push(flag);
  }
  const script = process.argv[1] ? [relativeToCwd(process.argv[1])] : [];
  return ['node', ...flags, ...script, ...process.argv.slice(2)].map((word, index) => (index === 0 ? word : shellQuote(word))).join(' ');
}

/** `daebug/node`, or this module's own file as `npx daebug node` names it. */
function isDaebugPreload(specifier: string): boolean {
  return specifier.includes('daebug') || /[\\/]dist[\\/]node\.c?js$/.test(specifier);
}

function relativeToCwd(path: string): string {
  const cwd = process.cwd();
  return path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
}

function safely<T>(work: () => T, fallback?: T): T {
  try {
    return work();
  } catch (error) {
    if (fallback !== undefined) return fallback;
    return `(daebug could not render this: ${String(error)})` as T;
  }
}
