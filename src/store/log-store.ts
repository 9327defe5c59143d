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
 *
 * The store is the daemon's one door to its logs on disk and their crash safety: reading, writing
 * (write-atomic.ts), backups and late writes (backup-keeper.ts), versions it did not write
 * (versions.ts, reconciled by protocol/reconcile.ts) and, at start, the writes a killed daemon left (recover-writes.ts).
 */
import PQueue from 'p-queue';
import { statSync } from 'node:fs';
import { formatBytes } from '../protocol/time.js';
import { footerTag, withFooterTag, withoutFooterTag } from '../protocol/log-text.js';
import { randomBytes } from 'node:crypto';
import { BackupKeeper, type Found } from './backup-keeper.js';
import { runChange, type LogContent } from './change-window.js';
import { recoverInterruptedWrites } from './recover-writes.js';
import { sameVersion, versionOf, type FileVersion } from './temp-file.js';
import { holdStill, type StoreTiming } from './settle.js';
import { createKeptVersions } from './versions.js';
import { workFolders, type WorkFolders } from './work-folders.js';
import { MAX_LOG_BYTES, createFile, rawText, readLog, releaseRead, replaceLog, type LogRead, type ReplaceOutcome, type LogSnapshot, type SharedStart, type TextRead } from './write-atomic.js';

export type { LogContent };

/** What a change computes: the next text (null for none) and a result for the caller. */
export interface Computed<T> {
  text: string | null;
  result: T;
}

/** What became of a change. */
export interface Updated<T> {
  result: T;
  written: boolean;
  /**
   * False when the result was computed from a read the log has changed since (a change that kept
   * failing its version check settles for the last read after MAX_ATTEMPTS): it may have caught an
   * edit tool's write half done. True when written, or checked to be the log as it is.
   */
  current: boolean;
}

/** How a change relates to the agent's edits. */
export interface UpdateOptions<T = unknown> {
  /**
   * True when the change reads every agent edit in the log (it accepts requests). Its write then
   * counts as the daemon's own: the file event it causes needs no reading. A write by any other
   * change (a reply, a tick, a note moved) counts as own only if the text it started from did.
   */
  sync?: boolean;
  /**
   * Called with each result before it is written, until it returns a promise: that is awaited (the
   * log's queue held), then the log is read and computed again and that is written. The caller starts
   * work there that the write should carry the outcome of (a quick job's reply, log-sync.ts); `compute`
   * stays free of side effects, and so does `hold` when it returns null (a result it does not hold
   * for may be followed by one it does: the log changed before the write).
   */
  hold?: (first: T) => Promise<void> | null;
  /**
   * Called with the result of each attempt about to be written, and the tag its footer carries, right
   * before the new version is put in place (the write may still find the log changed and try again).
   */
  beforeWrite?: (result: T, tag: string | null) => void;
}

/** The per-log queues and the memory of the daemon's own writes. */
export interface LogStore {
  /** Runs `compute` on the log's current content in the log's queue and writes what it returns. */
  update<T>(path: string, compute: (content: LogContent) => Computed<T>, options?: UpdateOptions<T>): Promise<Updated<T>>;
  /** True when the file on disk is the daemon's own last write (same inode, size and mtime) and holds no unread agent edit. */
  isOwnWrite(path: string): Promise<boolean>;
  /** Resolves when every queue is empty and every kept backup has been looked at and removed. */
  idle(): Promise<void>;
  /**
   * Finishes the writes a killed daemon left half done (recover-writes.ts): run once at start, before
   * the first write; resolves with a warning for each thing it could not finish.
   */
  recover(): Promise<string[]>;
}

