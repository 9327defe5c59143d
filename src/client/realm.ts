/**
 * A realm's connection to the daemon, shared by the page client and the worker bootstrap: it polls
 * for jobs (and keeps polling while one runs, so a promise that never settles cannot block the next
 * job), runs each job exactly once, reports its outcome with the events that belong to it, sends
 * everything else as background events, and reconnects with back-off when the daemon goes away.
 * Nothing here may throw into the page.
 */
import type { PollAnswer, WireEvent, WireOutcome } from '../protocol/messages.js';
import type { RealmKind } from '../protocol/registry.js';
import type { EventSource } from '../protocol/render.js';
import { SECRET_HEADER, routePath, type RouteName } from '../protocol/routes.js';
import { renderConsoleArgs, renderError, renderValue } from './render-value.js';

/** A realm's name and the secret it sends with every call. */
export interface Credentials {
  name: string;
  secret: string;
}

/** Where the daemon listens and how this realm connects to it. */
export interface RealmConfig {
  origin: string;
  kind: RealmKind;
  /**
   * Connects (again): resolves with the realm's name and a new secret, or null when it cannot (the page
   * must be reloaded); rejects when the daemon cannot be reached, and is tried again later.
   */
  connect(): Promise<Credentials | null>;
}

/** What a connected realm offers the rest of the client. */
export interface Connected {
  /** Reports a failure of daebug's own client code to the daemon's console (and the page's, unwrapped). */
  report(message: string): void;
  /** Sends a message to one of this realm's routes; null when the daemon cannot be reached. */
  call(route: 'heartbeat' | 'connectWorker', body: unknown): Promise<Response | null>;
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const FLUSH_MS = 100;
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;

type AsyncFunctionConstructor = new (body: string) => () => Promise<unknown>;
const AsyncFunction = (async function () {}).constructor as AsyncFunctionConstructor;

/** Connects a realm: installs capture at once and starts polling once connected. */
export function startRealm(scope: typeof globalThis, config: RealmConfig): Connected {
  const quiet = { debug: scope.console.debug.bind(scope.console), warn: scope.console.warn.bind(scope.console) };
  const pending: { jobId: string | null; event: WireEvent }[] = [];
  let currentJob: string | null = null;
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let recording = false;
  let credentials: Credentials | null = null;
  let connecting: Promise<Credentials | null> | null = null;
  let gaveUp = false;

  /** The current credentials, connecting first if there are none; null once connecting gave up. */
  const connected = (): Promise<Credentials | null> => {
    if (credentials || gaveUp) return Promise.resolve(credentials);
    connecting ??= config.connect().then(
      (fresh) => {
        connecting = null;
        credentials = fresh;
        if (!fresh) {
          gaveUp = true;
          quiet.warn('daebug: this page was served by an earlier daebug run; reload it to reconnect');
        }
        return fresh;
      },
      (error: unknown) => {
        connecting = null;
        throw error;
      },
    );
    return connecting;
  };
  /** A 401 means the daemon no longer knows this secret (it restarted): connect again next time. */
  const forget = (stale: Credentials) => {
    if (credentials === stale) credentials = null;
  };

  const request = async (route: RouteName, init: RequestInit & { jobId?: string } = {}): Promise<Response | null> => {
    try {
      const own = await connected();
      if (!own) return null;
      const path = routePath(route, { realm: own.name, jobId: init.jobId });
      const response = await fetch(`${config.origin}${path}`, { ...init, headers: { ...init.headers, [SECRET_HEADER]: own.secret } });
      if (response.status === 401) forget(own);
      return response;
    } catch {
      return null;
    }
  };

  const post = (route: RouteName, body: unknown, jobId?: string) =>
    request(route, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'text/plain;charset=UTF-8' }, jobId });

  const report = (message: string) => {
    quiet.debug(`daebug: ${message}`);
    void post('diagnostics', { message });
  };

  const flush = () => {
    flushTimer = null;
    const byJob = new Map<string | null, WireEvent[]>();
    for (const { jobId, event } of pending.splice(0)) {
      const list = byJob.get(jobId) ?? [];
      list.push(event);
      byJob.set(jobId, list);
    }
    for (const [jobId, events] of byJob) void post('events', jobId ? { jobId, events } : { events });
  };

  const record = (source: EventSource, render: () => { lang: WireEvent['lang']; text: string }, location?: string) => {
    if (recording) return;
    recording = true;
    try {
      const { lang, text } = render();
      pending.push({ jobId: currentJob, event: { source, time: Date.now(), lang, text, ...(location ? { location } : {}) } });
      flushTimer ??= setTimeout(flush, FLUSH_MS);
    } catch (error) {
      // A value that cannot even be rendered is not worth breaking the page for.
      report(`could not record a ${source} event: ${String(error)}`);
    } finally {
      recording = false;
    }
  };

  for (const method of CONSOLE_METHODS) {
    const original = scope.console[method];
    if (typeof original !== 'function') continue;
    scope.console[method] = function daebugConsole(this: Console, ...args: unknown[]) {
      const location = callerLocation();
      record(`console.${method}`, () => renderConsoleArgs(args), location);
      return original.apply(this, args);
    };
  }
  const errorSource: EventSource = config.kind === 'page' ? 'window.onerror' : 'self.onerror';
  scope.addEventListener('error', (event) => {
    const error = (event as ErrorEvent).error;
    const where = (event as ErrorEvent).filename ? `${(event as ErrorEvent).filename}:${(event as ErrorEvent).lineno}:${(event as ErrorEvent).colno}` : undefined;
    record(errorSource, () => ({ lang: 'Error', text: error !== undefined && error !== null ? renderError(error) : `Error: ${(event as ErrorEvent).message}` }), where);
  });
  scope.addEventListener('unhandledrejection', (event) => {
    record('unhandledrejection', () => ({ lang: 'Error', text: renderError((event as PromiseRejectionEvent).reason) }));
  });

  const runJob = async (answer: Extract<PollAnswer, { type: 'job' }>) => {
    currentJob = answer.jobId;
    const started = performance.now();
    let outcome: WireOutcome;
    try {
      const value = await new AsyncFunction(answer.body)();
      outcome = { kind: 'value', value: safeRender(value) };
    } catch (error) {
      outcome = { kind: 'error', error: safeError(error) };
    }
    const durationMs = performance.now() - started;
    if (currentJob === answer.jobId) currentJob = null;
    const events = takeEvents(pending, answer.jobId);
    const response = await post('result', { outcome, durationMs, events }, answer.jobId);
    if (response && response.status === 409) report(`the daemon refused the result of job ${answer.jobId}`);
  };

  const runTests = async (answer: Extract<PollAnswer, { type: 'tests' }>) => {
    const own = await connected();
    if (!own) return;
    const progress = { url: `${config.origin}${routePath('testProgress', { realm: own.name })}`, secret: own.secret };
    if (config.kind !== 'page' || typeof document === 'undefined') {
      void runTestsHere(answer, progress, config.origin).catch((error) => report(`test run ${answer.runId} failed: ${String(error)}`));
      return;
    }
    try {
      startTestFrame(answer, progress, config.origin);
    } catch (error) {
      report(`could not start a test run: ${String(error)}`);
    }
  };

  const poll = async () => {
    let backoff = MIN_BACKOFF_MS;
    for (;;) {
      let answer: PollAnswer | null = null;
      try {
        const own = await connected();
        if (!own) return;
        const response = await fetch(`${config.origin}${routePath('poll', { realm: own.name })}`, { cache: 'no-store', headers: { [SECRET_HEADER]: own.secret } });
        if (response.status === 401) {
          forget(own);
          continue;
        }
        if (response.ok) answer = (await response.json()) as PollAnswer;
      } catch {
        answer = null;
      }
      if (answer === null) {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      backoff = MIN_BACKOFF_MS;
      if (answer.type === 'job') void runJob(answer);
      else if (answer.type === 'tests') void runTests(answer);
    }
  };
  void poll();
  return { report, call: (route, body) => post(route, body) };
}

