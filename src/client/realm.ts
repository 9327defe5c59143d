/**
 * A realm's connection to the daemon, shared by the page client and the worker bootstrap: it polls
 * for jobs (and keeps polling while one runs, so a promise that never settles cannot block the next
 * job), runs each job exactly once, reports its outcome with the events that belong to it, sends
 * everything else as background events, and reconnects with back-off when the daemon goes away.
 * Nothing here may throw into the page.
 */
import type { PollAnswer, WireEvent, WireOutcome } from '../protocol/messages.js';
import type { RealmKind } from '../protocol/registry.js';
import { MAX_BODY_BYTES, SECRET_HEADER, routePath } from '../protocol/routes.js';
import { installCapture } from './capture.js';
import { compileJob, type CompiledJob } from './compile-job.js';
import { createDaebugApi } from './daebug-api.js';
import { describeRequest, observeNetwork } from './network.js';
import { realmHelpers, runRequest } from './request-scope.js';
import { createConnection, type Credentials } from './connection.js';
import { waitForJobs } from './socket.js';
import { renderError, renderValue } from './render-value.js';

export type { Credentials } from './connection.js';

/** Where the daemon listens and how this realm connects to it. */
export interface RealmConfig {
  /** The daemon's origin; a worker learns it from its page once it asks for credentials, so it is read only when connected. */
  origin(): string;
  kind: RealmKind;
  /**
   * Connects (again): resolves with the realm's name and a new secret, or null when it cannot (the page
   * must be reloaded; it has said why in the console); rejects when the daemon cannot be reached, and
   * is tried again later.
   */
  connect(): Promise<Credentials | null>;
  /**
   * A module exporting `compileJob` (evaluate.ts) that compiles jobs instead of this script: given
   * when the browser mutes this script's errors (a page on another origin loaded it without CORS).
   * Read at the first job.
   */
  compilerUrl?(): string | undefined;
  /** The nonce of the page's client tag, if it has one: jobs run through it where the page's CSP forbids eval. */
  nonce?: string;
}

/** What a connected realm offers the rest of the client. */
export interface Connected {
  /** Reports a failure of daebug's own client code to the daemon's console (and the page's, unwrapped). */
  report(message: string): void;
  /** Tells the daemon the page started a SharedWorker, which is no realm (the registry says so). */
  sharedWorker(): void;
  /** Sends a message to one of this realm's routes; null when the daemon cannot be reached. */
  call(route: 'heartbeat' | 'connectWorker', body: unknown): Promise<Response | null>;
  /** The daemon's origin. */
  origin(): string;
}


type CompileJob = (body: string, params: readonly string[]) => CompiledJob;

/** Connects a realm: installs capture at once and starts polling once connected. */
export function startRealm(scope: typeof globalThis, config: RealmConfig): Connected {
  const quiet = { debug: scope.console.debug.bind(scope.console), warn: scope.console.warn.bind(scope.console) };
  const connection = createConnection(config.origin, config.connect);
  const { post } = connection;
  const report = (message: string) => {
    quiet.debug(`daebug: ${message}`);
    void post('diagnostics', { message });
  };
  // Events on their way: a job's result waits for them, or it could overtake them (two fetches) and
  // its events, no longer of a running job, land in a background section after the reply.
  // (Chained to undefined: each post's answer is dropped, not kept in a chain as long as the page lives.)
  let sending: Promise<void> = Promise.resolve();
  const sendEvents = async (jobId: string | null, events: WireEvent[]) => {
    const response = await post('events', jobId ? { jobId, events: cutEvents(events) } : { events: cutEvents(events) });
    // Too big even cut: one line says so, where the events would have been.
    if (response?.status === 413) await post('events', { ...(jobId ? { jobId } : {}), events: [tooBig(events.length)] });
  };
  const capture = installCapture(scope, config.kind, (jobId, events) => void (sending = Promise.all([sending, sendEvents(jobId, events)]).then(() => undefined)), report);
  const base = () => String(scope.location?.href ?? '');
  const network = observeNetwork(scope, (entry) => capture.add('network', 'Text', describeRequest(entry, base())), report);
  const api = createDaebugApi({ network, base });
  const compile = jobCompiler(() => config.compilerUrl?.(), config.nonce, (url, error) => {
    quiet.warn(`daebug: cannot load ${url} (${String(error)}): errors thrown later by the code you run here read "Script error."`);
    report(`cannot load ${url}: ${String(error)}`);
  });

  // What a request sees as `daebug`: the network list (daebug-api.ts), the outline and the screenshot (request-scope.ts).
  const helpers = { ...api, ...realmHelpers((body) => post('screenshot', body)) };

  const runJob = async (answer: Extract<PollAnswer, { type: 'job' }>) => {
    capture.setJob(answer.jobId);
    const started = performance.now();
    let outcome: WireOutcome;
    try {
      const value = await runRequest(scope, answer.jobId, answer.body, helpers, compile);
      outcome = { kind: 'value', value: safeRender(value) };
    } catch (error) {
      outcome = { kind: 'error', error: safeError(error) };
    }
    const durationMs = performance.now() - started;
    capture.setJob(null);
    const events = cutEvents(capture.takeJobEvents(answer.jobId));
    await sending;
    const sent = cutOutcome(outcome);
    const response = await post('result', { outcome: sent, durationMs, events }, answer.jobId);
    if (response && response.status === 409) report(`the daemon refused the result of job ${answer.jobId}`);
    // Refused for its size even so (a text JSON escapes six times over): the events give way to a line
    // that says so, then the value to an error; the job is answered, never left to time out.
    else if (response && response.status === 413) {
      const retried = await post('result', { outcome: sent, durationMs, events: [tooBig(events.length)] }, answer.jobId);
      const error = `Error: daebug could not send this answer: more than the ${LIMIT_MIB} MiB a request to the daemon may carry`;
      if (retried?.status === 413) await post('result', { outcome: { kind: 'error', error }, durationMs, events: [] }, answer.jobId);
    }
  };

  const handle = (answer: PollAnswer) => {
    if (answer.type === 'job') void runJob(answer);
    else if (answer.type === 'tests') void runTests(answer, config, connection, report);
  };
  void waitForJobs(connection, config.origin, handle, quiet.debug);
  return { report, sharedWorker: () => void post('diagnostics', { message: 'a SharedWorker was started', about: 'shared-worker' }), call: (route, body) => post(route, body), origin: config.origin };
}

