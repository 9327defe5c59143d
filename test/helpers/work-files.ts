// The daemon's temp files and backups under a root: where they belong (`.daebug/`) and where they must
// never be (next to the user's files).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { workFolders } from '../../src/store/work-folders.js';

const WORK_FILE = /\.daebug-(tmp|prev)$/;

function names(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Backup file names in `.daebug/backups/`. */
export function backupNames(root: string): string[] {
  return names(workFolders(root).backups).filter((name) => name.endsWith('.daebug-prev'));
}

/** Every temp file and backup under the root, wherever it is, as a path relative to the root. */
export function workFiles(root: string): string[] {
  const { temps, backups } = workFolders(root);
  const places: [string, string][] = [
    ['', root],
    ['daebug/', join(root, 'daebug')],
    ['.daebug/tmp/', temps],
    ['.daebug/backups/', backups],
  ];
  return places.flatMap(([prefix, dir]) => names(dir).filter((name) => WORK_FILE.test(name)).map((name) => prefix + name));
}
