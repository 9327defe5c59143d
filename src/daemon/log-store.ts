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
import { MAX_LOG_BYTES, createFile, readLog, releaseRead, replaceLog, sameVersion, type FileVersion, type LogRead } from './write-atomic.js';

/** A log as a change sees it. */
export type LogContent =
  | { kind: 'text'; text: string; /** True when this is exactly what the daemon wrote last. */ ownWrite: boolean }
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
  /** Resolves when every queue is empty. */
  idle(): Promise<void>;
}

function unreadableReason(path: string, read: Exclude<LogRead, { kind: 'text' | 'missing' }>): string {
  if (read.kind === 'too-big') return `${path} is ${formatBytes(read.size)}, over the ${formatBytes(MAX_LOG_BYTES)} limit; daebug leaves it alone`;
  return `${path} is not valid UTF-8; daebug leaves it alone`;
}

/** Attempts before a change gives up on a log that keeps changing under it. */
const MAX_ATTEMPTS = 50;

/** Creates the store. `warn` receives one message per unreadable version of a log. */
export function createLogStore(warn: (message: string) => void): LogStore {
  const queues = new Map<string, PQueue>();
  const own = new Map<string, { version: FileVersion; hash: string }>();
  const warned = new Map<string, string>();

  const queueFor = (path: string) => {
    let queue = queues.get(path);
    if (!queue) {
      queue = new PQueue({ concurrency: 1 });
      queues.set(path, queue);
    }
    return queue;
  };

  async function run<T>(path: string, compute: (content: LogContent) => Computed<T>): Promise<Updated<T>> {
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
        const computed = compute({ kind: 'text', text, ownWrite: own.get(path)?.hash === read.hash });
        if (computed.text === null || computed.text === text) return { result: computed.result, written: false };
        const outcome = await replaceLog(path, read, encodeLog(computed.text, encoding));
        if (outcome.kind === 'written') {
          own.set(path, { version: outcome.version, hash: outcome.hash });
          return { result: computed.result, written: true };
        }
        if (outcome.kind === 'raced') {
          // Our text is on disk but misses what the agent wrote meanwhile: compute again from that.
          own.set(path, { version: outcome.read.version, hash: outcome.read.hash });
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
    },
  };
}
