/**
 * daebug reads and writes only real files and folders inside the root. A log, `daebug/` or daebug.md
 * that is a symlink may point anywhere: `daebug -> .` would have the daemon put its footer into the
 * project's README.md, and a log linked to a file elsewhere would be read, served and run. Such paths
 * are refused, never followed.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFile, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { promisify } from 'node:util';

/** A file opened for reading (a file descriptor the caller closes), or why not. */
export type RealFile = { kind: 'file'; fd: number; stats: Stats } | { kind: 'missing' } | { kind: 'not-real'; reason: string };

/** Why `path` is not a real folder (a symlink, or not a folder), or null when it is one or does not exist. */
export async function folderProblem(path: string): Promise<string | null> {
  try {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) return `${path} is a symlink`;
    return stats.isDirectory() ? null : `${path} is not a folder`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

// O_NOFOLLOW makes the open itself refuse a symlink, so it cannot be swapped in after a check.
// O_NONBLOCK keeps a FIFO named like a log from blocking the open; it is refused right after.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Opens a regular file for reading without following a symlink at `path`. Synchronous: an open and a
 * stat take microseconds, a trip through the thread pool up to a millisecond on a busy machine.
 */
export function openRealFile(path: string): RealFile {
  let fd: number;
  try {
    // Without O_NOFOLLOW (Windows) a check before the open is the best there is.
    if (constants.O_NOFOLLOW === undefined && lstatSync(path).isSymbolicLink()) return { kind: 'not-real', reason: `${path} is a symlink` };
    fd = openSync(path, READ_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    // ELOOP on Linux and macOS, EMLINK on FreeBSD: the last part of the path is a symlink.
    if (code === 'ELOOP' || code === 'EMLINK') return { kind: 'not-real', reason: `${path} is a symlink` };
    throw error;
  }
  let stats: Stats;
  try {
    stats = fstatSync(fd);
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
  if (stats.isFile()) return { kind: 'file', fd, stats };
  closeQuietly(fd);
  return { kind: 'not-real', reason: `${path} is not a regular file` };
}

/** Closes a file descriptor; one closed already is no error. */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Closed already.
  }
}

/** The text of a regular file at `path` that is not a symlink. */
export async function readRealText(path: string): Promise<{ kind: 'text'; text: string } | Exclude<RealFile, { kind: 'file' }>> {
  const file = openRealFile(path);
  if (file.kind !== 'file') return file;
  try {
    return { kind: 'text', text: await readFd(file.fd, 'utf8') };
  } finally {
    closeQuietly(file.fd);
  }
}

/** Reads the whole open file `fd` in the thread pool. */
export const readFd = promisify(readFile);
