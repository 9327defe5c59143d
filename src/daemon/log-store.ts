/**
 * Every read-compute-write of one log goes through that log's queue (p-queue, concurrency 1), so two
 * changes to a log never interleave, while different logs proceed in parallel. A change is a
 * function from the log's current text to its next text; it may run more than once when an agent
 * writes in between, so it must not have side effects: callers act on its result after the write.
 */
import PQueue from 'p-queue';
import { stat } from 'node:fs/promises';
import { decodeLog, encodeLog } from '../protocol/log-text.js';
import { formatBytes } from '../protocol/time.js';
import { MAX_LOG_BYTES, createFile, lateWrite, mergeLateWrite, readLog, releaseRead, removeBackup, replaceLog, sameVersion, type Backup, type FileVersion, type LogRead } from './write-atomic.js';

/** A log as a change sees it. */
export type LogContent =
  | { kind: 'text'; text: string; /** The file as read (BOM, CRLF). */ raw: string; /** True when this is exactly what the daemon wrote last. */ ownWrite: boolean }
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

/** The per-log queues and the memory of the daemon's own writes. */
export interface LogStore {
  /** Runs `compute` on the log's current content in the log's queue and writes what it returns. */
  update<T>(path: string, compute: (content: LogContent) => Computed<T>): Promise<Updated<T>>;
  /** True when the file on disk is the daemon's own last write (same inode, size and mtime). */
  isOwnWrite(path: string): Promise<boolean>;
  /** Resolves when every queue is empty and every kept backup has been looked at. */
  idle(): Promise<void>;
}

/** How the store reports what it recovered. */
export interface LogStoreOptions {
  warn: (message: string) => void;
  /** Text an agent wrote into a log in the instant the daemon replaced it was put back into `path`. */
  onRecovered: (path: string) => void;
  /** How long the old file of a replacement is kept to catch a write that was already on its way. */
  backupGraceMs: number;
}

function unreadableReason(path: string, read: Exclude<LogRead, { kind: 'text' | 'missing' }>): string {
  if (read.kind === 'too-big') return `${path} is ${formatBytes(read.size)}, over the ${formatBytes(MAX_LOG_BYTES)} limit; daebug leaves it alone`;
  return `${path} is not valid UTF-8; daebug leaves it alone`;
}

/** Attempts before a change gives up on a log that keeps changing under it. */
const MAX_ATTEMPTS = 50;

/** Creates the store. */
export function createLogStore(options: LogStoreOptions): LogStore {
  const warn = options.warn;
  const queues = new Map<string, PQueue>();
  const own = new Map<string, { version: FileVersion; hash: string }>();
  const warned = new Map<string, string>();
  /** At most one backup per log waits: each write first settles the one before it. */
  const kept = new Map<string, { backup: Backup; timer: NodeJS.Timeout }>();

  const queueFor = (path: string) => {
    let queue = queues.get(path);
    if (!queue) {
      queue = new PQueue({ concurrency: 1 });
      queues.set(path, queue);
    }
    return queue;
  };

  const keep = (path: string, backup: Backup) => {
    // A write that follows a raced one carries the raced text; the older backup has served its purpose.
    const previous = kept.get(path);
    if (previous) {
      clearTimeout(previous.timer);
      void removeBackup(previous.backup);
    }
    const timer = setTimeout(() => void queueFor(path).add(() => settle(path)).catch((error: Error) => warn(`${path}: ${error.message}`)), options.backupGraceMs);
    kept.set(path, { backup, timer });
  };

  /**
   * Looks into the old file of the last write: an agent that opened the log before the rename may have
   * written into it since. Runs in the log's queue, before any other write of that log, so the text
   * goes back exactly where it was written.
   */
  const settle = async (path: string) => {
    const entry = kept.get(path);
    if (!entry) return;
    kept.delete(path);
    clearTimeout(entry.timer);
    const late = await lateWrite(entry.backup);
    if (late === null) return removeBackup(entry.backup);
    if (late.kind === 'not-utf8') return warn(`${path}: text written while daebug replaced it is not UTF-8; it is kept in ${entry.backup.path}`);
    await write(path, (content) => {
      if (content.kind !== 'text') return { text: null, result: null };
      const merged = mergeLateWrite(Buffer.from(content.raw, 'utf8'), entry.backup, late).toString('utf8');
      return { text: decodeLog(merged).text, result: null };
    });
    await removeBackup(entry.backup);
    options.onRecovered(path);
  };

  async function run<T>(path: string, compute: (content: LogContent) => Computed<T>): Promise<Updated<T>> {
    await settle(path);
    return write(path, compute);
  }

  async function write<T>(path: string, compute: (content: LogContent) => Computed<T>): Promise<Updated<T>> {
    let read = await readLog(path);
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (read.kind === 'missing') {
          const computed = compute({ kind: 'missing' });
          if (computed.text === null) return { result: computed.result, written: false };
          const created = await createFile(path, computed.text);
          if (created.kind === 'written') {
            own.set(path, { version: created.version, hash: created.hash });
            return { result: computed.result, written: true };
          }
          read = await readLog(path);
          continue;
        }
        if (read.kind !== 'text') {
          const reason = unreadableReason(path, read);
          if (warned.get(path) !== reason) warn(reason);
          warned.set(path, reason);
          return { result: compute({ kind: 'unreadable', reason }).result, written: false };
        }
        warned.delete(path);
        const { text, encoding } = decodeLog(read.raw);
        const computed = compute({ kind: 'text', text, raw: read.raw, ownWrite: own.get(path)?.hash === read.hash });
        if (computed.text === null || computed.text === text) return { result: computed.result, written: false };
        const outcome = await replaceLog(path, read, encodeLog(computed.text, encoding));
        if (outcome.kind === 'written') {
          own.set(path, { version: outcome.version, hash: outcome.hash });
          keep(path, outcome.backup);
          return { result: computed.result, written: true };
        }
        if (outcome.kind === 'raced') {
          // Our text is on disk but misses what the agent wrote meanwhile: compute again from that.
          own.set(path, { version: outcome.read.version, hash: outcome.read.hash });
          keep(path, outcome.backup);
          await releaseRead(read);
          read = outcome.read;
          continue;
        }
        await releaseRead(read);
        read = await readLog(path);
      }
      throw new Error(`cannot update ${path}: it changed ${MAX_ATTEMPTS} times while daebug was writing it`);
    } finally {
      await releaseRead(read);
    }
  }

  return {
    update: (path, compute) => queueFor(path).add(() => run(path, compute), { throwOnTimeout: true }),
    async isOwnWrite(path) {
      const mine = own.get(path);
      if (!mine) return false;
      try {
        const stats = await stat(path);
        return sameVersion({ ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs }, mine.version);
      } catch {
        return false;
      }
    },
    async idle() {
      await Promise.all([...queues.values()].map((queue) => queue.onIdle()));
      await Promise.all([...kept.keys()].map((path) => queueFor(path).add(() => settle(path))));
    },
  };
}
