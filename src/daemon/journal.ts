/**
 * The journal of requests (`.daebug/journal`): what the daemon accepted and handed to realms, on disk
 * before it can matter, so that a daemon started after a kill knows which requests ran.
 *
 * One JSON record a line, appended with a plain write (the kernel keeps it when the daemon is killed;
 * a power loss may cost the last seconds, docs/daemon.md). A request is known by its log and a hash of
 * its fence; requests with the same fence in one log are counted, first in first out:
 *
 * - `a` accepted: its marker is in the write tagged `v` (counted once `w` says that write is on disk,
 *   or the log still carries that tag at the next start);
 * - `h` handed to its realm from the queue; `e` handed before the write accepting it (a quick answer);
 * - `m` that early job's accept is on disk with its running marker (it is handed like any other now);
 * - `d` its job ended and the write saying so is on disk (`s`: what it was, `p` never handed);
 * - `r` the log was reconciled at a start: what came before for it is settled.
 *
 * At a start, a marker whose request is accepted and was never handed runs (once); any other marker
 * is interrupted; a request below the footer that was handed early is accepted with an interrupted
 * notice and never runs again. With no journal (a first start, `.daebug/` removed) every marker is
 * interrupted and every request below the footer runs, as before the journal.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stateDir } from '../store/index.js';

/** What the journal remembers of a job: the state it was last recorded in. */
export type JournalState = 'p' | 'h' | 'e';

export type JournalRecord =
  | { t: 'a'; log: string; k: string; v?: string }
  | { t: 'w'; log: string; v: string }
  | { t: 'h' | 'e' | 'm'; log: string; k: string }
  | { t: 'd'; log: string; k: string; s: JournalState }
  | { t: 'r'; log: string };

/** What the journal says of one log's requests, by fence hash: how many are in each state. */
export interface LogEntries {
  /** Accepted with their marker on disk, never handed. */
  pending: Map<string, number>;
  /** Handed from the queue, not ended. */
  handed: Map<string, number>;
  /** Handed before their accept was on disk, neither accepted nor ended since. */
  early: Map<string, number>;
  /** Accepted in a write not yet known to be on disk, by the write's tag. */
  unconfirmed: Map<string, string[]>;
}

/** A journal compacts itself when it grows past this size, or past EMPTIED_BYTES once everything in it is settled (it is emptied then). */
const COMPACT_BYTES = 64 * 1024;
const EMPTIED_BYTES = 4 * 1024;

/** The hash a request is known by in the journal. */
export function fenceKey(fence: string): string {
  return createHash('sha256').update(fence).digest('base64url').slice(0, 16);
}

function emptyEntries(): LogEntries {
  return { pending: new Map(), handed: new Map(), early: new Map(), unconfirmed: new Map() };
}

function add(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}

/** Folds records into the state of each log (by log file name). */
export function fold(records: Iterable<JournalRecord>, logs = new Map<string, LogEntries>()): Map<string, LogEntries> {
  for (const record of records) {
    if (record.t === 'r') {
      logs.delete(record.log);
      continue;
    }
    const entries = logs.get(record.log) ?? emptyEntries();
    logs.set(record.log, entries);
    switch (record.t) {
      case 'a':
        if (record.v === undefined) add(entries.pending, record.k, 1);
        else entries.unconfirmed.set(record.v, [...(entries.unconfirmed.get(record.v) ?? []), record.k]);
        break;
      case 'w':
        // The log's writes are serial: accepts in any other unconfirmed write were never on disk.
        for (const key of entries.unconfirmed.get(record.v) ?? []) add(entries.pending, key, 1);
        entries.unconfirmed.clear();
        break;
      case 'h':
        add(entries.pending, record.k, -1);
        add(entries.handed, record.k, 1);
        break;
      case 'e':
        add(entries.early, record.k, 1);
        break;
      case 'm':
        add(entries.early, record.k, -1);
        add(entries.handed, record.k, 1);
        break;
      case 'd':
        add(record.s === 'p' ? entries.pending : record.s === 'h' ? entries.handed : entries.early, record.k, -1);
        break;
    }
    if (isSettled(entries)) logs.delete(record.log);
  }
  return logs;
}

function isSettled(entries: LogEntries): boolean {
  return entries.pending.size === 0 && entries.handed.size === 0 && entries.early.size === 0 && entries.unconfirmed.size === 0;
}

