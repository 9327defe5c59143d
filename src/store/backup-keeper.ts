/**
 * The old file of every write, kept for a while (see write-atomic.ts): an agent that opened the log
 * before the write may still write into it, and an editor's save that landed after the last check is
 * in it. Each backup is looked into right after its write, before each write of its log in its
 * first 250 ms, and when its grace is up; what an agent wrote there is put back into the log by the
 * store's next write, and only once that write is on disk does the backup's baseline move on.
 */
import { stat } from 'node:fs/promises';
import { advanceBackup, lateWrite, mergeLateWrite, removeBackup, syncBackupName, type Backup, type LateWrite } from './backups.js';
import { isWary, type StoreTiming } from './settle.js';

/** A backup being watched, from its write until `expiresAt`. */
interface Kept {
  backup: Backup;
  writtenAt: number;
  expiresAt: number;
}

/** A late write found in a kept backup, to be put back into the log. */
export interface Found {
  kept: Kept;
  late: Extract<LateWrite, { text: string }>;
}

/** How the keeper reaches the store. */
export interface BackupKeeperOptions {
  warn: (message: string) => void;
  /**
   * How long a backup is kept after its write (`backupGraceMs`); looked into before every write of its
   * log while younger than `backupRecentMs`, so a late write found then still goes right after the
   * daemon version it followed; a backup rewritten within `backupQuietMs` may be mid-write (an edit
   * tool truncates, then writes) and is put back only once still that long (an append at once).
   */
  timing: Pick<StoreTiming, 'backupGraceMs' | 'backupRecentMs' | 'backupQuietMs' | 'waryMs'>;
  /** Runs `work` in the log's queue once a backup's grace is up. */
  whenDue: (path: string, work: () => Promise<void>) => void;
  /** A write of the log that only puts its late writes back. */
  putBack: (path: string) => Promise<void>;
  /** The version an agent's rewrite was made from: the one its footer's tag names (versions.ts), else `backupBase`. */
  baseOf: (path: string, copy: Buffer, backupBase: Buffer) => Buffer | null;
}

/** What the keeper holds of one log's backups; dropped once none is kept and nothing is due. */
interface LogBackups {
  kept: Kept[];
  /** Backups known to hold a late write that is not back in the log yet. */
  dirty: Set<Kept>;
  /** Backups whose baseline moved on and whose name does not say so yet. */
  renames: Backup[];
  timer?: NodeJS.Timeout;
  /** True while a late write that was still being written at the last look waits to be looked into again. */
  retrying?: boolean;
}

/** The backups of every log and what agents wrote into them. */
export class BackupKeeper {
  private readonly logs = new Map<string, LogBackups>();

  constructor(private readonly options: BackupKeeperOptions) {}

  watch(path: string, backup: Backup): void {
    const log = this.of(path);
    const now = Date.now();
    log.kept.push({ backup, writtenAt: now, expiresAt: now + this.options.timing.backupGraceMs });
    if (!log.timer) this.arm(path, this.options.timing.backupGraceMs);
  }

  async lookNewest(path: string): Promise<boolean> {
    const newest = this.logs.get(path)?.kept.at(-1);
    return newest !== undefined && (await this.look(path, newest));
  }

  async lookRecent(path: string): Promise<void> {
    const now = Date.now();
    const recent = (this.logs.get(path)?.kept ?? []).filter((entry) => now - entry.writtenAt < this.options.timing.backupRecentMs);
    // Looked at together (each is a stat or two), marked in the order they were written.
    const late = await Promise.all(recent.map((entry) => lateWrite(entry.backup)));
    recent.forEach((entry, index) => late[index] !== null && this.of(path).dirty.add(entry));
  }

  hasLateWrites(path: string): boolean {
    return (this.logs.get(path)?.dirty.size ?? 0) > 0;
  }

  async lateWrites(path: string): Promise<Found[]> {
    const found: Found[] = [];
    for (const entry of [...(this.logs.get(path)?.dirty ?? [])]) {
      const late = await lateWrite(entry.backup);
      if (late === null) {
        this.logs.get(path)?.dirty.delete(entry);
        continue;
      }
      const quietMs = entry.backup.base && isWary(entry.backup.base, late.bytes) ? this.options.timing.waryMs : this.options.timing.backupQuietMs;
      if (late.kind === 'rewritten' && Date.now() - late.seen.version.mtimeMs < quietMs) {
        this.retryLater(path, quietMs);
        continue;
      }
      if (late.kind === 'not-utf8') {
        this.options.warn(`${path}: text written while daebug replaced it is not UTF-8; it is kept in ${entry.backup.path}`);
        this.stopWatching(path, entry);
        continue;
      }
      found.push({ kept: entry, late });
    }
    return found;
  }