/** Where the store writes and how it reports what it recovered. */
export interface LogStoreOptions {
  /** The served root: the store writes `daebug.md` and `daebug/*.md` under it, its temp files and backups in its `.daebug/`. */
  root: string;
  warn: (message: string) => void;
  /** Text an agent wrote into a log in the instant the daemon replaced it was put back into `path`. */
  onRecovered: (path: string) => void;
  /** The store's delays: when a version is settled enough to act on, how long backups are kept (settle.ts). */
  timing: StoreTiming;
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


/** At most this many reads while a rewritten log settles (settle.ts): one that never holds still is acted on as it is then, unless it is wary. */
const MAX_SETTLES = 80;

/**
 * Attempts in a row before a change waits between attempts (doubling up to `writeBackoffMs`): an agent
 * that rewrites the log every few milliseconds fails every version check of a daemon that retries at
 * once. A change gives up (with a warning) only after `writeGiveUpMs` of that: a reply is never dropped
 * while the log can still be written.
 */
const MAX_ATTEMPTS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A new version with a fresh tag on its footer's prompt line (log-text.ts), and the tag; null when it
 * has no footer to tag (a copy of it then names no base).
 */
function tagged<T extends string | SharedStart>(next: T): { next: T; tag: string | null } {
  const tag = randomBytes(5).readUInt32BE(0).toString(36);
  const text = typeof next === 'string' ? next : next.rest;
  const rest = withFooterTag(text, tag);
  return { next: (typeof next === 'string' ? rest : { ...(next as SharedStart), rest }) as T, tag: rest === text ? null : tag };
}

/** True when `next` is the version read but for its footer's tag: a change that moved the footer and changed nothing. */
function onlyTagChanged(read: TextRead, next: string | SharedStart): boolean {
  const length = read.start.length + read.end.length;
  if (typeof next === 'string') return Math.abs(next.length - length) <= 32 && withoutFooterTag(rawText(read)) === withoutFooterTag(next);
  // Only the part after the shared start: a long history is not joined or copied.
  const after = next.chars >= read.start.length ? read.end.slice(next.chars - read.start.length) : read.start.slice(next.chars) + read.end;
  return Math.abs(next.rest.length - after.length) <= 32 && withoutFooterTag(after) === withoutFooterTag(next.rest);
}

/** True when `path` is still at `version` (synchronous: every file event asks, and a stat takes microseconds). */
function atVersion(path: string, version: FileVersion): boolean {
  try {
    return sameVersion(versionOf(statSync(path)), version);
  } catch {
    return false;
  }
}

/** Creates the store. */
export function createLogStore(options: LogStoreOptions): LogStore {
  return new Store(options);
}

/** What the store keeps of one log; all but its queue goes when the log is read missing. */
interface StoredLog {
  queue: PQueue;
  /** The daemon's last write: clean when it read every agent edit. */
  own?: { version: FileVersion; hash: string; clean: boolean };
  /** The last version the store read or wrote, so an unchanged history is not read again. */
  snapshot?: LogSnapshot;
  /** Where the history left out of the last window ends: searched then, not searched again. */
  checkedUpTo?: number;
  /** Why the log was last left alone, said once. */
  warned?: string;
}

class Store implements LogStore {
  private readonly folders: WorkFolders;
  /** What the store keeps of each log (its versions and backups are kept by `history` and `backups`). */
  private readonly logs = new Map<string, StoredLog>();
  private readonly backups: BackupKeeper;
  private readonly history = createKeptVersions();

  constructor(private readonly options: LogStoreOptions) {
    this.folders = workFolders(options.root);
    this.backups = new BackupKeeper({
      warn: options.warn,
      timing: options.timing,
      // Looking into a backup whose time is up, and putting back what it holds, runs in the log's queue.
      whenDue: (path, work) => this.inQueue(path, work),
      putBack: (path) => this.putBackLateWrites(path),
      baseOf: (path, copy, backupBase) => this.baseOf(path, copy) ?? backupBase,
    });
  }

  update<T>(path: string, compute: (content: LogContent) => Computed<T>, updateOptions?: UpdateOptions<T>): Promise<Updated<T>> {
    return this.queueFor(path).add(() => this.run(path, compute, updateOptions ?? {}), { throwOnTimeout: true });
  }

  recover(): Promise<string[]> {
    return recoverInterruptedWrites(this.options.root);
  }

  async isOwnWrite(path: string): Promise<boolean> {
    const mine = this.logs.get(path)?.own;
    return mine?.clean === true && atVersion(path, mine.version);
  }

  async idle(): Promise<void> {
    const drained = () => Promise.all([...this.logs.values()].map((log) => log.queue.onIdle()));
    await drained();
    // Putting a late write back is a write of its own, with its own backup: sweep until none is left.
    for (let round = 0; round < MAX_ATTEMPTS && this.backups.paths().length > 0; round++) {
      await Promise.all(this.backups.paths().map((path: string) => this.queueFor(path).add(() => this.backups.sweep(path, Infinity))));
    }
    await drained();
  }

  private queueFor(path: string): PQueue {
    return this.log(path).queue;
  }

  private log(path: string): StoredLog {
    let log = this.logs.get(path);
    if (!log) this.logs.set(path, (log = { queue: new PQueue({ concurrency: 1 }) }));
    return log;
  }

  /** Runs `work` in the log's queue; a failure is a warning. */
  private inQueue(path: string, work: () => Promise<void>): void {
    void this.queueFor(path)
      .add(work)
      .catch((error: Error) => this.options.warn(`${path}: ${error.message}`));
  }

  /** A write that only puts late writes back; the daemon then reads the log as an agent's edit. */
  private async putBackLateWrites(path: string): Promise<void> {
    if (!this.backups.hasLateWrites(path)) return;
    const { written } = await this.write(path, () => ({ text: null, result: null }), {});
    await this.backups.nameMoved(path);
    if (written) this.options.onRecovered(path);
  }

