/**
 * Every transition of files.md as one data type: the daemon changes a log only by running these values
 * (`runLogChange`, through its log store), and the golden fixtures and the window test replay their
 * `event.json` through the same function (`applyLogChangeToFile`), so the fixtures test what runs.
 */
import { composeLog } from './compose.js';
import { readLayout } from './layout.js';
import { decodeLog, encodeLog } from './log-text.js';
import type { LogEvent } from './render.js';
import { writeBackground, writeTestProgress, writeTestResults, type TestEntry, type TestProgress } from './sections.js';
import {
  acceptChunk,
  acceptNote,
  cancelJobs,
  dropJobs,
  unmarkStale,
  finishJob,
  interruptPendingMarkers,
  startJob,
  streamJobEvents,
  tickJob,
  writeLateResult,
  writeNotice,
  type AcceptedRequest,
  type Finish,
  type JobRef,
} from './transitions.js';
import { noticeStrayFences } from './stray.js';
import type { TailClass } from './tail.js';

/** One change to a log. */
export type LogChange =
  | { type: 'accept'; realm: string; at: string }
  | { type: 'note'; realm: string }
  | { type: 'start'; job: JobRef; at: string }
  | { type: 'tick'; job: JobRef; seconds: number; notResponding?: boolean }
  | { type: 'stream'; job: JobRef; events: LogEvent[]; maxOutputBytes?: number }
  | { type: 'finish'; job: JobRef; finish: Finish }
  | { type: 'late'; job: JobRef; finish: Finish }
  | { type: 'background'; realm: string; events: LogEvent[]; at: string; maxOutputBytes?: number }
  | { type: 'notice'; realm: string; message: string; at: string }
  /** stray: requests put into the history (between `from` and `to` when given) get a notice under them. */
  | { type: 'stray'; realm: string; at: string; from?: number; to?: number }
  | { type: 'cancel'; realm: string; cancelled: JobRef[]; remaining: JobRef[]; at: string }
  | { type: 'drop'; realm: string; jobs: JobRef[]; message: string; at: string }
  | { type: 'stale'; realm: string; live: string[]; at: string }
  /** interrupt: at a start, markers of an earlier daemon become notices, but for those under the fences in `keep` (never handed: they run now). */
  | { type: 'interrupt'; realm: string; at: string; keep?: string[] }
  | { type: 'test-progress'; realm: string; progress: TestProgress }
  | { type: 'test-results'; realm: string; entries: TestEntry[]; durationMs: number }
  | { type: 'tidy'; realm: string }
  /** open: a realm connected; a log that is empty gets its file header and footer, any other is left as it is. */
  | { type: 'open'; realm: string };

/** What running a change gave besides the new text: what an `accept` took and found. */
export interface LogChangeRun {
  text: string;
  /** The requests an `accept` took (none for other changes). */
  accepted: AcceptedRequest[];
  /** What an `accept` found the tail to be (null for other changes). */
  tail: TailClass['kind'] | null;
}

/** Runs a change on decoded log text. */
export function runLogChange(text: string, change: LogChange): LogChangeRun {
  if (change.type !== 'accept') return { text: applyLogChange(text, change), accepted: [], tail: null };
  const accepted = acceptChunk(text, change.realm, change.at);
  return { text: accepted.text, accepted: accepted.requests, tail: accepted.tail };
}

/** Applies a change to decoded log text and returns the new text. */
export function applyLogChange(text: string, change: LogChange): string {
  switch (change.type) {
    case 'accept':
      return acceptChunk(text, change.realm, change.at).text;
    case 'note':
      return acceptNote(text, change.realm);
    case 'start':
      return startJob(text, change.job, change.at).text;
    case 'tick':
      return tickJob(text, change.job, change.seconds, change.notResponding).text;
    case 'stream':
      return streamJobEvents(text, change.job, change.events, change.maxOutputBytes).text;
    case 'finish':
      return finishJob(text, change.job, change.finish).text;
    case 'late':
      return writeLateResult(text, change.job, change.finish);
    case 'background':
      return writeBackground(text, change.realm, change.events, change.at, change.maxOutputBytes);
    case 'notice':
      return writeNotice(text, change.realm, change.message, change.at);
    case 'stray':
      return noticeStrayFences(text, change.realm, change.at, change.from !== undefined && change.to !== undefined ? { from: change.from, to: change.to } : undefined);
    case 'cancel':
      return cancelJobs(text, change.realm, change.cancelled, change.remaining, change.at);
    case 'stale':
      return unmarkStale(text, change.realm, change.live, change.at);
    case 'drop':
      return dropJobs(text, change.realm, change.jobs, change.message, change.at);
    case 'interrupt':
      return interruptPendingMarkers(text, change.realm, change.at, change.keep).text;
    case 'test-progress':
      return writeTestProgress(text, change.realm, change.progress);
    case 'test-results':
      return writeTestResults(text, change.realm, change.entries, change.durationMs);
    case 'tidy':
      return tidyLog(text, change.realm);
    case 'open':
      return text.trim() === '' ? tidyLog('', change.realm) : text;
  }
}

/** Applies a change to a file's raw text, keeping its BOM and line breaks. */
export function applyLogChangeToFile(raw: string, change: LogChange): string {
  const { text, encoding } = decodeLog(raw);
  return encodeLog(applyLogChange(text, change), encoding);
}

/** The log in its canonical shape: file header, one footer, tail last. Agent text is untouched. */
export function tidyLog(text: string, realm: string): string {
  const layout = readLayout(text);
  return composeLog(layout.above, layout.tail, realm);
}
