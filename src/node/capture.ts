/**
 * What a Node realm captures: console calls (the originals still print) and the errors that end the
 * process or would (`uncaughtExceptionMonitor`, which watches without handling: whether the app
 * crashes stays as it was; in Node's default mode an unhandled rejection arrives here too, as
 * `unhandledRejection`). Events are rendered at once, tagged with the running job, and sent in small
 * batches on an unref'd timer; what is not sent when the process exits goes with its exit message.
 */
import { formatWithOptions } from 'node:util';
import type { WireEvent } from '../protocol/messages.js';
import type { EventSource } from '../protocol/render.js';
import { renderNodeError, renderNodeValue } from './render.js';

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;
const FLUSH_MS = 100;

/** The captured events not sent yet, and which job they belong to. */
export interface NodeCapture {
  /** The job whose events are being captured, or null between jobs. */
  setJob(jobId: string | null): void;
  /** Takes the events of a job that has not sent them yet, for its result. */
  takeJobEvents(jobId: string): WireEvent[];
  /** Takes every event not sent yet (the process is exiting). */
  takeAll(): WireEvent[];
}

/** Installs capture; `send` gets each batch (`jobId` null: background events). */
export function installNodeCapture(send: (jobId: string | null, events: WireEvent[]) => void, report: (message: string) => void): NodeCapture {
  let pending: { jobId: string | null; event: WireEvent }[] = [];
  let currentJob: string | null = null;
  let flushTimer: NodeJS.Timeout | null = null;
  let recording = false;

  const flush = () => {
    flushTimer = null;
    const byJob = new Map<string | null, WireEvent[]>();
    for (const { jobId, event } of pending.splice(0)) byJob.set(jobId, [...(byJob.get(jobId) ?? []), event]);
    for (const [jobId, events] of byJob) send(jobId, events);
  };

  const record = (source: EventSource, render: () => { lang: WireEvent['lang']; text: string }) => {
    // A console call made while rendering (a getter that logs) is not recorded again.
    if (recording) return;
    recording = true;
    try {
      const { lang, text } = render();
      pending.push({ jobId: currentJob, event: { source, time: Date.now(), lang, text } });
      flushTimer ??= setTimeout(flush, FLUSH_MS).unref();
    } catch (error) {
      report(`could not record a ${source} event: ${String(error)}`);
    } finally {
      recording = false;
    }
  };

  for (const method of CONSOLE_METHODS) {
    const original = console[method];
    if (typeof original !== 'function') continue;
    console[method] = function daebugConsole(this: Console, ...args: unknown[]) {
      record(`console.${method}`, () => renderConsoleCall(args));
      return original.apply(this, args);
    };
  }
  process.on('uncaughtExceptionMonitor', (error, origin) => {
    record(origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException', () => ({ lang: 'Error', text: renderNodeError(error) }));
  });

  return {
    setJob(jobId) {
      currentJob = jobId;
    },
    takeJobEvents(jobId) {
      const mine = pending.filter((entry) => entry.jobId === jobId).map((entry) => entry.event);
      pending = pending.filter((entry) => entry.jobId !== jobId);
      return mine;
    },
    takeAll() {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = null;
      return pending.splice(0).map((entry) => entry.event);
    },
  };
}

/** A console call as the log shows it: one JSON object as JSON, anything else as Node's console prints it. */
function renderConsoleCall(args: readonly unknown[]): { lang: WireEvent['lang']; text: string } {
  if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null) {
    const rendered = renderNodeValue(args[0]);
    if (rendered.lang === 'JSON') return rendered;
  }
  return { lang: 'Text', text: formatWithOptions({ colors: false }, ...args) };
}