  /**
   * Runs a change. Nothing is awaited between the rename and the caller getting the result, so the
   * caller acts on what it wrote (a cancelled job is dropped) before anyone can read the file and
   * react; what follows a write (renaming advanced backups, looking into the old file) is queued.
   */
  private async run<T>(path: string, compute: (content: LogContent) => Computed<T>, options: UpdateOptions<T>): Promise<Updated<T>> {
    const updated = await this.write(path, compute, options);
    if (updated.written) this.inQueue(path, () => this.afterWrite(path));
    return updated;
  }

  private async afterWrite(path: string): Promise<void> {
    await this.backups.nameMoved(path);
    // An agent that opened the log just before the rename may have written into the old file.
    if (await this.backups.lookNewest(path)) await this.putBackLateWrites(path);
  }

  /** Reads a log, reusing what the store knows of it; the store then knows this version. */
  private async read(path: string): Promise<LogRead> {
    const refused = await this.options.refusal?.(path);
    const log = this.log(path);
    const outcome: LogRead = refused ? { kind: 'not-real', reason: refused } : await readLog(path, log.snapshot);
    log.snapshot = outcome.kind === 'text' ? { version: outcome.version, bytes: outcome.bytes, start: outcome.start, end: outcome.end, hash: outcome.hash } : undefined;
    // A log read missing: what the store knew of it goes (a log made again is a new log, not a copy of the old one).
    if (outcome.kind === 'missing') {
      log.own = log.checkedUpTo = log.warned = undefined;
      this.history.forget(path);
    }
    return outcome;
  }

  /**
   * What the store learns from a write that is on disk: the late writes it carried are back, the new
   * version is the daemon's own (clean when it read every agent edit), its old file is watched.
   */
  private recordWrite(path: string, outcome: Extract<ReplaceOutcome, { kind: 'written' }>, write: { tag: string | null; putBack: Found[]; clean: boolean }): void {
    this.backups.wentBack(path, write.putBack);
    this.log(path).snapshot = outcome.snapshot;
    this.history.wrote(path, outcome.snapshot.bytes, write.tag);
    this.log(path).own = { version: outcome.snapshot.version, hash: outcome.snapshot.hash, clean: write.clean };
    this.backups.watch(path, outcome.backup);
  }

  /**
   * The version a copy names as its base (the tag in its footer), while it is kept; undefined when the
   * copy names none or one no longer kept.
   */
  private baseOf(path: string, copy: Buffer): Buffer | undefined {
    const text = copy.toString('utf8');
    const tag = footerTag(text);
    return tag === null ? undefined : this.history.baseOf(path, tag, text);
  }

  /**
   * Waits before a change's attempt past MAX_ATTEMPTS in a row (doubling up to writeBackoffMs, with
   * jitter); warns once after writeSlowMs, gives up after writeGiveUpMs. Returns whether it warned.
   */
  private async backOff(path: string, attempt: number, started: number, warned: boolean): Promise<boolean> {
    const { writeBackoffMs, writeSlowMs, writeGiveUpMs } = this.options.timing;
    const waited = Date.now() - started;
    if (waited > writeGiveUpMs) throw new Error(`cannot update ${path}: it kept changing while daebug was writing it, for ${writeGiveUpMs / 1000} s`);
    if (!warned && waited > writeSlowMs) this.options.warn(`${path} keeps changing while daebug writes it (${attempt} tries in ${Math.round(waited / 1000)} s); replies to it wait`);
    await sleep(Math.min(writeBackoffMs, 2 ** (attempt - MAX_ATTEMPTS)) * (0.5 + Math.random()));
    return warned || waited > writeSlowMs;
  }

  /** Creates a missing log with what `compute` makes of it; null when someone made it first. */
  private async create<T>(path: string, compute: (content: LogContent) => Computed<T>, sync: boolean): Promise<Updated<T> | null> {
    const computed = compute({ kind: 'missing' });
    if (computed.text === null) return { result: computed.result, written: false, current: true };
    const { next: text, tag } = tagged(computed.text);
    const created = await createFile(path, text, this.folders);
    if (created.kind !== 'written') return null;
    this.log(path).own = { version: created.version, hash: created.hash, clean: sync };
    this.history.wrote(path, Buffer.from(text, 'utf8'), tag, true);
    return { result: computed.result, written: true, current: true };
  }

