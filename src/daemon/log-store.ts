/**
 * Every read-compute-write of one log goes through that log's queue (p-queue, concurrency 1), so two
 * changes to a log never interleave, while different logs proceed in parallel. A change is a
 * function from the log's current text to its next text; it may run more than once when an agent
 * writes in between, so it must not have side effects: callers act on its result after the write.
 *
 * The old file of every write is kept for a while in `.daebug/backups/` under the root (see
 * write-atomic.ts). Before each read-compute-write, what an agent wrote into those old files is put
 * back into the text the change sees, so the next write carries it; only once that write is on disk
 * does the backup's baseline move on.
 */
import PQueue from 'p-queue';
import { stat } from 'node:fs/promises';
import { lastPartAfter, windowOf } from '../protocol/layout.js';
import { decodeLog, encodeLog, logEncoding } from '../protocol/log-text.js';
import { formatBytes } from '../protocol/time.js';
import { createBackupKeeper } from './backup-keeper.js';
import { sameVersion, type FileVersion } from './temp-file.js';
import { createVersionHistory } from './stale-copies.js';
import { workFolders } from './work-folders.js';
import { MAX_LOG_BYTES, createFile, rawText, readLog, releaseRead, replaceLog, type LogRead, type LogSnapshot, type SharedStart } from './write-atomic.js';

/** A log as a change sees it. */
export type LogContent =
  | {
      kind: 'text';
      /** The log without BOM and with LF line breaks; a long log's history may be left out (see `windowOf`). */
      text: string;
      /** True when this is exactly what the daemon last wrote after reading every agent change in it. */
      ownWrite: boolean;
    }
  | { kind: 'missing' }
  | { kind: 'unreadable'; reason: string };

/** What a change computes: the next text (null for none) and a result for the caller. */
export interface Computed<T> {
  text: string | null;
  result: T;
}

/** What became of a change. */
export interface Updated<T> {
  result: T;
  written: boolean;
}

/** How a change relates to the agent's edits. */
export interface UpdateOptions {
  /**
   * True when the change reads every agent edit in the log (accepting requests, moving notes). Its
   * write then counts as the daemon's own: the file event it causes needs no reading. A write by any
   * other change (a reply, a tick) counts as own only if the text it started from did.
   */
  sync?: boolean;
}

/** The per-log queues and the memory of the daemon's own writes. */
export interface LogStore {
  /** Runs `compute` on the log's current content in the log's queue and writes what it returns. */
  update<T>(path: string, compute: (content: LogContent) => Computed<T>, options?: UpdateOptions): Promise<Updated<T>>;
  /** True when the file on disk is the daemon's own last write (same inode, size and mtime) and holds no unread agent edit. */
  isOwnWrite(path: string): Promise<boolean>;
  /** Resolves when every queue is empty and every kept backup has been looked at and removed. */
  idle(): Promise<void>;
}

/** Where the store writes and how it reports what it recovered. */
export interface LogStoreOptions {
  /** The served root: the store writes `daebug.md` and `daebug/*.md` under it, its temp files and backups in its `.daebug/`. */
  root: string;
  warn: (message: string) => void;
  /** Text an agent wrote into a log in the instant the daemon replaced it was put back into `path`. */
  onRecovered: (path: string) => void;
  /** How long the old file of a replacement is kept to catch a write that was already on its way. */
  backupGraceMs: number;
  /**
   * Why the store must not read or write `path` even if it is a real file (its folder is a symlink,
   * say), or null. Such a log is left alone like one that is not UTF-8, with one warning.
   */
  refusal?: (path: string) => Promise<string | null>;
}

function unreadableReason(path: string, read: Exclude<LogRead, { kind: 'text' | 'missing' }>): string {
  if (read.kind === 'too-big') return `${path} is ${formatBytes(read.size)}, over the ${formatBytes(MAX_LOG_BYTES)} limit; daebug leaves it alone`;
  if (read.kind === 'not-real') return `${read.reason}; daebug reads and writes only real files and folders inside the root, so it leaves ${path} alone`;
  return `${path} is not valid UTF-8; daebug leaves it alone`;
}

/** A change sees about this many characters of the end of a long log (see `windowOf`). */
const WINDOW_CHARS = 256 * 1024;
/** Logs from this length on are changed through a window. */
const WINDOW_FROM_CHARS = 2 * WINDOW_CHARS;

/** How long, and how often, a log that shrank is read again before the daemon acts on it. */
const SETTLE_MS = 5;
const MAX_SETTLES = 20;