/** The records that fold into `logs` again: what a compacted journal holds. */
export function records(logs: ReadonlyMap<string, LogEntries>): JournalRecord[] {
  const out: JournalRecord[] = [];
  const repeat = (counts: Map<string, number>, make: (k: string) => JournalRecord) => {
    for (const [k, n] of counts) for (let i = 0; i < n; i++) out.push(make(k));
  };
  for (const [log, entries] of logs) {
    // Handed first: `h` takes one off the pending count, which is still empty then.
    repeat(entries.handed, (k) => ({ t: 'h', log, k }));
    repeat(entries.pending, (k) => ({ t: 'a', log, k }));
    repeat(entries.early, (k) => ({ t: 'e', log, k }));
    for (const [v, keys] of entries.unconfirmed) for (const k of keys) out.push({ t: 'a', log, k, v });
  }
  return out;
}

/** Parses a journal's text; a line cut short by a kill (or anything else not a record) is skipped. */
export function parseJournal(text: string): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as JournalRecord;
      if (typeof record === 'object' && record !== null && typeof record.t === 'string' && typeof record.log === 'string') out.push(record);
    } catch {
      // A half-written last line: the write it began never finished, so nothing it said happened.
    }
  }
  return out;
}

/** The journal of one daemon run. */
export interface Journal {
  /** True when a journal was found at start: markers and early requests can be told apart. */
  readonly found: boolean;
  /** What the journal said of `log` (a log file name) when the daemon started; a copy to consume. */
  atStart(log: string): LogEntries;
  /** Settles what the journal said of logs other than `logs` (file names): they are gone. */
  forgetOthers(logs: readonly string[]): void;
  /** Closes its file: the daemon has stopped, and writes no more. */
  close(): void;
  /** Appends records (one write): they are on disk (in the kernel) when it returns. */
  record(...records: JournalRecord[]): void;
}

/** Opens the journal under `root`; `warn` is told once when it cannot be written. */
export function openJournal(root: string, warn: (message: string) => void): Journal {
  const path = join(stateDir(root), 'journal');
  let text: string | null = null;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn(`cannot read ${path}: ${(error as Error).message}; requests left unanswered by the last run are treated as interrupted`);
  }
  const live = fold(parseJournal(text ?? ''));
  const previous = new Map([...live].map(([log, entries]) => [log, copyEntries(entries)]));
  let size = text === null ? 0 : Buffer.byteLength(text);
  let warned = false;
  let fd: number | null = null;
  // Open once; a journal removed under the daemon (`git clean -x`) or compacted is opened again: its
  // old file would take writes that nobody reads.
  const reopen = () => {
    if (fd !== null) closeSync(fd);
    fd = null;
    refuseLinkedFolder(stateDir(root));
    mkdirSync(stateDir(root), { recursive: true, mode: 0o700 });
    fd = openSync(path, 'a', 0o600);
  };
  let closed = false;
  const write = (lines: string) => {
    try {
      if (fd === null || fstatSync(fd).nlink === 0) reopen();
      writeSync(fd!, lines);
      size += Buffer.byteLength(lines);
      warned = false;
    } catch (error) {
      if (!warned) warn(`cannot write ${path}: ${(error as Error).message}; a daemon killed now may run a request again or interrupt one at its next start`);
      warned = true;
    }
  };
  const compact = () => {
    refuseLinkedFolder(stateDir(root));
    const temp = `${path}.${process.pid}.tmp`;
    const lines = records(live).map((record) => JSON.stringify(record) + '\n').join('');
    writeFileSync(temp, lines, { mode: 0o600 });
    renameSync(temp, path);
    size = Buffer.byteLength(lines);
    reopen();
  };
  return {
    found: text !== null,
    atStart: (log) => copyEntries(previous.get(log) ?? emptyEntries()),
    forgetOthers(logs) {
      const gone = [...previous.keys()].filter((log) => !logs.includes(log));
      this.record(...gone.map((log): JournalRecord => ({ t: 'r', log })));
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
      closed = true;
    },
    record(...added) {
      if (added.length === 0 || closed) return;
      fold(added, live);
      write(added.map((record) => JSON.stringify(record) + '\n').join(''));
      if (size <= (live.size === 0 ? EMPTIED_BYTES : COMPACT_BYTES)) return;
      try {
        compact();
      } catch (error) {
        warn(`cannot compact ${path}: ${(error as Error).message}`);
      }
    },
  };
}

/** Throws when `.daebug/` is a symlink or no folder: the journal goes nowhere else (state-dir.ts). */
function refuseLinkedFolder(dir: string): void {
  let stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isDirectory()) throw new Error(`${dir} is not a folder of its own (a symlink or a file)`);
}

function copyEntries(entries: LogEntries): LogEntries {
  return { pending: new Map(entries.pending), handed: new Map(entries.handed), early: new Map(entries.early), unconfirmed: new Map([...entries.unconfirmed].map(([v, keys]) => [v, [...keys]])) };
}

/** The journal's name for a log: its file name. */
export function journalLog(path: string): string {
  return basename(path);
}
