/**
 * Versions of files on disk, and temp files that become a new version of a log by a rename.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, fsync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { copyFile, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMP_SUFFIX } from './backup-names.js';
import { closeQuietly } from './real-file.js';
import { inWorkFolder, type WorkFolders } from './work-folders.js';

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

/** Decodes UTF-8, refusing invalid bytes, and keeps a BOM as a character. */
export const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A short hash of the size and the last MiB, for recognising versions and detecting changes. */
export function contentHash(bytes: Uint8Array): string {
  const hashed = bytes.length > HASHED_TAIL_BYTES ? bytes.subarray(bytes.length - HASHED_TAIL_BYTES) : bytes;
  return createHash('sha1').update(`${bytes.length}:`).update(hashed).digest('base64url');
}

/** The identifying part of `stat` results. */
export function versionOf(stats: { ino: number; size: number; mtimeMs: number }): FileVersion {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

/** True when two versions are the same file with the same size and modification time. */
export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

let tempCounter = 0;

/**
 * Writes `bytes` to a new temp file in the daemon's `tmp/` folder and fsyncs it. Returns its path and
 * its version, taken before the rename (which keeps inode and mtime), so an agent's write that lands
 * right after the rename is never mistaken for the daemon's own.
 */
export async function writeTemp(folders: WorkFolders, bytes: Uint8Array): Promise<{ temp: string; version: FileVersion }> {
  const temp = tempPath(folders);
  if (bytes.length <= SYNC_IO_BYTES) return writeSmallTemp(folders, temp, bytes);
  return finishTemp(temp, await inWorkFolder(folders, folders.temps, () => open(temp, 'wx')), async (out) => {
    await out.writeFile(bytes);
  });
}

/**
 * Files up to this size are read, and temp files made, with synchronous calls, the fsync excepted:
 * a call on a small file takes microseconds, a trip through the thread pool 0.05-1 ms on a busy
 * machine, and a turn makes dozens of them. The fsync (0.6 ms here) stays in the pool, and larger
 * files are handled asynchronously, so the daemon never stops for long.
 */
export const SYNC_IO_BYTES = 1024 * 1024;
const fsyncAsync = promisify(fsync);

async function writeSmallTemp(folders: WorkFolders, temp: string, bytes: Uint8Array): Promise<{ temp: string; version: FileVersion }> {
  const fd = await inWorkFolder(folders, folders.temps, async () => openSync(temp, 'wx'));
  try {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    await fsyncAsync(fd);
    const version = versionOf(fstatSync(fd));
    closeSync(fd);
    return { temp, version };
  } catch (error) {
    closeQuietly(fd);
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/** Unchanged starts from this size on are copied from the log rather than written (see `replaceLog`). */
export const COPY_FROM_BYTES = 1024 * 1024;

/** Like `writeTemp`, for the first `keep` bytes of the log at `path` followed by `rest`. */
export async function copyTemp(folders: WorkFolders, path: string, keep: number, rest: Buffer): Promise<{ temp: string; version: FileVersion }> {
  const temp = tempPath(folders);
  try {
    await inWorkFolder(folders, folders.temps, () => copyFile(path, temp, constants.COPYFILE_EXCL));
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  return finishTemp(temp, await open(temp, 'r+'), async (out) => {
    await out.truncate(keep);
    for (let done = 0; done < rest.length; ) done += (await out.write(rest, done, rest.length - done, keep + done)).bytesWritten;
  });
}

function tempPath(folders: WorkFolders): string {
  return join(folders.temps, `${process.pid}.${++tempCounter}${TEMP_SUFFIX}`);
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
