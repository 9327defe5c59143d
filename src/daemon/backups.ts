/**
 * The old file of each replacement, kept as a hard-linked backup: an agent that opened the log just
 * before the rename writes into it, and what it wrote is put back into the log from there, while the
 * daemon runs (see log-store.ts) or at the next start.
 */
import { readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { contentHash, sameVersion, utf8, versionOf, writeTemp, type FileVersion } from './temp-file.js';

/**
 * The old file of a replacement, kept (hard-linked) until it is clear that no agent writes into it any
 * more: what the daemon has seen of it (its baseline) and what was written in its place.
 */
export interface Backup {
  path: string;
  /** The old file as the daemon last saw it; anything beyond this is an agent's late write. */
  read: { version: FileVersion; hash: string };
  /**
   * The daemon's version that replaced the old file: a late write goes right after it while the log
   * still starts with it. Size 0 once a late write has been put back: later ones go to the end.
   */
  written: { size: number; hash: string };
}

export function createBackup(log: string, read: Backup['read'], written: Backup['written']): Backup {
  return { path: backupPath(log, read, written), read, written };
}

/** `.tab.md.<read size>.<read hash>.<written size>.<written hash>.daebug-prev` next to the log. */
function backupPath(log: string, read: Backup['read'], written: Backup['written']): string {
  return join(dirname(log), `.${basename(log)}.${read.version.size}.${read.hash}.${written.size}.${written.hash}.daebug-prev`);
}

const BACKUP_NAME = /^\.(.+)\.(\d+)\.([\w-]+)\.(\d+)\.([\w-]+)\.daebug-prev$/;

/** Where a late write's text ends up in the log. */
const AT_THE_END: Backup['written'] = { size: 0, hash: '-' };

/**
 * What an agent wrote into a replaced file since the daemon last looked: text appended to it, or a
 * whole new version; `seen` is the old file as it is now, the baseline once the text is back in the log.
 */
export type LateWrite = ({ kind: 'appended' | 'rewritten'; text: string; bytes: Buffer } | { kind: 'not-utf8'; bytes: Buffer }) & { seen: Backup['read'] };

/** Looks into a backup: null when the old file is as the daemon last saw it, or gone. */
export async function lateWrite(backup: Backup): Promise<LateWrite | null> {
  const stats = await stat(backup.path).catch(() => null);
  if (stats === null || sameVersion(versionOf(stats), backup.read.version)) return null;
  const bytes = await readFile(backup.path).catch(() => null);
  if (bytes === null) return null;
  return classifyLateWrite(bytes, backup, versionOf({ ...stats, size: bytes.length }));
}

function classifyLateWrite(bytes: Buffer, backup: Backup, version: FileVersion): LateWrite | null {
  const size = backup.read.version.size;
  const appended = bytes.length >= size && contentHash(bytes.subarray(0, size)) === backup.read.hash;
  if (appended && bytes.length === size) return null;
  const extra = appended ? bytes.subarray(size) : bytes;
  const seen = { version, hash: contentHash(bytes) };
  try {
    return { kind: appended ? 'appended' : 'rewritten', text: utf8.decode(extra), bytes: extra, seen };
  } catch {
    return { kind: 'not-utf8', bytes, seen };
  }
}

/**
 * Puts a late write back into the log's current bytes at the place it was written: right after the
 * daemon's version (so text the agent appended later stays after it), or, when the log has changed
 * since, at the end. A rewrite replaces the daemon's version; when that version is no longer at the
 * start of the log there is no place for it, and the result is null.
 */
export function mergeLateWrite(current: Buffer, backup: Backup, late: Extract<LateWrite, { text: string }>): Buffer | null {
  const size = backup.written.size;
  const intact = size > 0 && current.length >= size && contentHash(current.subarray(0, size)) === backup.written.hash;
  if (!intact) return late.kind === 'appended' ? Buffer.concat([current, late.bytes]) : null;
  const after = current.subarray(size);
  return late.kind === 'appended' ? Buffer.concat([current.subarray(0, size), late.bytes, after]) : Buffer.concat([late.bytes, after]);
}

/**
 * Records that a late write is back in the log: the old file as it is now becomes the baseline, and a
 * later late write goes to the end of the log. Takes effect at once; `syncBackupName` then renames the
 * backup to say so, for a restart.
 */
export function advanceBackup(backup: Backup, seen: Backup['read']): void {
  backup.read = seen;
  backup.written = AT_THE_END;
}

/** Renames a backup after its baseline moved on (see `advanceBackup`). */
export async function syncBackupName(backup: Backup, log: string): Promise<void> {
  const next = backupPath(log, backup.read, backup.written);
  if (next === backup.path) return;
  try {
    await rename(backup.path, next);
    backup.path = next;
  } catch (error) {
    // Removed meanwhile: nothing left to name.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Removes a backup once the text it guarded is safely in the log. */
export async function removeBackup(backup: Backup): Promise<void> {
  await unlink(backup.path).catch(() => {});
}

/**
 * At start: finishes writes that a killed daemon left half done. Temp files are removed; text an agent
 * wrote into the old file of an interrupted replacement is put back into the log (see
 * `mergeLateWrite`). Returns one message per backup that needed it; a backup whose text cannot be put
 * back is left in place and named in the message.
 */
export async function recoverInterruptedWrites(dir: string): Promise<string[]> {
  const notes: string[] = [];
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name.endsWith('.daebug-tmp')) await unlink(join(dir, name)).catch(() => {});
    const match = BACKUP_NAME.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    const log = join(dir, match[1]!);
    const backup: Backup = { path, read: { version: { ino: -1, size: Number(match[2]), mtimeMs: -1 }, hash: match[3]! }, written: { size: Number(match[4]), hash: match[5]! } };
    const [old, current, oldStats, currentStats] = await Promise.all([readFile(path).catch(() => null), readFile(log).catch(() => null), stat(path).catch(() => null), stat(log).catch(() => null)]);
    // Killed before the rename: the backup is the log itself.
    const sameFile = oldStats && currentStats && oldStats.ino === currentStats.ino;
    const late = old && oldStats && current && !sameFile ? classifyLateWrite(old, backup, versionOf(oldStats)) : null;
    if (late && current && !alreadyPutBack(current, late)) {
      const merged = late.kind === 'not-utf8' ? null : mergeLateWrite(current, backup, late);
      if (merged === null) {
        const why = late.kind === 'not-utf8' ? 'is not UTF-8' : 'rewrote a version of the log that has changed since';
        notes.push(`${log}: text written while daebug was replacing it ${why}; it is kept in ${path}`);
        continue;
      }
      const temp = await writeTemp(log, merged);
      await rename(temp.temp, log);
      notes.push(`${log}: text written while daebug was replacing it was put back after a restart`);
    }
    await unlink(path).catch(() => {});
  }
  return notes;
}

/**
 * True when the log already holds an appended late write: the daemon put it back and was killed before
 * the backup's name said so. The text may have moved since (a request gets its header and marker
 * around it), but its bytes stay together; a second copy would run the request twice.
 */
function alreadyPutBack(current: Buffer, late: LateWrite): boolean {
  if (late.kind !== 'appended') return false;
  // Whole lines only: "agent line" is not already in "later agent line".
  return current.subarray(0, late.bytes.length).equals(late.bytes) || current.includes(Buffer.concat([Buffer.from('\n'), late.bytes]));
}