/** Starts a test run: in a hidden frame in a page, in this realm itself in a worker. */
async function runTests(answer: Extract<PollAnswer, { type: 'tests' }>, config: RealmConfig, connection: ReturnType<typeof createConnection>, report: (message: string) => void): Promise<void> {
  const own = await connection.current();
  if (!own) return;
  const origin = config.origin();
  const progress = { url: `${origin}${routePath('testProgress', { realm: own.name })}`, secret: own.secret };
  if (config.kind !== 'page' || typeof document === 'undefined') {
    void runTestsHere(answer, progress, origin).catch((error) => report(`test run ${answer.runId} failed: ${String(error)}`));
    return;
  }
  try {
    startTestFrame(answer, progress, origin);
  } catch (error) {
    report(`could not start a test run: ${String(error)}`);
  }
}

/**
 * Compiles job bodies in this script, or, given `url`, in that module (evaluate.ts), imported at the
 * first job; back in this script, after `onUnloadable`, when the module cannot be loaded.
 */
function jobCompiler(compilerUrl: () => string | undefined, nonce: string | undefined, onUnloadable: (url: string, error: unknown) => void): (body: string, params: readonly string[]) => Promise<CompiledJob> {
  // Here: with the client tag's nonce where the page's CSP forbids eval (compile-job.ts).
  const here: CompileJob = (body, params) => compileJob(body, params, nonce);
  let compiler: Promise<CompileJob> | null = null;
  return async (body, params) => {
    const url = compiler ? undefined : compilerUrl();
    compiler ??= url
      ? import(/* @vite-ignore */ url).then(
          (module: { compileJob: CompileJob }) => module.compileJob,
          (error: unknown) => {
            onUnloadable(url, error);
            return here;
          },
        )
      : Promise.resolve(here);
    return (await compiler)(body, params);
  };
}

/**
 * The most a realm sends of one text (a value, an error, an event): a request to the daemon carries
 * at most MAX_BODY_BYTES, and the daemon keeps a few KiB in the log and the rest in a file beside it.
 */
const MAX_SENT_CHARS = 4 * 1024 * 1024;

const LIMIT_MIB = MAX_BODY_BYTES / 1024 / 1024;

/** The line that stands for console events too big to send, even cut. */
function tooBig(count: number): WireEvent {
  return { source: 'console.warn', time: Date.now(), lang: 'Text', text: `daebug could not send ${count} console event${count === 1 ? '' : 's'}: more than the ${LIMIT_MIB} MiB a request to the daemon may carry` };
}

function cutText(text: string): string {
  // First, so that the few KiB the log shows say it.
  return text.length <= MAX_SENT_CHARS ? text : `(cut by the realm: ${text.length} characters in all, the first ${MAX_SENT_CHARS} follow)\n${text.slice(0, MAX_SENT_CHARS)}`;
}

/** The outcome as sent: a text cut to MAX_SENT_CHARS is no JSON any more, so it goes as text. */
function cutOutcome(outcome: WireOutcome): WireOutcome {
  if (outcome.kind === 'error') return { kind: 'error', error: cutText(outcome.error) };
  return outcome.value.text.length <= MAX_SENT_CHARS ? outcome : { kind: 'value', value: { lang: 'Text', text: cutText(outcome.value.text) } };
}

