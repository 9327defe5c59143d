/**
 * The old file of each replacement, kept as a hard-linked backup in `.daebug/backups/`: an agent that
 * opened the log just before the rename writes into it, and what it wrote is put back into the log
 * from there, while the daemon runs (see log-store.ts) or at the next start (recover-writes.ts).
 */
import { statSync, type Stats } from 'node:fs';
import { readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeLog, encodeLog } from '../protocol/log-text.js';
import { reconcile } from '../protocol/reconcile.js';
import { backupName, type DaebugFile } from './backup-names.js';
import { contentHash, sameVersion, utf8, versionOf, type FileVersion } from './temp-file.js';

/**
 * The old file of a replacement, kept (hard-linked) until it is clear that no agent writes into it any
 * more: what the daemon has seen of it (its baseline) and what was written in its place.
 */
export interface Backup {
  path: string;
  /** The file it is the old version of; its name says so, for a restart. */
  file: DaebugFile;
  /** The old file as the daemon last saw it; anything beyond this is an agent's late write. */
  read: { version: FileVersion; hash: string };
  /**
   * The daemon's version that replaced the old file: a late write goes right after it while the log
   * still starts with it. Size 0 once a late write has been put back: later ones go to the end.
   */
  written: { size: number; hash: string };
  /**
   * The old file's bytes as the daemon last saw them, while it runs: the base of a three-way merge
   * when an agent rewrites the old file (absent in backups found at a restart).
   */
  base?: Buffer;
}

/** A backup of the current version of `file`, to be linked in `folder` (see `backupName`). */
export function createBackup(folder: string, file: DaebugFile, read: Backup['read'], written: Backup['written'], base?: Buffer): Backup {
  return { path: join(folder, backupName(file, { read: { size: read.version.size, hash: read.hash }, written })), file, read, written, ...(base ? { base } : {}) };
}

/** Where a late write's text ends up in the log. */
const AT_THE_END: Backup['written'] = { size: 0, hash: '-' };

/**
 * What an agent wrote into a replaced file since the daemon last looked: text appended to it, or a
 * whole new version; `seen` is the old file as it is now, the baseline once the text is back in the log.
 */
export type LateWrite = ({ kind: 'appended' | 'rewritten'; text: string; bytes: Buffer } | { kind: 'not-utf8'; bytes: Buffer }) & { seen: Backup['read'] };

/** Looks into a backup: null when the old file is as the daemon last saw it, or gone. */
export async function lateWrite(backup: Backup): Promise<LateWrite | null> {
  const stats = statOrNull(backup.path);
  if (stats === null || sameVersion(versionOf(stats), backup.read.version)) return null;
  const bytes = await readFile(backup.path).catch(() => null);
  if (bytes === null) return null;
  return classifyLateWrite(bytes, backup, versionOf({ ...stats, size: bytes.length }));
}

/** What the old file's `bytes` hold beyond the backup's baseline (see `LateWrite`); null when nothing. */
export function classifyLateWrite(bytes: Buffer, backup: Backup, version: FileVersion): LateWrite | null {
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
 * since, at the end. A rewrite is merged three-way from `base`: the old file as the daemon read it, or
 * the older version the agent's copy was made from (an agent that opened the file after the daemon
 * had replaced it twice in a row); without a base it replaces the daemon's version, and when that
 * version is no longer at the start of the log there is no place for it, and the result is null.
 */
export function mergeLateWrite(current: Buffer, backup: Backup, late: Extract<LateWrite, { text: string }>, base = backup.base): Buffer | null {
  const size = backup.written.size;
  const intact = size > 0 && current.length >= size && contentHash(current.subarray(0, size)) === backup.written.hash;
  if (late.kind === 'appended') return intact ? Buffer.concat([current.subarray(0, size), late.bytes, current.subarray(size)]) : Buffer.concat([current, late.bytes]);
  // A rewrite made from the old file (or, see `base`, an older version): the agent's changes to it and
  // the daemon's since both stay.
  const merged = base ? mergeText(base, current, late.bytes) : null;
  if (merged !== null) return merged;
  return intact ? Buffer.concat([late.bytes, current.subarray(size)]) : null;
}

/** The agent's rewrite `theirs` of `base` reconciled with the log as it is now (`ours`, reconcile.ts). */
function mergeText(base: Buffer, ours: Buffer, theirs: Buffer): Buffer | null {
  try {
    const copy = decodeLog(utf8.decode(theirs));
    const merged = reconcile(decodeLog(utf8.decode(base)).text, decodeLog(utf8.decode(ours)).text, copy.text);
    return Buffer.from(encodeLog(merged, copy.encoding), 'utf8');
  } catch {
    return null;
  }
}

/**
 * Records that a late write is back in the log: the old file as it is now becomes the baseline, and a
 * later late write goes to the end of the log. Takes effect at once; `syncBackupName` then renames the
 * backup to say so, for a restart.
 */
export function advanceBackup(backup: Backup, late: Extract<LateWrite, { text: string }>): void {
  backup.read = late.seen;
  backup.written = AT_THE_END;
  if (backup.base) backup.base = late.kind === 'appended' ? Buffer.concat([backup.base, late.bytes]) : late.bytes;
}

/** Renames a backup after its baseline moved on (see `advanceBackup`). */
export async function syncBackupName(backup: Backup): Promise<void> {
  const next = createBackup(dirname(backup.path), backup.file, backup.read, backup.written).path;
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

/** `stat` done synchronously (microseconds; each write looks at its recent backups), or null when the file is gone. */
function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
