/**
 * The daemon's own folder, `.daebug/` at the served root: temp files, backups, the daemon's token and
 * `daemon.json`. It sits on the same filesystem as the logs (hard links and renames into `daebug/`
 * keep working) and holds a `.gitignore` of `*`, so nothing in it is ever committed.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The name of the state folder under the root. */
export const STATE_DIR_NAME = '.daebug';

/** `.daebug/` under `root`. */
export function stateDir(root: string): string {
  return join(root, STATE_DIR_NAME);
}

/**
 * Creates `.daebug/` (and its `.gitignore`) when missing and returns its path. Refuses a state folder
 * that is a symlink or not a folder: the daemon would write its files somewhere else.
 */
export async function ensureStateDir(root: string): Promise<string> {
  const dir = stateDir(root);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stats = await lstat(dir);
  if (!stats.isDirectory() || stats.isSymbolicLink()) throw Object.assign(new Error(`${dir} is not a folder of its own (a symlink or a file); remove it`), { code: 'ERR_STATE_DIR' });
  // The daemon's token and backups go here: another user's folder, or one anyone may write, is not the daemon's.
  const foreign = notOwnOnly(dir, stats);
  if (foreign) throw Object.assign(new Error(`${foreign}; remove it`), { code: 'ERR_STATE_DIR' });
  await writeFile(join(dir, '.gitignore'), '*\n', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return dir;
}

/**
 * Why `path` (its `stats`) is not this user's alone: it belongs to another user, or other users may
 * write it; null when it is this user's and nobody else writes it. Owners are not compared where the
 * platform has no user ids. What the daemon writes in `.daebug/` and what a Node process trusts there
 * must pass this.
 */
export function notOwnOnly(path: string, stats: Stats): string | null {
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) return `${path} belongs to user ${stats.uid}, not to this process's user ${uid}`;
  if (process.platform !== 'win32' && (stats.mode & 0o022) !== 0) return `${path} may be written by other users (mode ${(stats.mode & 0o777).toString(8)})`;
  return null;
}