/** Attempts before a change gives up on a log that keeps changing under it. */
const MAX_ATTEMPTS = 50;

/** Creates the store. */
export function createLogStore(options: LogStoreOptions): LogStore {
  const warn = options.warn;
  const folders = workFolders(options.root);
  const queues = new Map<string, PQueue>();
  const own = new Map<string, { version: FileVersion; hash: string; clean: boolean }>();
  /** The last version of each log the store read or wrote, so an unchanged history is not read again. */
  const snapshots = new Map<string, LogSnapshot>();
  /** Where the history left out of each log's last window ends: searched then, not searched again. */
  const checkedUpTo = new Map<string, number>();
  const warned = new Map<string, string>();
  const backups = createBackupKeeper({
    warn,
    graceMs: options.backupGraceMs,
    // Looking into a backup whose time is up, and putting back what it holds, runs in the log's queue.
    whenDue: (path, work) => void queueFor(path).add(work).catch((error: Error) => warn(`${path}: ${error.message}`)),
    putBack: (path) => putBackLateWrites(path),
  });
  const history = createVersionHistory();

  const queueFor = (path: string) => {
    let queue = queues.get(path);
    if (!queue) {
      queue = new PQueue({ concurrency: 1 });
      queues.set(path, queue);
    }
    return queue;
  };

  /** A write that only puts late writes back; the daemon then reads the log as an agent's edit. */
  const putBackLateWrites = async (path: string) => {
    if (!backups.hasLateWrites(path)) return;
    const { written } = await write(path, () => ({ text: null, result: null }), false);
    await backups.nameMoved(path);
    if (written) options.onRecovered(path);
  };

  /**
   * Runs a change. Nothing is awaited between the rename and the caller getting the result, so the
   * caller acts on what it wrote (a cancelled job is dropped) before anyone can read the file and
   * react; what follows a write (renaming advanced backups, looking into the old file) is queued.
   */
  async function run<T>(path: string, compute: (content: LogContent) => Computed<T>, sync: boolean): Promise<Updated<T>> {
    const updated = await write(path, compute, sync);
    if (updated.written) void queueFor(path).add(() => afterWrite(path)).catch((error: Error) => warn(`${path}: ${error.message}`));
    return updated;
  }

  const afterWrite = async (path: string) => {
    await backups.nameMoved(path);
    // An agent that opened the log just before the rename may have written into the old file.
    if (await backups.lookNewest(path)) await putBackLateWrites(path);
  };

  /** Reads a log, reusing what the store knows of it; the store then knows this version. */
  const read = async (path: string): Promise<LogRead> => {
    const refused = await options.refusal?.(path);
    const outcome: LogRead = refused ? { kind: 'not-real', reason: refused } : await readLog(path, snapshots.get(path));
    if (outcome.kind === 'text') snapshots.set(path, { version: outcome.version, bytes: outcome.bytes, start: outcome.start, end: outcome.end, hash: outcome.hash });
    else snapshots.delete(path);
    // A log made again after a deletion is a new log, not a copy of the old one.
    if (outcome.kind === 'missing') history.forget(path);
    return outcome;
  };

  async function write<T>(path: string, compute: (content: LogContent) => Computed<T>, sync: boolean): Promise<Updated<T>> {
    let current = await read(path);
    let settles = 0;
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (current.kind === 'missing') {
          const computed = compute({ kind: 'missing' });
          if (computed.text === null) return { result: computed.result, written: false };
          const created = await createFile(path, computed.text, folders);
          if (created.kind === 'written') {
            own.set(path, { version: created.version, hash: created.hash, clean: sync });
            return { result: computed.result, written: true };
          }
          current = await read(path);
          continue;
        }
        if (current.kind !== 'text') {
          const reason = unreadableReason(path, current);
          if (warned.get(path) !== reason) warn(reason);
          warned.set(path, reason);
          return { result: compute({ kind: 'unreadable', reason }).result, written: false };
        }
        warned.delete(path);
        // A log far shorter than the daemon's last version is most likely being rewritten right now
        // (truncated, not yet written): read it again until its size holds, not act on the half.
        if (history.shrunk(path, current.bytes.length) && settles < MAX_SETTLES) {
          settles += 1;
          const size = current.bytes.length;
          await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
          await releaseRead(current);
          current = await read(path);
          if (current.kind !== 'text' || current.bytes.length !== size) continue;
          settles = MAX_SETTLES;
        }
        await backups.lookRecent(path);
        const found = await backups.lateWrites(path);
        // An agent's copy of an older version gets the daemon's changes since back (stale-copies.ts).
        // (The daemon's own last write is remembered already and is no copy of anything.)
        const ownLast = own.get(path)?.hash === current.hash;
        const healed = ownLast ? null : history.heal(path, current.bytes);
        // An agent's version is one its next copy may be made from.
        if (healed === null && !ownLast) history.remember(path, current.bytes);
        // The log as the change sees it: as read (or healed), with late writes put back.
        const restored = found.length > 0 || healed !== null ? backups.putBack(path, healed?.toString('utf8') ?? rawText(current), found) : null;
        const merged = restored !== null && (restored.putBack.length > 0 || healed !== null);
        const parts = merged ? { start: restored.raw, end: '' } : current;
        const encoding = logEncoding(parts.start.includes('\n') ? parts.start : rawText(parts));
        const bom = encoding.bom ? 1 : 0;
        const mine = own.get(path);
        const ownWrite = !merged && mine !== undefined && mine.clean && mine.hash === current.hash;
        // A long history is left out of what the change sees, unless windowOf finds the change needs
        // it. What the last window left out was searched then; unless it changed, not again.
        const checked = merged ? 0 : Math.min(checkedUpTo.get(path) ?? 0, current.sameStart - bom);
        const long = !encoding.crlf && parts.start.length + parts.end.length - bom >= WINDOW_FROM_CHARS;
        const window = long ? windowOf(parts.start.slice(bom), parts.end, WINDOW_CHARS, checked) : null;
        checkedUpTo.set(path, window?.cut ?? 0);
        // The whole text (a copy of the history), made only when the window does not do.
        let whole: string | null = null;
        const wholeText = () => (whole ??= decodeLog(rawText(parts)).text);
        let input = window?.text ?? wholeText();
        let computed = compute({ kind: 'text', text: input, ownWrite });
        let lastPart: string | null = null;
        if (window && computed.text !== null && computed.text !== input) {
          lastPart = lastPartAfter(window, computed.text);
          // The change rewrote the head (a file header): it runs again on the whole log.
          if (lastPart === null) {
            computed = compute({ kind: 'text', text: (input = wholeText()), ownWrite });
            checkedUpTo.set(path, 0);
          }
        }
        const unchanged = computed.text === null || computed.text === input;
        // Text put back from a backup is written even when the change itself changes nothing.
        if (unchanged && !merged) return { result: computed.result, written: false };
        let next: string | SharedStart;
        if (unchanged) next = encodeLog(wholeText(), encoding);
        // Before the window the new text is the history as read: only the last part is encoded.
        else if (window && lastPart !== null) next = merged ? encodeLog(wholeText().slice(0, window.cut) + lastPart, encoding) : { chars: window.cut + bom, rest: lastPart };
        else next = encodeLog(computed.text!, encoding);
        const outcome = await replaceLog(path, current, next, folders);
        if (outcome.kind === 'written') {
          backups.wentBack(path, restored?.putBack ?? []);
          snapshots.set(path, outcome.snapshot);
          history.remember(path, outcome.snapshot.bytes);
          own.set(path, { version: outcome.snapshot.version, hash: outcome.snapshot.hash, clean: sync || ownWrite });
          backups.watch(path, outcome.backup);
          return { result: computed.result, written: true };
        }
        await releaseRead(current);
        current = await read(path);
      }
      throw new Error(`cannot update ${path}: it changed ${MAX_ATTEMPTS} times while daebug was writing it`);
    } finally {
      // Not awaited: the caller gets its result right after the rename (see `run`).
      void releaseRead(current);
    }
  }

  return {
    update: (path, compute, updateOptions) => queueFor(path).add(() => run(path, compute, updateOptions?.sync ?? false), { throwOnTimeout: true }),
    async isOwnWrite(path) {
      const mine = own.get(path);
      if (!mine?.clean) return false;
      try {
        const stats = await stat(path);
        return sameVersion({ ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs }, mine.version);
      } catch {
        return false;
      }
    },
    async idle() {
      await Promise.all([...queues.values()].map((queue) => queue.onIdle()));
      // Putting a late write back is a write of its own, with its own backup: sweep until none is left.
      for (let round = 0; round < MAX_ATTEMPTS && backups.paths().length > 0; round++) {
        await Promise.all(backups.paths().map((path) => queueFor(path).add(() => backups.sweep(path, Infinity))));
      }
      await Promise.all([...queues.values()].map((queue) => queue.onIdle()));
    },
  };
}
