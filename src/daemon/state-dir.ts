/**
 * The daemon's own folder, `.daebug/` at the served root: temp files, backups, the daemon's token and
 * `daemon.json`. It sits on the same filesystem as the logs (hard links and renames into `daebug/`
 * keep working) and holds a `.gitignore` of `*`, so nothing in it is ever committed.
 */
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
  await writeFile(join(dir, '.gitignore'), '*\n', { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return dir;
}
