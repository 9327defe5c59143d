/**
 * The folders in `.daebug/` where the daemon makes its working files: temp files that become a new
 * version of a log by a rename (`tmp/`), and the hard-linked old versions it keeps for a while
 * (`backups/`). Both sit on the root's filesystem, as the logs do, so the renames and links work.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureStateDir, stateDir } from './state-dir.js';

/** The working folders of the daemon serving `root`. */
export interface WorkFolders {
  root: string;
  temps: string;
  backups: string;
}

/** The working folders under `root`; `ensureWorkFolders` creates them. */
export function workFolders(root: string): WorkFolders {
  const dir = stateDir(root);
  return { root, temps: join(dir, 'tmp'), backups: join(dir, 'backups') };
}

/** Creates `.daebug/` (refused when it is a symlink, see `ensureStateDir`) and both working folders. */
export async function ensureWorkFolders(folders: WorkFolders): Promise<void> {
  await ensureStateDir(folders.root);
  for (const dir of [folders.temps, folders.backups]) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const stats = await lstat(dir);
    if (!stats.isDirectory()) throw Object.assign(new Error(`${dir} is not a folder of its own (a symlink or a file); remove it`), { code: 'ERR_STATE_DIR' });
  }
}

/**
 * Runs `make`, which creates a file in `folder`. When `folder` is gone (`.daebug/` is ignored by git,
 * so `git clean -x` removes it under a running daemon), the folders are made again and `make` runs once
 * more; a missing file elsewhere stays the caller's ENOENT.
 */
export async function inWorkFolder<T>(folders: WorkFolders, folder: string, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || (await exists(folder))) throw error;
    await ensureWorkFolders(folders);
    return make();
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
