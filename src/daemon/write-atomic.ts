/**
 * Reading a log and replacing it atomically without ever overwriting an agent's write.
 *
 * A replacement goes to a temp file in the same folder, is fsynced and renamed over the log, so a
 * crash leaves the old file or the new one, never a mix. Right before the rename the log is checked
 * against what was read (inode, size, mtime, and for files up to 1 MiB the content hash); if it
 * changed, nothing is renamed and the caller recomputes from the new text. The old file is kept as
 * a hard-linked backup for a while after the rename: an agent that opened the log just before the
 * rename writes into the old file, and its text is put back into the log from there.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Logs larger than this are left alone with a warning. */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** Up to this size the content hash is checked again right before a rename; above it, inode, size and mtime. */
const HASH_RECHECK_BYTES = 1024 * 1024;

/**
 * A content hash covers the size and at most this many bytes from the end: every byte of a file up to
 * 1 MiB, and of a longer one the part where the daemon and agents write. Above 1 MiB a log is trusted
 * by inode, size and modification time anyway, so hashing its whole history would buy nothing.
 */
const HASHED_TAIL_BYTES = 1024 * 1024;

/** What identifies one version of a file on disk. */
export interface FileVersion {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** A version of a log the daemon knows to the byte: what it read or wrote last. */
export interface LogSnapshot {
  version: FileVersion;
  bytes: Buffer;
  /**
   * `bytes` decoded as they are (BOM and CRLF kept) are `start` followed by `end`: a long history that
   * stays as it was read and what came after it. Joining them copies the history, so it happens only
   * where the whole text is needed (`rawText`).
   */
  start: string;
  end: string;
  hash: string;
}

/** A snapshot's whole decoded text. */
export function rawText(snapshot: Pick<LogSnapshot, 'start' | 'end'>): string {
  return snapshot.end === '' ? snapshot.start : snapshot.start + snapshot.end;
}

/** The length of a snapshot's decoded text. */
function rawLength(snapshot: Pick<LogSnapshot, 'start' | 'end'>): number {
  return snapshot.start.length + snapshot.end.length;
}

/** A log as read, with the open handle that guards its replacement. */
export interface TextRead extends LogSnapshot {
  kind: 'text';
  handle: FileHandle | null;
  /** How many characters at the start of the text are known to be those of the snapshot given to `readLog`. */
  sameStart: number;
}

/** The outcome of reading a log. */
export type LogRead = TextRead | { kind: 'missing' } | { kind: 'too-big'; size: number } | { kind: 'not-utf8' };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A short hash of the size and the last MiB, for recognising versions and detecting changes. */
export function contentHash(bytes: Uint8Array): string {
  const hashed = bytes.length > HASHED_TAIL_BYTES ? bytes.subarray(bytes.length - HASHED_TAIL_BYTES) : bytes;
  return createHash('sha1').update(`${bytes.length}:`).update(hashed).digest('base64url');
}

function versionOf(stats: { ino: number; size: number; mtimeMs: number }): FileVersion {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

/** True when two versions are the same file with the same size and modification time. */
export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/**
 * Reads a log; the returned handle must be released with `releaseRead` once the update is done.
 *
 * With `known`, the last version the daemon read or wrote: a file still at that version is not read
 * again, and a file that only grew past it has only its new bytes decoded (after a byte comparison of
 * the rest), so an agent's append to a long log costs a read and a compare, not a decode of the history.
 */
export async function readLog(path: string, known?: LogSnapshot): Promise<LogRead> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (stats.size > MAX_LOG_BYTES) {
      await handle.close();
      return { kind: 'too-big', size: stats.size };
    }
    if (known && sameVersion(versionOf(stats), known.version)) return { ...known, kind: 'text', handle, sameStart: rawLength(known) };
    const bytes = await handle.readFile();
    const grown = known !== undefined && bytes.length >= known.bytes.length && bytes.subarray(0, known.bytes.length).equals(known.bytes);
    let text: Pick<LogSnapshot, 'start' | 'end'>;
    try {
      text = grown ? { start: known.start, end: known.end + utf8.decode(bytes.subarray(known.bytes.length)) } : { start: utf8.decode(bytes), end: '' };
    } catch {
      await handle.close();
      return { kind: 'not-utf8' };
    }
    const version = versionOf({ ...stats, size: bytes.length });
    return { kind: 'text', ...text, bytes, hash: contentHash(bytes), version, handle, sameStart: grown ? rawLength(known) : 0 };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/** Closes the handle held by a read. */
export async function releaseRead(read: LogRead): Promise<void> {
  if (read.kind === 'text' && read.handle) {
    const handle = read.handle;
    read.handle = null;
    await handle.close().catch(() => {});
  }
}

/** The outcome of a replacement: when written, the new version as a snapshot. */
export type ReplaceOutcome = { kind: 'written'; snapshot: LogSnapshot; backup: Backup } | { kind: 'changed' } | { kind: 'missing' };

let tempCounter = 0;

/**
 * Replaces the log at `path` with `next` if it is still the version `read` saw. `next` is the whole
 * new text, or the part after a start it shares with what was read (see `SharedStart`).
 *
 * Right before the rename, the current file is hard-linked to a backup whose name records what was
 * read from it and what was written in its place. An agent that opened the log before the rename may
 * still write into that old file a moment later; whatever it writes stays reachable through the
 * backup. The caller keeps the backup for a while, looks into it (`lateWrite`) before each later
 * write and puts what it finds back into the log (`mergeLateWrite`); if the daemon dies first,
 * `recoverInterruptedWrites` finds the backup at the next start.
 */
export async function replaceLog(path: string, read: TextRead, next: string | SharedStart): Promise<ReplaceOutcome> {
  const { reuse, rest } = typeof next === 'string' ? encodeAfter(read, next) : { reuse: bytesBefore(read, next.chars), rest: Buffer.from(next.rest, 'utf8') };
  const bytes = reuse > 0 ? Buffer.concat([read.bytes.subarray(0, reuse), rest]) : rest;
  // A long unchanged start is copied by the kernel from the log itself (checked below to be the
  // version read), several times faster than writing it again from memory.
  let made: { temp: string; version: FileVersion };
  try {
    made = reuse >= COPY_FROM_BYTES ? await copyTemp(path, reuse, rest) : await writeTemp(path, bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  const { temp, version: written } = made;
  const discard = async <T>(outcome: T) => {
    await unlink(temp).catch(() => {});
    return outcome;
  };
  // The slow content check first, so the last check sits right before the rename.
  if (read.version.size <= HASH_RECHECK_BYTES && read.handle) {
    const fresh = await readAt(read.handle, read.version.size + 1);
    if (contentHash(fresh) !== read.hash) return discard({ kind: 'changed' as const });
  }
  const hash = contentHash(bytes);
  const backup = createBackup(path, { version: read.version, hash: read.hash }, { size: bytes.length, hash });
  try {
    if (!sameVersion(versionOf(await stat(path)), read.version)) return discard({ kind: 'changed' as const });
    await unlink(backup.path).catch(() => {});
    await link(path, backup.path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return discard({ kind: 'missing' as const });
    await discard(null);
    throw error;
  }
  await rename(temp, path);
  const text = typeof next === 'string' ? { start: next, end: '' } : textAfter(read, next);
  return { kind: 'written', snapshot: { version: written, bytes, ...text, hash }, backup };
}

/** A new text given as its first `chars` characters being those of the text read, followed by `rest`. */
export interface SharedStart {
  chars: number;
  rest: string;
}

/** The byte offset in what was read of its character offset `chars`, counted from the end. */
function bytesBefore(read: LogSnapshot, chars: number): number {
  const after = chars >= read.start.length ? read.end.slice(chars - read.start.length) : read.start.slice(chars) + read.end;
  return read.bytes.length - Buffer.byteLength(after, 'utf8');
}

/** The snapshot text of a new version given as a shared start (see `SharedStart`). */
function textAfter(read: LogSnapshot, next: SharedStart): Pick<LogSnapshot, 'start' | 'end'> {
  if (next.chars <= read.start.length) return { start: read.start.slice(0, next.chars), end: next.rest };
  return { start: read.start, end: read.end.slice(0, next.chars - read.start.length) + next.rest };
}

/**
 * `next` as UTF-8, reusing the bytes of the part it shares with what was read: a transition changes
 * the end of a log, so a long history is compared (at memory speed), not encoded again.
 */
function encodeAfter(read: LogSnapshot, next: string): { reuse: number; rest: Buffer } {
  const old = rawText(read);
  const limit = Math.min(old.length, next.length);
  const CHUNK = 65_536;
  let same = 0;
  while (same + CHUNK <= limit && old.slice(same, same + CHUNK) === next.slice(same, same + CHUNK)) same += CHUNK;
  while (same < limit && old.charCodeAt(same) === next.charCodeAt(same)) same += 1;
  // Never split a surrogate pair between the reused bytes and the encoded rest.
  if (same > 0 && isHighSurrogate(old.charCodeAt(same - 1))) same -= 1;
  if (same < CHUNK) return { reuse: 0, rest: Buffer.from(next, 'utf8') };
  return { reuse: bytesBefore(read, same), rest: Buffer.from(next.slice(same), 'utf8') };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

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

function createBackup(log: string, read: Backup['read'], written: Backup['written']): Backup {
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

async function readAt(handle: FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.alloc(size);
  let offset = 0;
  while (offset < size) {
    const { bytesRead } = await handle.read(buffer, offset, size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return buffer.subarray(0, offset);
}

/** Creates `path` with `text` unless it exists by now; the file appears complete or not at all. */
export async function createFile(path: string, text: string): Promise<{ kind: 'written'; version: FileVersion; hash: string } | { kind: 'changed' }> {
  const bytes = Buffer.from(text, 'utf8');
  const { temp, version } = await writeTemp(path, bytes);
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { kind: 'changed' };
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
  return { kind: 'written', version, hash: contentHash(bytes) };
}

/**
 * Writes `bytes` to a new temp file next to `path` and fsyncs it. Returns its path and its version,
 * taken before the rename (which keeps inode and mtime), so an agent's write that lands right after
 * the rename is never mistaken for the daemon's own.
 */
async function writeTemp(path: string, bytes: Uint8Array): Promise<{ temp: string; version: FileVersion }> {
  const temp = tempPath(path);
  return finishTemp(temp, await open(temp, 'wx'), async (out) => {
    await out.writeFile(bytes);
  });
}

/** Unchanged starts from this size on are copied from the log rather than written (see `replaceLog`). */
const COPY_FROM_BYTES = 1024 * 1024;

/** Like `writeTemp`, for the first `keep` bytes of the log at `path` followed by `rest`. */
async function copyTemp(path: string, keep: number, rest: Buffer): Promise<{ temp: string; version: FileVersion }> {
  const temp = tempPath(path);
  try {
    await copyFile(path, temp, constants.COPYFILE_EXCL);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  return finishTemp(temp, await open(temp, 'r+'), async (out) => {
    await out.truncate(keep);
    for (let done = 0; done < rest.length; ) done += (await out.write(rest, done, rest.length - done, keep + done)).bytesWritten;
  });
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${++tempCounter}.daebug-tmp`);
}

/** Fills an open temp file, fsyncs and closes it; on failure removes it. */
async function finishTemp(temp: string, out: FileHandle, fill: (out: FileHandle) => Promise<void>): Promise<{ temp: string; version: FileVersion }> {
  try {
    await fill(out);
    await out.sync();
    const version = versionOf(await out.stat());
    await out.close();
    return { temp, version };
  } catch (error) {
    await out.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}
