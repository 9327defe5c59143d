/**
 * What a realm captures: console calls (the originals still run), uncaught errors and unhandled
 * rejections, each rendered at once and sent in small batches, tagged with the job that was running.
 */
import type { WireEvent } from '../protocol/messages.js';
import type { RealmKind } from '../protocol/registry.js';
import type { EventSource } from '../protocol/render.js';
import { API_PREFIX } from '../protocol/routes.js';
import { wrapConsoleConventions } from './console-conventions.js';
import { renderConsoleArgs, renderError } from './render-value.js';

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const FLUSH_MS = 100;

/** The captured events not sent yet, and which job they belong to. */
export interface Capture {
  /** The job whose events are being captured, or null between jobs. */
  setJob(jobId: string | null): void;
  /** Takes the events of a job that has not sent them yet, for its result. */
  takeJobEvents(jobId: string): WireEvent[];
  /** Records an event seen by another part of the client (a failed request). */
  add(source: EventSource, lang: WireEvent['lang'], text: string): void;
}

/** Installs capture in `scope`; `send` gets each batch (`jobId` null: background events). */
export function installCapture(scope: typeof globalThis, kind: RealmKind, send: (jobId: string | null, events: WireEvent[]) => void, report: (message: string) => void): Capture {
  let pending: { jobId: string | null; event: WireEvent }[] = [];
  let currentJob: string | null = null;
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let recording = false;
  let groups = { depth: () => 0 };

  const flush = () => {
    flushTimer = null;
    const byJob = new Map<string | null, WireEvent[]>();
    for (const { jobId, event } of pending.splice(0)) byJob.set(jobId, [...(byJob.get(jobId) ?? []), event]);
    for (const [jobId, events] of byJob) send(jobId, events);
  };

  const record = (source: EventSource, render: () => { lang: WireEvent['lang']; text: string }, location?: string) => {
    if (recording) return;
    recording = true;
    try {
      const rendered = render();
      const lang = rendered.lang;
      // Inside console.group: indented, as DevTools shows it.
      const text = groups.depth() > 0 ? rendered.text.replace(/^/gm, '  '.repeat(groups.depth())) : rendered.text;
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
  groups = wrapConsoleConventions(scope, (source, render) => record(source, render, callerLocation()));
  const errorSource: EventSource = kind === 'page' ? 'window.onerror' : 'self.onerror';
  scope.addEventListener('error', (event) => {
    const { error, filename, lineno, colno, message } = event as ErrorEvent;
    const where = filename ? `${filename}:${lineno}:${colno}` : undefined;
    record(errorSource, () => ({ lang: 'Error', text: error !== undefined && error !== null ? renderError(error) : `Error: ${message}` }), where);
  });
  scope.addEventListener('unhandledrejection', (event) => {
    record('unhandledrejection', () => ({ lang: 'Error', text: renderError((event as PromiseRejectionEvent).reason) }));
  });

  return {
    setJob(jobId) {
      currentJob = jobId;
    },
    add(source, lang, text) {
      record(source, () => ({ lang, text }));
    },
    takeJobEvents(jobId) {
      const mine = pending.filter((entry) => entry.jobId === jobId).map((entry) => entry.event);
      pending = pending.filter((entry) => entry.jobId !== jobId);
      return mine;
    },
  };
}

/** `file:line:column` of the code that called the console, skipping daebug's own frames. */
function callerLocation(): string | undefined {
  const stack = new Error().stack?.split('\n') ?? [];
  for (const frame of stack.slice(1)) {
    if (frame.includes(API_PREFIX) || frame.includes('daebugConsole') || frame.includes('callerLocation')) continue;
    const match = /(https?:\/\/[^\s)]+:\d+:\d+)/.exec(frame);
    if (match) return match[1];
  }
  return undefined;
}
