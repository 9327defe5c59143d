/**
 * Files the daemon writes beside a log, outside its own `.daebug/`: the whole text of a long answer
 * (`<log>.out/<n>.json`, spill.ts) and screenshots (`<log>.shots/<n>.png`, screenshots.ts). Both are
 * numbered on from the highest file already there, so a restarted daemon never writes over one an
 * agent may still open, and both go only into a folder whose real path is where its name says inside
 * the real root, and only as new files: a symlinked folder or a name planted in it leads nowhere.
 *
 * They are kept within a budget (issue 23: a realm holding only the page token could fill the disk):
 * at most `folderBytes` in one folder and `totalBytes` in all folders together. A file that would pass
 * either makes room first: the oldest files of its folder go, then the oldest of the fullest folder.
 * Numbers never go back within a run, so a block that names a removed file never names a new one.
 */
import { mkdirSync, readdirSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** What one write did to make room. */
export interface Written {
  /** The file written. */
  path: string;
  /** Older files removed to keep within the budget, and their size. */
  removed: { files: number; bytes: number };
}

/** Writes numbered files into folders beside logs. */
export interface NumberedFiles {
  /**
   * Writes `data` as the next `<n>.<extension>` in `folder` (made when missing), making room first.
   * Throws with the reason when the folder is not a real folder inside the root, or the file cannot
   * be written, or is larger than a folder may hold.
   */
  write(folder: string, extension: string, data: string | Uint8Array): Written;
}

/** How much the files beside logs may take. */
export interface FileBudget {
  folderBytes: number;
  totalBytes: number;
}

/** The budget of the files beside logs unless told otherwise. */
export const FILE_BUDGET: FileBudget = { folderBytes: 64 * 1024 * 1024, totalBytes: 256 * 1024 * 1024 };

interface Kept {
  n: number;
  file: string;
  bytes: number;
}

/** Numbered files under `root`, within `budget`. */
export function numberedFiles(root: string, budget: FileBudget = FILE_BUDGET): NumberedFiles {
  /** What each folder holds, oldest first, read from disk at its first write. */
  const folders = new Map<string, Kept[]>();
  /** The highest number each folder has had. */
  const highest = new Map<string, number>();
  let total = 0;
  const keptIn = (folder: string): Kept[] => {
    let kept = folders.get(folder);
    if (!kept) {
      kept = readKept(folder);
      folders.set(folder, kept);
      highest.set(folder, kept.at(-1)?.n ?? 0);
      total += sum(kept);
    }
    return kept;
  };
  const removeOldest = (kept: Kept[], removed: Written['removed']) => {
    const oldest = kept.shift()!;
    unlinkSync(oldest.file);
    total -= oldest.bytes;
    removed.files += 1;
    removed.bytes += oldest.bytes;
  };
  const makeRoom = (folder: Kept[], bytes: number): Written['removed'] => {
    const removed = { files: 0, bytes: 0 };
    while (folder.length > 0 && sum(folder) + bytes > budget.folderBytes) removeOldest(folder, removed);
    while (total + bytes > budget.totalBytes) {
      const fullest = [...folders.values()].filter((kept) => kept.length > 0).sort((a, b) => sum(b) - sum(a))[0];
      if (!fullest) break;
      removeOldest(fullest, removed);
    }
    return removed;
  };
  return {
    write(folder, extension, data) {
      const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      if (bytes > budget.folderBytes) throw new Error(`a file of ${bytes} bytes is more than the ${budget.folderBytes} bytes ${folder} may hold`);
      mkdirSync(folder, { recursive: true });
      // No symlink may lead the write out of the root: the folder must be where its name says.
      if (realpathSync(folder) !== join(realpathSync(root), relative(root, folder))) throw new Error(`${folder} is not a real folder inside the root`);
      const kept = keptIn(folder);
      const removed = makeRoom(kept, bytes);
      for (let attempt = 0; ; attempt++) {
        const n = highest.get(folder)! + 1;
        highest.set(folder, n);
        const file = join(folder, `${n}.${extension}`);
        try {
          // `wx`: a new file only, never through a name that exists (a symlink planted there).
          writeFileSync(file, data, { flag: 'wx' });
          kept.push({ n, file, bytes });
          total += bytes;
          return { path: file, removed };
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
        }
      }
    },
  };
}

/** The numbered files in `folder`, oldest (lowest number) first; what is not one is not counted. */
function readKept(folder: string): Kept[] {
  const kept: Kept[] = [];
  for (const name of readdirSync(folder)) {
    const n = Number(/^(\d+)\.[a-z]+$/.exec(name)?.[1]);
    if (!Number.isInteger(n) || n < 1) continue;
    const file = join(folder, name);
    const stats = statSync(file, { throwIfNoEntry: false });
    if (stats?.isFile()) kept.push({ n, file, bytes: stats.size });
  }
  return kept.sort((a, b) => a.n - b.n);
}

function sum(kept: readonly Kept[]): number {
  return kept.reduce((bytes, file) => bytes + file.bytes, 0);
}
