/**
 * Reading a log and replacing it atomically without ever overwriting an agent's write.
 *
 * A replacement goes to a temp file in `.daebug/tmp/` (on the root's filesystem, like the log), is
 * fsynced and renamed over the log, so a crash leaves the old file or the new one, never a mix. Right
 * before the rename the log is checked against what was read (inode, size, mtime, and for files up to
 * 1 MiB the content hash); if it changed, nothing is renamed and the caller recomputes from the new
 * text. The old file is kept as a hard-linked backup in `.daebug/backups/` (backups.ts). Only
 * `daebug.md` and `.md` files directly in `daebug/` are ever written.
 */
import { linkSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { link, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { nativeExchange, type Exchange } from './exchange.js';
import { daebugFileAt, type DaebugFile } from './backup-names.js';
import { createBackup, type Backup } from './backups.js';
import { closeQuietly, openRealFile, readFd } from './real-file.js';
import { COPY_FROM_BYTES, SYNC_IO_BYTES, contentHash, copyTemp, sameVersion, utf8, versionOf, writeTemp, type FileVersion } from './temp-file.js';
import { inWorkFolder, type WorkFolders } from './work-folders.js';

/** Logs larger than this are left alone with a warning. */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** Up to this size the content hash is checked again right before a rename; above it, inode, size and mtime. */
const HASH_RECHECK_BYTES = 1024 * 1024;

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

/**
 * Past this many characters the end of a snapshot joins its start: the end holds what changed since
 * the log was last read whole, and in a long session that is no longer short.
 */
const END_MAX_CHARS = 1024 * 1024;

function snapshotText(start: string, end: string): Pick<LogSnapshot, 'start' | 'end'> {
  return end.length > END_MAX_CHARS ? { start: start + end, end: '' } : { start, end };
}

/** A snapshot's whole decoded text. */
export function rawText(snapshot: Pick<LogSnapshot, 'start' | 'end'>): string {
  return snapshot.end === '' ? snapshot.start : snapshot.start + snapshot.end;
}

/** The length of a snapshot's decoded text. */
function rawLength(snapshot: Pick<LogSnapshot, 'start' | 'end'>): number {
  return snapshot.start.length + snapshot.end.length;
}

/** A log as read, with the open file that guards its replacement. */
export interface TextRead extends LogSnapshot {
  kind: 'text';
  /** The log's file descriptor, open until `releaseRead`. */
  fd: number | null;
  /** How many characters at the start of the text are known to be those of the snapshot given to `readLog`. */
  sameStart: number;
  /** The bytes of the snapshot given to `readLog` when this version is that one or an append to it. */
  startsWith: Buffer | null;
}

/** The outcome of reading a log; `not-real`: a symlink or not a regular file (real-file.ts), never followed. */
export type LogRead = TextRead | { kind: 'missing' } | { kind: 'too-big'; size: number } | { kind: 'not-utf8' } | { kind: 'not-real'; reason: string };

/**
 * Reads a log; the file it holds open must be released with `releaseRead` once the update is done.
 *
 * With `known`, the last version the daemon read or wrote: a file still at that version is not read
 * again, and a file that only grew past it has only its new bytes decoded (after a byte comparison of
 * the rest), so an agent's append to a long log costs a read and a compare, not a decode of the history.
 */
export async function readLog(path: string, known?: LogSnapshot): Promise<LogRead> {
  const file = openRealFile(path);
  if (file.kind !== 'file') return file;
  const { fd, stats } = file;
  try {
    if (stats.size > MAX_LOG_BYTES) {
      closeQuietly(fd);
      return { kind: 'too-big', size: stats.size };
    }
    if (known && sameVersion(versionOf(stats), known.version)) return { ...known, kind: 'text', fd, sameStart: rawLength(known), startsWith: known.bytes };
    const bytes = stats.size <= SYNC_IO_BYTES ? readAllSync(fd, stats.size) : await readFd(fd);
    const grown = known !== undefined && bytes.length >= known.bytes.length && bytes.subarray(0, known.bytes.length).equals(known.bytes);
    let text: Pick<LogSnapshot, 'start' | 'end'>;
    try {
      text = grown ? snapshotText(known.start, known.end + utf8.decode(bytes.subarray(known.bytes.length))) : { start: utf8.decode(bytes), end: '' };
    } catch {
      closeQuietly(fd);
      return { kind: 'not-utf8' };
    }
    const version = versionOf({ ...stats, size: bytes.length });
    return { kind: 'text', ...text, bytes, hash: contentHash(bytes), version, fd, sameStart: grown ? rawLength(known) : 0, startsWith: grown ? known.bytes : null };
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}


/** Closes the file a read holds open. */
export function releaseRead(read: LogRead): void {
  if (read.kind === 'text' && read.fd !== null) {
    closeQuietly(read.fd);
    read.fd = null;
  }
}

/** The outcome of a replacement: when written, the new version as a snapshot. */
export type ReplaceOutcome = { kind: 'written'; snapshot: LogSnapshot; backup: Backup } | { kind: 'changed' } | { kind: 'missing' };

/**
 * Replaces the log at `path` with `next` if it is still the version `read` saw. `next` is the whole
 * new text, or the part after a start it shares with what was read (see `SharedStart`). Temp file and
 * backup go to the daemon's working folders under the root (`folders`).
 *
 * The new version takes the log's place and the file it replaced becomes a backup whose name records
 * what was read from it and what was written in its place (`placeVersion`). An agent that opened the
 * log before may still write into that old file a moment later, and (with the exchange rename) an
 * editor's save may have replaced the log since the last check: either way the text is in the backup. The caller
 * keeps it for a while, looks into it (`lateWrite`) right after the write and before each later
 * one, and puts what it finds back into the log (`mergeLateWrite`); if the daemon dies first,
 * `recoverInterruptedWrites` finds the backup at the next start.
 */
export async function replaceLog(path: string, read: TextRead, next: string | SharedStart, folders: WorkFolders): Promise<ReplaceOutcome> {
  const file = writableFile(folders, path);
  const { reuse, rest } = typeof next === 'string' ? encodeAfter(read, next) : { reuse: bytesBefore(read, next.chars), rest: Buffer.from(next.rest, 'utf8') };
  // A long unchanged start is copied by the kernel from the log itself (checked below to be the
  // version read), several times faster than writing it again from memory; the copy in memory that
  // the daemon keeps of the new version is made meanwhile (for 10 MB, 9 ms of the main thread).
  const copied = reuse >= COPY_FROM_BYTES ? copyTemp(folders, path, reuse, rest) : null;
  const bytes = reuse > 0 ? Buffer.concat([read.bytes.subarray(0, reuse), rest]) : rest;
  let made: { temp: string; version: FileVersion };
  try {
    made = await (copied ?? writeTemp(folders, bytes));
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
  if (read.version.size <= HASH_RECHECK_BYTES && read.fd !== null) {
    const fresh = readAt(read.fd, read.version.size + 1);
    if (contentHash(fresh) !== read.hash) return discard({ kind: 'changed' as const });
  }
  const hash = contentHash(bytes);
  const backup = createBackup(folders.backups, file, { version: read.version, hash: read.hash }, { size: bytes.length, hash }, read.bytes);
  try {
    // The common race costs nothing: an agent's edit seen here is simply read again.
    if (!sameVersion(versionOf(statSync(path)), read.version)) return discard({ kind: 'changed' as const });
    rmSync(backup.path, { force: true });
    await inWorkFolder(folders, folders.backups, async () => statSync(folders.backups));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return discard({ kind: 'missing' as const });
    await discard(null);
    throw error;
  }
  const placed = placeVersion(path, temp, backup.path);
  if (placed === 'missing') return discard({ kind: 'missing' as const });
  const text = typeof next === 'string' ? { start: next, end: '' } : textAfter(read, next);
  return { kind: 'written', snapshot: { version: written, bytes, ...text, hash }, backup };
}

/**
 * Puts the new version (`temp`) in place of the log and keeps the file it replaced as `backup`.
 *
 * With the exchange rename (Linux) the two swap in one step: exactly the file that was the log at
 * that instant comes out under the temp name, whoever put it there (an editor's save that landed
 * after the last check included), and is renamed to the backup, where the caller looks for what it
 * did not read. Without it, the log is hard-linked to the backup and the new version renamed over
 * it; a save renamed over the log between those two calls (microseconds apart, nothing runs between)
 * would be replaced. The log never disappears in either way.
 */
export function placeVersion(path: string, temp: string, backup: string): 'placed' | 'missing' {
  const exchange = exchangeFor(path);
  if (exchange) {
    const code = exchange(temp, path);
    if (code === 0) {
      renameSync(temp, backup);
      return 'placed';
    }
    if (code === ENOENT) return 'missing';
    // The kernel or this filesystem has no exchange: use the fallback from now on for it.
    unsupported.add(dirname(path));
  }
  try {
    linkSync(path, backup);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  renameSync(temp, path);
  return 'placed';
}

const ENOENT = osConstants.errno.ENOENT;
/** Folders where the exchange rename failed with anything but a missing file. */
const unsupported = new Set<string>();

function exchangeFor(path: string): Exchange | null {
  return unsupported.has(dirname(path)) ? null : nativeExchange();
}

/** True when logs in the folder of `path` are put in place by the exchange rename. */
export function usesExchange(path: string): boolean {
  return exchangeFor(path) !== null;
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
  if (next.chars <= read.start.length) return snapshotText(read.start.slice(0, next.chars), next.rest);
  return snapshotText(read.start, read.end.slice(0, next.chars - read.start.length) + next.rest);
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
  // Less than a chunk in common (every short log): encoding it all is cheaper than finding where.
  if (same < CHUNK) return { reuse: 0, rest: Buffer.from(next, 'utf8') };
  while (same < limit && old.charCodeAt(same) === next.charCodeAt(same)) same += 1;
  // Never split a surrogate pair between the reused bytes and the encoded rest.
  if (isHighSurrogate(old.charCodeAt(same - 1))) same -= 1;
  return { reuse: bytesBefore(read, same), rest: Buffer.from(next.slice(same), 'utf8') };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The first `size` bytes of the open file `fd` (fewer when it is shorter), read synchronously. */
function readAt(fd: number, size: number): Buffer {
  const buffer = Buffer.alloc(size);
  let offset = 0;
  while (offset < size) {
    const bytesRead = readSync(fd, buffer, offset, size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return buffer.subarray(0, offset);
}

/** The whole open file `fd`, expected to hold about `size` bytes (it may have grown since). */
function readAllSync(fd: number, size: number): Buffer {
  const chunks = [readAt(fd, size + 1)];
  for (let offset = chunks[0]!.length; chunks.at(-1)!.length > 0 && offset > size; ) {
    const more = Buffer.alloc(65_536);
    const bytesRead = readSync(fd, more, 0, more.length, offset);
    chunks.push(more.subarray(0, bytesRead));
    offset += bytesRead;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Creates `path` with `text` unless it exists by now; the file appears complete or not at all. */
export async function createFile(path: string, text: string, folders: WorkFolders): Promise<{ kind: 'written'; version: FileVersion; hash: string } | { kind: 'changed' }> {
  writableFile(folders, path);
  const bytes = Buffer.from(text, 'utf8');
  const { temp, version } = await writeTemp(folders, bytes);
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

/** What `path` is among daebug's files; anything else is refused before a byte is written. */
function writableFile(folders: WorkFolders, path: string): DaebugFile {
  const file = daebugFileAt(folders.root, path);
  if (file === null) throw Object.assign(new Error(`daebug does not write ${path}: it writes only daebug.md and .md files in daebug/`), { code: 'ERR_NOT_DAEBUG_FILE' });
  return file;
}
