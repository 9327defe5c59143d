/**
 * At start: finishes writes that a killed daemon left half done. Temp files are removed; text an agent
 * wrote into the old file of an interrupted replacement is put back into the log (see `mergeLateWrite`).
 *
 * A backup's name says which file it guards, so recovery trusts names only where the daemon makes
 * them: `.daebug/backups/`, whose names can only say `daebug.md` or a `.md` file in `daebug/` (see
 * backup-names.ts). daebug 0.1.0 kept its backups next to the file; those are read too, but only for
 * `daebug.md` in the root and `.md` files in `daebug/`, because a name planted there could say any
 * file (a `.package.json.<...>.daebug-prev` once gave package.json a `postinstall` line). Nothing is
 * read or written through a symlink.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BACKUP_SUFFIX,
  TEMP_SUFFIX,
  daebugFilePath,
  isLogFileName,
  parseBackupName,
  parseLegacyBackupName,
  parseLegacyTempName,
  type BackupVersions,
  type DaebugFile,
} from './backup-names.js';
import { classifyLateWrite, mergeLateWrite, type Backup, type LateWrite } from './backups.js';
import { versionOf, writeTemp } from './temp-file.js';
import { ensureWorkFolders, workFolders, type WorkFolders } from './work-folders.js';
import { MAX_LOG_BYTES } from './write-atomic.js';

/**
 * Creates the working folders under `root` and finishes what a killed daemon left in them (and what
 * daebug 0.1.0 left next to its files). Returns one message per file that needs a word: text put
 * back, text that could not go back (its backup stays), a file refused. Runs before the daemon writes.
 */
export async function recoverInterruptedWrites(root: string): Promise<string[]> {
  const folders = workFolders(root);
  await ensureWorkFolders(folders);
  const notes: string[] = [];
  for (const name of await list(folders.temps)) if (name.endsWith(TEMP_SUFFIX)) await unlink(join(folders.temps, name)).catch(() => {});
  for (const name of await list(folders.backups)) {
    if (!name.endsWith(BACKUP_SUFFIX)) continue;
    const path = join(folders.backups, name);
    const parsed = parseBackupName(name);
    const note = parsed
      ? await recoverBackup(folders, path, parsed.file, parsed.versions)
      : `${path} is not a backup daebug made (its name names neither daebug.md nor a .md file in daebug/); nothing was restored from it`;
    if (note !== null) notes.push(note);
  }
  await recoverLegacy(folders, root, (target) => (target === 'daebug.md' ? { kind: 'registry' } : null), notes);
  await recoverLegacy(folders, join(root, 'daebug'), (target) => (isLogFileName(target) ? { kind: 'log', name: target } : null), notes);
  return notes;
}

/**
 * Temp files and backups that daebug 0.1.0 left in `dir`, next to the files they were for. Those of a
 * file `fileOf` accepts are finished and removed; any other file named like them is not daebug's and
 * stays as it is, named in a message.
 */
async function recoverLegacy(folders: WorkFolders, dir: string, fileOf: (target: string) => DaebugFile | null, notes: string[]): Promise<void> {
  for (const name of await list(dir)) {
    if (!name.endsWith(TEMP_SUFFIX) && !name.endsWith(BACKUP_SUFFIX)) continue;
    const path = join(dir, name);
    const backup = parseLegacyBackupName(name);
    const target = backup?.target ?? parseLegacyTempName(name);
    const file = target === null ? null : fileOf(target);
    if (file === null) notes.push(`${path} is not daebug's: daebug never writes ${target === null ? 'the file it names' : join(dir, target)}, so it leaves it alone`);
    else if (!backup) await unlink(path).catch(() => {});
    else {
      const note = await recoverBackup(folders, path, file, backup.versions);
      if (note !== null) notes.push(note);
    }
  }
}

/**
 * Puts back what an agent wrote into the old file kept at `path`, then removes it; keeps it when its
 * text cannot go back. Returns a message when there is something to say.
 */
async function recoverBackup(folders: WorkFolders, path: string, file: DaebugFile, versions: BackupVersions): Promise<string | null> {
  const log = daebugFilePath(folders.root, file);
  const backup: Backup = { path, file, read: { version: { ino: -1, size: versions.read.size, mtimeMs: -1 }, hash: versions.read.hash }, written: versions.written };
  try {
    const folder = file.kind === 'log' ? await lstat(join(folders.root, 'daebug')).catch(() => null) : null;
    if (folder && !folder.isDirectory()) return `${join(folders.root, 'daebug')} is a symlink or not a folder; nothing was restored into ${log} from ${path}`;
    const [old, current] = await Promise.all([readRegularFile(path), readRegularFile(log)]);
    if (old.kind === 'refused') return `${path} ${old.why}; nothing was restored from it`;
    if (current.kind === 'refused') return `${log} ${current.why}; nothing was restored into it from ${path}`;
    // Killed before the rename: the backup is the log itself.
    const sameFile = old.kind === 'file' && current.kind === 'file' && old.stats.ino === current.stats.ino && old.stats.dev === current.stats.dev;
    const late = old.kind === 'file' && current.kind === 'file' && !sameFile ? classifyLateWrite(old.bytes, backup, versionOf(old.stats)) : null;
    if (late && current.kind === 'file' && !alreadyPutBack(current.bytes, late)) {
      const merged = late.kind === 'not-utf8' ? null : mergeLateWrite(current.bytes, backup, late);
      if (merged === null) {
        const why = late.kind === 'not-utf8' ? 'is not UTF-8' : 'rewrote a version of the log that has changed since';
        return `${log}: text written while daebug was replacing it ${why}; it is kept in ${path}`;
      }
      const temp = await writeTemp(folders, merged);
      await rename(temp.temp, log);
      await unlink(path).catch(() => {});
      return `${log}: text written while daebug was replacing it was put back after a restart`;
    }
    await unlink(path).catch(() => {});
    return null;
  } catch (error) {
    return `${path}: cannot recover what it holds for ${log} (${(error as Error).message}); it stays`;
  }
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

type RegularFile = { kind: 'file'; bytes: Buffer; stats: Stats } | { kind: 'missing' } | { kind: 'refused'; why: string };

/** Never through a symlink, and never blocking on a FIFO: the file is looked at before it is opened. */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** A regular file's bytes; a symlink, anything else that is not a regular file, or a file over the log limit is refused. */
async function readRegularFile(path: string): Promise<RegularFile> {
  const seen = await lstat(path).catch(() => null);
  if (seen === null) return { kind: 'missing' };
  if (!seen.isFile()) return { kind: 'refused', why: 'is a symlink or not a regular file' };
  if (seen.size > MAX_LOG_BYTES) return { kind: 'refused', why: 'is over the size limit of a log' };
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'refused', why: 'is a symlink or not a regular file' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    // Replaced between the look and the open: not the file that was looked at.
    if (!stats.isFile() || stats.ino !== seen.ino || stats.dev !== seen.dev) return { kind: 'refused', why: 'was replaced while daebug looked at it' };
    return { kind: 'file', bytes: await handle.readFile(), stats };
  } finally {
    await handle.close();
  }
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

