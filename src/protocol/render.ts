/**
 * The blocks the daemon writes under requests: result blocks, event blocks with their headers, and
 * the compression of long event lists. Values arrive already rendered by the realm (see messages.ts);
 * this module only lays them out.
 */
import { omittedLine } from './grammar.js';
import { fencedBlock } from './log-text.js';
import { formatBytes } from './time.js';

/** A rendered value or error as a block language and its text. */
export interface RenderedValue {
  lang: 'JSON' | 'Text' | 'Error';
  text: string;
}

/** What became of a job. */
export type JobOutcome =
  | { kind: 'value'; value: RenderedValue }
  | { kind: 'error'; error: string }
  | { kind: 'timeout'; timeoutMs: number; unresponsive?: boolean };

/** Where an event came from: a console method or an uncaught error. */
export type EventSource =
  | 'console.log'
  | 'console.info'
  | 'console.warn'
  | 'console.error'
  | 'console.debug'
  | 'console.trace'
  | 'console.table'
  | 'console.dir'
  /** A group's label; the events inside it are indented. */
  | 'console.group'
  /** A failed `console.assert`. */
  | 'console.assert'
  | 'console.count'
  /** `console.timeLog` and `console.timeEnd`. */
  | 'console.time'
  | 'window.onerror'
  | 'self.onerror'
  | 'unhandledrejection'
  /** A Node process: an error nothing caught, and a rejection nothing handled (Node's names). */
  | 'uncaughtException'
  | 'unhandledRejection';

/** One console call or uncaught error, as it goes into a log. */
export interface LogEvent {
  source: EventSource;
  /** Local wall-clock time `HH:MM:SS` of the event. */
  at: string;
  lang: 'JSON' | 'Text' | 'Error';
  text: string;
}

/** Results longer than this (in UTF-8 bytes) are cut. */
export const MAX_RESULT_BYTES = 256 * 1024;

/** At most this many event blocks are shown in one reply, stream block or background section. */
const MAX_EVENT_BLOCKS = 10;
const EVENTS_SHOWN_FIRST = 2;

/** The icon of an event header: 🚫 uncaught, 🆘 error/warn, ℹ️ info, ☑️ log, 🔢 anything else. */
export function eventIcon(source: EventSource): string {
  switch (source) {
    case 'window.onerror':
    case 'self.onerror':
    case 'unhandledrejection':
    case 'uncaughtException':
    case 'unhandledRejection':
      return '🚫';
    case 'console.error':
    case 'console.warn':
    case 'console.assert':
      return '🆘';
    case 'console.info':
      return 'ℹ️';
    case 'console.log':
      return '☑️';
    default:
      return '🔢';
  }
}

/** One event: `##### <icon><source> at HH:MM:SS` and its fenced block `<Lang> <source>`. */
export function renderEvent(event: LogEvent): string {
  return `##### ${eventIcon(event.source)}${event.source} at ${event.at}\n` + fencedBlock(`${event.lang} ${event.source}`, event.text);
}

/** Events in arrival order; with more than 10, the first 2, an omission line, and the last 8. */
export function renderEvents(events: readonly LogEvent[]): string {
  if (events.length <= MAX_EVENT_BLOCKS) return events.map(renderEvent).join('');
  const tailCount = MAX_EVENT_BLOCKS - EVENTS_SHOWN_FIRST;
  const omitted = events.length - MAX_EVENT_BLOCKS;
  return (
    events.slice(0, EVENTS_SHOWN_FIRST).map(renderEvent).join('') +
    `\n${omittedLine(omitted)}\n\n` +
    events.slice(events.length - tailCount).map(renderEvent).join('')
  );
}

/** The result block of a finished job (without header), cut to `maxBytes`. */
export function renderOutcome(outcome: JobOutcome, realm: string, maxBytes = MAX_RESULT_BYTES): string {
  switch (outcome.kind) {
    case 'value':
      return fencedBlock(outcome.value.lang, cutToBytes(outcome.value.text, maxBytes));
    case 'error':
      return fencedBlock('Error', cutToBytes(outcome.error, maxBytes));
    case 'timeout': {
      const why = outcome.unresponsive ? 'job timed out; the realm stopped polling, its main thread may be blocked' : 'job timed out';
      return fencedBlock('Error', `Error: no answer from ${realm} after ${outcome.timeoutMs} ms (${why})`);
    }
  }
}

/** True when the outcome is a success (a 👍 reply rather than 🚫). */
export function isSuccess(outcome: JobOutcome): boolean {
  return outcome.kind === 'value';
}

/** Cuts text to at most `maxBytes` UTF-8 bytes on a character boundary, adding a line that says how much was left out. */
export function cutToBytes(text: string, maxBytes: number): string {
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short texts need no encoding at all.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  let cut = maxBytes;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  const kept = new TextDecoder().decode(bytes.subarray(0, cut));
  return `${kept}\n... (cut at ${formatBytes(maxBytes)}: ${formatBytes(bytes.length - cut)} of ${formatBytes(bytes.length)} left out) ...`;
}