  /**
   * The log as a change sees it: as read, or reconciled when it is a version the daemon did not write
   * made from an older one (versions.ts), with late writes put back; and whether it is the daemon's own
   * clean write. (The daemon's own last write is remembered already and is no copy of anything.)
   */
  private async asChangeSees(path: string, current: TextRead): Promise<{ parts: { start: string; end: string }; merged: boolean; putBack: Found[]; ownWrite: boolean }> {
    await this.backups.lookRecent(path);
    const found = await this.backups.lateWrites(path);
    const ownLast = this.logs.get(path)?.own?.hash === current.hash;
    const reconciled = ownLast || !this.history.rewritten(path, current.bytes, current.startsWith) ? null : this.history.reconcile(path, rawText(current), current.bytes, current.startsWith);
    if (reconciled === null && !ownLast) this.history.read(path, current.bytes);
    const restored = found.length > 0 || reconciled !== null ? this.backups.putBack(path, reconciled ?? rawText(current), found) : null;
    const merged = restored !== null && (restored.putBack.length > 0 || reconciled !== null);
    const mine = this.logs.get(path)?.own;
    const ownWrite = !merged && mine !== undefined && mine.clean && mine.hash === current.hash;
    return { parts: merged ? { start: restored.raw, end: '' } : current, merged, putBack: restored?.putBack ?? [], ownWrite };
  }

  /** A log the store leaves alone (not UTF-8, too big, not a real file): said once, computed as unreadable. */
  private unreadable<T>(path: string, read: Exclude<LogRead, { kind: 'text' | 'missing' }>, compute: (content: LogContent) => Computed<T>): Updated<T> {
    const reason = unreadableReason(path, read);
    const log = this.log(path);
    if (log.warned !== reason) this.options.warn(reason);
    log.warned = reason;
    // Not UTF-8 may be a write read half done, cut inside a character.
    return { result: compute({ kind: 'unreadable', reason }).result, written: false, current: read.kind !== 'not-utf8' };
  }

  private async write<T>(path: string, compute: (content: LogContent) => Computed<T>, options: UpdateOptions<T>): Promise<Updated<T>> {
    const sync = options.sync ?? false;
    let hold = options.hold;
    let current = await this.read(path);
    let settles = 0;
    let heldStill: LogRead | null = null;
    let warnedSlow = false;
    const started = Date.now();
    const reread = async () => {
      releaseRead(current);
      current = await this.read(path);
    };
    try {
      for (let attempt = 1; ; attempt++) {
        if (attempt > MAX_ATTEMPTS) {
          warnedSlow = await this.backOff(path, attempt, started, warnedSlow);
          await reread();
        }
        if (current.kind === 'missing') {
          const created = await this.create(path, compute, sync);
          if (created) return created;
          await reread();
          continue;
        }
        if (current.kind !== 'text') return this.unreadable(path, current, compute);
        this.log(path).warned = undefined;
        // A log that is not an append to the daemon's last version was rewritten, and a rewrite in
        // place may be half done (truncated, not yet written, or written in part): act on it only once
        // it holds still, or the half would be taken for the agent's edit. An append needs no wait.
        const still = current !== heldStill ? holdStill(this.options.timing, this.history, path, current.bytes, current.startsWith) : null;
        if (still && (settles < MAX_SETTLES || still.wary)) {
          const { quietMs, stepMs } = still;
          const read: LogRead = current;
          for (let waited = 0; waited < quietMs && current === read; waited += stepMs) {
            settles += 1;
            await sleep(stepMs);
            if (!atVersion(path, current.version)) await reread();
          }
          if (current !== read) continue;
          heldStill = current;
        }
        const { parts, merged, putBack, ownWrite } = await this.asChangeSees(path, current);
        const change = runChange({ parts, merged, checkedBefore: this.log(path).checkedUpTo ?? 0, sameStart: current.sameStart, ownWrite }, compute);
        this.log(path).checkedUpTo = change.checkedUpTo;
        const held = hold?.(change.result);
        if (held) {
          hold = undefined;
          await held;
          await reread();
          continue;
        }
        if (change.next === null || (!merged && onlyTagChanged(current, change.next))) {
          // Nothing to write: but an agent that wrote since the read must not be answered from the
          // text before its write (its file event may already have been handled by this very change).
          const still = atVersion(path, current.version);
          if (still || attempt > MAX_ATTEMPTS) return { result: change.result, written: false, current: still };
          await reread();
          continue;
        }
        const { next, tag } = tagged(change.next);
        options.beforeWrite?.(change.result, tag);
        const outcome = await replaceLog(path, current, next, this.folders);
        if (outcome.kind === 'written') {
          this.recordWrite(path, outcome, { tag, putBack, clean: sync || ownWrite });
          return { result: change.result, written: true, current: true };
        }
        // Read the bytes again, not the known version: a file can change and keep its inode, size
        // and mtime (an edit in place within one tick of the clock), and only the bytes tell.
        this.log(path).snapshot = undefined;
        await reread();
      }
    } finally {
      // Not awaited: the caller gets its result right after the rename (see `run`).
      releaseRead(current);
    }
  }

}
