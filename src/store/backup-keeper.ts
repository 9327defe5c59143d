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

/** The backups of every log and what agents wrote into them. */
export interface BackupKeeper {
  /** Starts watching the old file of a write that just landed. */
  watch(path: string, backup: Backup): void;
  /** Looks into the newest backup of `path`; true when it holds a late write. */
  lookNewest(path: string): Promise<boolean>;
  /** Looks into the backups of `path` that are younger than 250 ms. */
  lookRecent(path: string): Promise<void>;
  hasLateWrites(path: string): boolean;
  /** The late writes of `path` to put back; one whose text cannot go back stays on disk with a warning. */
  lateWrites(path: string): Promise<Found[]>;
  /** `raw` with the late writes put back, and which went back. */
  putBack(path: string, raw: string, found: Found[]): { raw: string; putBack: Found[] };
  /** The late writes that a write carrying them put on disk: their backups' baselines move on. */
  wentBack(path: string, found: Found[]): void;
  /** Renames the backups whose baseline moved on, so that a restart knows. */
  nameMoved(path: string): Promise<void>;
  /** Looks into the backups whose time is up (Infinity: all), puts back what they hold, removes them. */
  sweep(path: string, until: number): Promise<void>;
  /** The logs that have backups kept. */
  paths(): string[];
}

/** Creates the keeper. */
export function createBackupKeeper(options: BackupKeeperOptions): BackupKeeper {
  return new Keeper(options);
}

class Keeper implements BackupKeeper {
  private readonly kept = new Map<string, Kept[]>();
  /** Backups known to hold a late write that is not back in the log yet. */
  private readonly dirty = new Map<string, Set<Kept>>();
  /** Backups whose baseline moved on and whose name does not say so yet. */
  private readonly renames = new Map<string, Backup[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Logs with a late write that was still being written at the last look: looked into again soon. */
  private readonly retries = new Set<string>();

  constructor(private readonly options: BackupKeeperOptions) {}

  watch(path: string, backup: Backup): void {
    const list = this.kept.get(path) ?? [];
    const now = Date.now();
    list.push({ backup, writtenAt: now, expiresAt: now + this.options.timing.backupGraceMs });
    this.kept.set(path, list);
    if (!this.timers.has(path)) this.arm(path, this.options.timing.backupGraceMs);
  }

  async lookNewest(path: string): Promise<boolean> {
    const newest = this.kept.get(path)?.at(-1);
    return newest !== undefined && (await this.look(path, newest));
  }

  async lookRecent(path: string): Promise<void> {
    const now = Date.now();
    const recent = (this.kept.get(path) ?? []).filter((entry) => now - entry.writtenAt < this.options.timing.backupRecentMs);
    // Looked at together (each is a stat or two), marked in the order they were written.
    const late = await Promise.all(recent.map((entry) => lateWrite(entry.backup)));
    recent.forEach((entry, index) => late[index] !== null && this.markDirty(path, entry));
  }

  hasLateWrites(path: string): boolean {
    return (this.dirty.get(path)?.size ?? 0) > 0;
  }

  async lateWrites(path: string): Promise<Found[]> {
    const found: Found[] = [];
    for (const entry of [...(this.dirty.get(path) ?? [])]) {
      const late = await lateWrite(entry.backup);
      if (late === null) {
        this.dirty.get(path)?.delete(entry);
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
      this.dirty.get(path)?.delete(entry);
      this.renames.set(path, [...(this.renames.get(path) ?? []), entry.backup]);
    }
  }

  async nameMoved(path: string): Promise<void> {
    for (const backup of this.renames.get(path)?.splice(0) ?? []) await syncBackupName(backup);
  }

  async sweep(path: string, until: number): Promise<void> {
    if (until === Infinity) {
      clearTimeout(this.timers.get(path));
      this.timers.delete(path);
    }
    const due = (this.kept.get(path) ?? []).filter((entry) => entry.expiresAt <= until);
    for (const entry of due) await this.look(path, entry);
    await this.stillFor(due);
    await this.options.putBack(path);
    for (const entry of due) {
      if (!this.kept.get(path)?.includes(entry)) continue;
      const keep = this.dirty.get(path)?.has(entry) || (await this.look(path, entry));
      this.stopWatching(path, entry);
      // Text that could not go back (the log is gone or unreadable) stays in its backup.
      if (keep) this.options.warn(`${path}: text written while daebug replaced it could not be put back; it is kept in ${entry.backup.path}`);
      // A write that lands between the last look and the removal is gone with the old file; by now,
      // long after the rename, no agent still holds it open.
      else await removeBackup(entry.backup);
    }
    const next = this.kept.get(path)?.[0];
    if (next && !this.timers.has(path) && until !== Infinity) this.arm(path, Math.max(0, next.expiresAt - Date.now()));
  }

  paths(): string[] {
    return [...this.kept.keys()];
  }

  private stopWatching(path: string, entry: Kept): void {
    const list = this.kept.get(path) ?? [];
    list.splice(list.indexOf(entry), 1);
    if (list.length === 0) this.kept.delete(path);
    this.dirty.get(path)?.delete(entry);
  }

  /** Looks into a kept backup; true when it holds a late write to put back. */
  private async look(path: string, entry: Kept): Promise<boolean> {
    if ((await lateWrite(entry.backup)) === null) return false;
    this.markDirty(path, entry);
    return true;
  }

  private markDirty(path: string, entry: Kept): void {
    let set = this.dirty.get(path);
    if (!set) this.dirty.set(path, (set = new Set()));
    set.add(entry);
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
    if (this.retries.has(path)) return;
    this.retries.add(path);
    setTimeout(() => {
      this.retries.delete(path);
      this.options.whenDue(path, () => this.options.putBack(path));
    }, quietMs).unref();
  }

  private arm(path: string, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(path);
      this.options.whenDue(path, () => this.sweep(path, Date.now()));
    }, delayMs);
    timer.unref();
    this.timers.set(path, timer);
  }
}
