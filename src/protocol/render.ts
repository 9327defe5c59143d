/**
 * The blocks the daemon writes under requests: result blocks, event blocks with their headers, and
 * the compression of long event lists. Values arrive already rendered by the realm (see messages.ts);
 * this module only lays them out.
 */
import { DEFAULT_MAX_OUTPUT, cutBlockText, utf8Length } from './budget.js';
import { omittedLine } from './grammar.js';
import { fencedBlock } from './log-text.js';

/** A rendered value or error as a block language and its text. */
export interface RenderedValue {
  lang: 'JSON' | 'Text' | 'Error';
  text: string;
  /** Where the whole text was written when it is over the output budget (`daebug/<realm>.out/<n>.json`). */
  whole?: string;
}

/** What became of a job. */
export type JobOutcome =
  | { kind: 'value'; value: RenderedValue }
  | { kind: 'error'; error: string; whole?: string }
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
  | 'unhandledRejection'
  /** A request of the page or worker that failed: a 4xx or 5xx answer, a network error, a blocked load. */
  | 'network';

/** One console call or uncaught error, as it goes into a log. */
export interface LogEvent {
  source: EventSource;
  /** Local wall-clock time `HH:MM:SS` of the event. */
  at: string;
  lang: 'JSON' | 'Text' | 'Error';
  text: string;
  /** Where the whole text was written when it is over the output budget. */
  whole?: string;
}

/** At most this many event blocks are shown in one reply, stream block or background section. */
const MAX_EVENT_BLOCKS = 10;
const EVENTS_SHOWN_FIRST = 2;
/** Bytes the omission line takes, with its blank lines. */
const OMISSION_ROOM = 50;

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
    case 'network':
      return '🌐';
    default:
      return '🔢';
  }
}

/** One event: `##### <icon><source> at HH:MM:SS` and its fenced block `<Lang> <source>`, its text within `budget`. */
export function renderEvent(event: LogEvent, budget = DEFAULT_MAX_OUTPUT): string {
  return `##### ${eventIcon(event.source)}${event.source} at ${event.at}\n` + fencedBlock(`${event.lang} ${event.source}`, cutBlockText(event.lang, event.text, budget, event.whole));
}

/**
 * Events in arrival order within `budget` bytes together: with more than 10, the first 2, an omission
 * line, and the last 8; past the budget fewer of them, at least the first and the last.
 */
export function renderEvents(events: readonly LogEvent[], budget = DEFAULT_MAX_OUTPUT): string {
  if (events.length === 0) return '';
  if (events.length === 1) return renderEvent(events[0]!, budget);
  const blocks = events.map((event) => renderEvent(event, budget));
  const size = blocks.map(utf8Length);
  const total = size.reduce((sum, bytes) => sum + bytes, 0);
  if (events.length <= MAX_EVENT_BLOCKS && total <= budget) return blocks.join('');
  // The first one and the last one are always shown, and the omission line between them.
  const last = events.length - 1;
  const head = [0];
  const tail = [last];
  let used = size[0]! + size[last]! + OMISSION_ROOM;
  const take = (index: number) => {
    if (used + size[index]! > budget) return false;
    used += size[index]!;
    return true;
  };
  if (EVENTS_SHOWN_FIRST > 1 && last > 1 && take(1)) head.push(1);
  for (let i = last - 1; i >= head.length && head.length + tail.length < MAX_EVENT_BLOCKS && take(i); i--) tail.unshift(i);
  const omitted = events.length - head.length - tail.length;
  const shown = (indexes: number[]) => indexes.map((index) => blocks[index]).join('');
  return shown(head) + (omitted > 0 ? `\n${omittedLine(omitted)}\n\n` : '') + shown(tail);
}

/** The result block of a finished job (without header), cut to `budget` bytes. */
export function renderOutcome(outcome: JobOutcome, realm: string, budget = DEFAULT_MAX_OUTPUT): string {
  switch (outcome.kind) {
    case 'value':
      return fencedBlock(outcome.value.lang, cutBlockText(outcome.value.lang, outcome.value.text, budget, outcome.value.whole));
    case 'error':
      return fencedBlock('Error', cutBlockText('Error', outcome.error, budget, outcome.whole));
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