function takeEvents(pending: { jobId: string | null; event: WireEvent }[], jobId: string): WireEvent[] {
  const mine = pending.filter((entry) => entry.jobId === jobId);
  const rest = pending.filter((entry) => entry.jobId !== jobId);
  pending.splice(0, pending.length, ...rest);
  return mine.map((entry) => entry.event);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `file:line:column` of the code that called the console, skipping daebug's own frames. */
function callerLocation(): string | undefined {
  const stack = new Error().stack?.split('\n') ?? [];
  for (const frame of stack.slice(1)) {
    if (frame.includes('/-daebug/') || frame.includes('daebugConsole') || frame.includes('callerLocation')) continue;
    const match = /(https?:\/\/[^\s)]+:\d+:\d+)/.exec(frame);
    if (match) return match[1];
  }
  return undefined;
}

/** Where a test run's progress goes, and the realm secret it goes with. */
interface TestProgressTarget {
  url: string;
  secret: string;
}

/**
 * Runs test files in a hidden iframe that carries the page's import map: modules load fresh for each
 * run and cannot disturb the page. The frame posts its progress to the daemon itself and removes
 * itself at the end.
 */
function startTestFrame(answer: Extract<PollAnswer, { type: 'tests' }>, progress: TestProgressTarget, origin: string): void {
  const pageMap = document.querySelector('script[type="importmap"]')?.textContent ?? '{"imports":{}}';
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