function cutEvents(events: WireEvent[]): WireEvent[] {
  return events.map((event) => (event.text.length <= MAX_SENT_CHARS ? event : { ...event, lang: 'Text', text: cutText(event.text) }));
}

function safeRender(value: unknown) {
  try {
    return renderValue(value);
  } catch (error) {
    return { lang: 'Text' as const, text: `(daebug could not render this value: ${String(error)})` };
  }
}

function safeError(error: unknown): string {
  try {
    return renderError(error);
  } catch {
    return 'Uncaught (an error daebug could not render)';
  }
}


/** Where a test run's progress goes, and the realm secret it goes with. */
interface TestProgressTarget {
  url: string;
  secret: string;
}

/**
 * The page's import maps as one, as the browser applies them: an entry of an earlier map wins. Behind
 * `--proxy` daebug's own map follows the page's rather than being merged into it (inject.ts).
 */
function pageImportMap(): { imports: Record<string, string>; scopes: Record<string, Record<string, string>> } {
  const merged = { imports: {} as Record<string, string>, scopes: {} as Record<string, Record<string, string>> };
  for (const script of document.querySelectorAll('script[type="importmap"]')) {
    let map: { imports?: Record<string, string>; scopes?: Record<string, Record<string, string>> };
    try {
      map = JSON.parse(script.textContent ?? '') as typeof map;
    } catch {
      continue;
    }
    merged.imports = { ...map.imports, ...merged.imports };
    for (const [scope, entries] of Object.entries(map.scopes ?? {})) merged.scopes[scope] = { ...entries, ...merged.scopes[scope] };
  }
  return merged;
}

/**
 * Runs test files in a hidden iframe that carries the page's import map: modules load fresh for each
 * run and cannot disturb the page. The frame posts its progress to the daemon itself and removes
 * itself at the end.
 */
function startTestFrame(answer: Extract<PollAnswer, { type: 'tests' }>, progress: TestProgressTarget, origin: string): void {
  const pageMap = JSON.stringify(pageImportMap());
  const config = JSON.stringify({ runId: answer.runId, files: answer.files, timeout: answer.timeoutMs, progress, runner: `${origin}${routePath('nodeTest')}` });
  const frame = document.createElement('iframe');
  frame.hidden = true;
  frame.setAttribute('aria-hidden', 'true');
  frame.srcdoc = `<!doctype html><script type="importmap">${pageMap.replace(/</g, '\\u003c')}</script><script type="module">
const config = ${config.replace(/</g, '\\u003c')};
let queue = [];
let timer = null;
const send = () => {
  timer = null;
  const events = queue;
  queue = [];
  if (events.length > 0) return fetch(config.progress.url, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8', '${SECRET_HEADER}': config.progress.secret }, body: JSON.stringify({ runId: config.runId, events }) }).catch(() => {});
};
const { run } = await import(config.runner);
await run({ files: config.files, timeout: config.timeout, onEvent(event) {
  queue.push(event);
  if (event.kind === 'end') { clearTimeout(timer); send().then(() => parent.postMessage({ daebugTestRunDone: config.runId }, '*')); }
  else timer ??= setTimeout(send, 200);
} });
</script>`;
  const done = (event: MessageEvent) => {
    if ((event.data as { daebugTestRunDone?: string } | null)?.daebugTestRunDone !== answer.runId) return;
    window.removeEventListener('message', done);
    frame.remove();
  };
  window.addEventListener('message', done);
  document.documentElement.appendChild(frame);
}

/**
 * Runs test files in this realm itself (a worker). Workers have no import map, so the files are
 * asked for with `daebug-specifiers`: the server rewrites their `node:test` and `node:assert`
 * imports to daebug's modules.
 */
async function runTestsHere(answer: Extract<PollAnswer, { type: 'tests' }>, progress: TestProgressTarget, origin: string): Promise<void> {
  const runner = (await import(/* @vite-ignore */ `${origin}${routePath('nodeTest')}`)) as { run(options: { files: string[]; timeout: number; onEvent(event: unknown): void }): Promise<unknown> };
  let queue: unknown[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const send = async () => {
    timer = null;
    const events = queue;
    queue = [];
    if (events.length > 0) await fetch(progress.url, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8', [SECRET_HEADER]: progress.secret }, body: JSON.stringify({ runId: answer.runId, events }) }).catch(() => {});
  };
  const files = answer.files.map((file) => `${file}${file.includes('?') ? '&' : '?'}daebug-specifiers=1`);
  await runner.run({
    files,
    timeout: answer.timeoutMs,
    onEvent(event) {
      queue.push(event);
      if ((event as { kind: string }).kind === 'end') {
        if (timer) clearTimeout(timer);
        void send();
      } else timer ??= setTimeout(() => void send(), 200);
    },
  });
}