  putBack(path: string, raw: string, found: Found[]): { raw: string; putBack: Found[] } {
    let bytes: Buffer = Buffer.from(raw, 'utf8');
    const back: Found[] = [];
    for (const entry of found) {
      const { backup } = entry.kept;
      const base = entry.late.kind === 'rewritten' && backup.base ? (this.options.baseOf(path, entry.late.bytes, backup.base) ?? backup.base) : backup.base;
      const merged = mergeLateWrite(bytes, backup, entry.late, base);
      if (merged) {
        bytes = merged;
        back.push(entry);
      } else {
        this.options.warn(`${path}: a version of it written while daebug replaced it no longer fits the log; it is kept in ${entry.kept.backup.path}`);
        this.stopWatching(path, entry.kept);
      }
    }
    return { raw: bytes.toString('utf8'), putBack: back };
  }

  wentBack(path: string, found: Found[]): void {
    for (const { kept: entry, late } of found) {
      advanceBackup(entry.backup, late);
      const log = this.of(path);
      log.dirty.delete(entry);
      log.renames.push(entry.backup);
    }
  }

  async nameMoved(path: string): Promise<void> {
    const log = this.logs.get(path);
    for (const backup of log?.renames.splice(0) ?? []) await syncBackupName(backup);
    if (log) this.dropIfDone(path, log);
  }

  async sweep(path: string, until: number): Promise<void> {
    const log = this.of(path);
    if (until === Infinity) {
      clearTimeout(log.timer);
      log.timer = undefined;
    }
    const due = log.kept.filter((entry) => entry.expiresAt <= until);
    for (const entry of due) await this.look(path, entry);
    await this.stillFor(due);
    await this.options.putBack(path);
    for (const entry of due) {
      if (!log.kept.includes(entry)) continue;
      const keep = log.dirty.has(entry) || (await this.look(path, entry));
      this.stopWatching(path, entry);
      // Text that could not go back (the log is gone or unreadable) stays in its backup.
      if (keep) this.options.warn(`${path}: text written while daebug replaced it could not be put back; it is kept in ${entry.backup.path}`);
      // A write that lands between the last look and the removal is gone with the old file; by now,
      // long after the rename, no agent still holds it open.
      else await removeBackup(entry.backup);
    }
    const next = log.kept[0];
    if (next && !log.timer && until !== Infinity) this.arm(path, Math.max(0, next.expiresAt - Date.now()));
    this.dropIfDone(path, log);
  }

  paths(): string[] {
    return [...this.logs].filter(([, log]) => log.kept.length > 0).map(([path]) => path);
  }

  private of(path: string): LogBackups {
    let log = this.logs.get(path);
    if (!log) this.logs.set(path, (log = { kept: [], dirty: new Set(), renames: [] }));
    return log;
  }

  /** Forgets a log of which no backup is kept and nothing is due. */
  private dropIfDone(path: string, log: LogBackups): void {
    if (log.kept.length === 0 && log.renames.length === 0 && !log.timer && !log.retrying && this.logs.get(path) === log) this.logs.delete(path);
  }

  private stopWatching(path: string, entry: Kept): void {
    const log = this.logs.get(path);
    if (!log) return;
    const index = log.kept.indexOf(entry);
    if (index !== -1) log.kept.splice(index, 1);
    log.dirty.delete(entry);
  }

  /** Looks into a kept backup; true when it holds a late write to put back. */
  private async look(path: string, entry: Kept): Promise<boolean> {
    if ((await lateWrite(entry.backup)) === null) return false;
    this.of(path).dirty.add(entry);
    return true;
  }

  /** Waits until none of `entries` has been written to for backupQuietMs (a few rounds at most). */
  private async stillFor(entries: Kept[]): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const times = await Promise.all(entries.map((entry) => stat(entry.backup.path).then((stats) => stats.mtimeMs, () => 0)));
      const wait = this.options.timing.backupQuietMs - (Date.now() - Math.max(0, ...times));
      if (wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** Puts a late write that is still being written back once it has been still for `quietMs`. */
  private retryLater(path: string, quietMs: number): void {
    const log = this.of(path);
    if (log.retrying) return;
    log.retrying = true;
    setTimeout(() => {
      log.retrying = false;
      this.options.whenDue(path, () => this.options.putBack(path));
    }, quietMs).unref();
  }

  private arm(path: string, delayMs: number): void {
    const log = this.of(path);
    const timer = setTimeout(() => {
      if (log.timer === timer) log.timer = undefined;
      this.options.whenDue(path, () => this.sweep(path, Date.now()));
    }, delayMs);
    timer.unref();
    log.timer = timer;
  }
}
