/**
 * Reading a log and replacing it atomically without ever overwriting an agent's write.
 *
 * A replacement goes to a temp file in the same folder, is fsynced and renamed over the log, so a
 * crash leaves the old file or the new one, never a mix. Right before the rename the log is checked
 * against what was read (inode, size, mtime, and for files up to 1 MiB the content hash); if it
 * changed, nothing is renamed and the caller recomputes from the new text. The file handle opened
 * for the read stays open until after the rename: if an agent appended to the old file in the instant
 * between the check and the rename, its text is recovered from that handle.
 */
import { createHash } from 'node:crypto';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Logs larger than this are left alone with a warning. */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** Up to this size the content hash is checked again right before a rename; above it, inode, size and mtime. */
const HASH_RECHECK_BYTES = 1024 * 1024;

/** What identifies one version of a file on disk. */
export interface FileVersion {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** A log as read, with the open handle that guards its replacement. */
export interface TextRead {
  kind: 'text';
  raw: string;
  hash: string;
  version: FileVersion;
  handle: FileHandle | null;
}

/** The outcome of reading a log. */
export type LogRead = TextRead | { kind: 'missing' } | { kind: 'too-big'; size: number } | { kind: 'not-utf8' };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A short content hash for recognising the daemon's own writes and detecting changes. */
export function contentHash(bytes: Uint8Array | string): string {
  return createHash('sha1').update(bytes).digest('base64url');
}

function versionOf(stats: { ino: number; size: number; mtimeMs: number }): FileVersion {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

/** True when two versions are the same file with the same size and modification time. */
export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** Reads a log; the returned handle must be released with `releaseRead` once the update is done. */
export async function readLog(path: string): Promise<LogRead> {
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
    const bytes = await handle.readFile();
    let raw: string;
    try {
      raw = utf8.decode(bytes);
    } catch {
      await handle.close();
      return { kind: 'not-utf8' };
    }
    return { kind: 'text', raw, hash: contentHash(bytes), version: versionOf({ ...stats, size: bytes.length }), handle };
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

/** The outcome of a replacement. */
export type ReplaceOutcome =
  | { kind: 'written'; version: FileVersion; hash: string }
  | { kind: 'changed' }
  | { kind: 'missing' }
  /**
   * Written, but an agent wrote into the old file in the instant before the rename: `read.raw` holds
   * the old file with the agent's text, to compute the change again from; `read.version` is the file
   * now on disk (the daemon's), which the next replacement checks against.
   */
  | { kind: 'raced'; read: TextRead };

let tempCounter = 0;

/** Replaces the log at `path` with `next` if it is still the version `read` saw. */
export async function replaceLog(path: string, read: TextRead, next: string): Promise<ReplaceOutcome> {
  const bytes = Buffer.from(next, 'utf8');
  const { temp, version: written } = await writeTemp(path, bytes);
  const discard = async <T>(outcome: T) => {
    await unlink(temp).catch(() => {});
    return outcome;
  };
  let current;
  try {
    current = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return discard({ kind: 'missing' as const });
    await discard(null);
    throw error;
  }
  if (!sameVersion(versionOf(current), read.version)) return discard({ kind: 'changed' as const });
  if (read.version.size <= HASH_RECHECK_BYTES && read.handle) {
    const fresh = await readAt(read.handle, read.version.size + 1);
    if (contentHash(fresh) !== read.hash) return discard({ kind: 'changed' as const });
  }
  await rename(temp, path);
  const hash = contentHash(bytes);
  if (read.handle) {
    const old = await read.handle.stat();
    if (old.size !== read.version.size || old.mtimeMs !== read.version.mtimeMs) {
      const recovered = await readAt(read.handle, old.size);
      try {
        return { kind: 'raced', read: { kind: 'text', raw: utf8.decode(recovered), hash, version: written, handle: null } };
      } catch {
        // The agent's new text is not UTF-8, so the daemon must not rewrite it: put it back as it was.
        await restore(path, recovered);
        return { kind: 'changed' };
      }
    }
  }
  return { kind: 'written', version: written, hash };
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

async function restore(path: string, bytes: Uint8Array): Promise<void> {
  await rename((await writeTemp(path, bytes)).temp, path);
}

/**
 * Writes `bytes` to a new temp file next to `path` and fsyncs it. Returns its path and its version,
 * taken before the rename (which keeps inode and mtime), so an agent's write that lands right after
 * the rename is never mistaken for the daemon's own.
 */
async function writeTemp(path: string, bytes: Uint8Array): Promise<{ temp: string; version: FileVersion }> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${++tempCounter}.daebug-tmp`);
  const out = await open(temp, 'wx');
  try {
    await out.writeFile(bytes);
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
