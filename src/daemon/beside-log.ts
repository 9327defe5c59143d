/**
 * Files the daemon writes beside a log, outside its own `.daebug/`: the whole text of a long answer
 * (`<log>.out/<n>.json`, spill.ts) and screenshots (`<log>.shots/<n>.png`, screenshots.ts). Both are
 * numbered on from the highest file already there, so a restarted daemon never writes over one an
 * agent may still open, and both go only into a folder whose real path is where its name says inside
 * the real root, and only as new files: a symlinked folder or a name planted in it leads nowhere.
 */
import { mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Writes numbered files into folders beside logs, remembering the last number of each folder. */
export interface NumberedFiles {
  /**
   * Writes `data` as the next `<n>.<extension>` in `folder` (made when missing) and returns its path.
   * Throws with the reason when the folder is not a real folder
   * inside the root, or the file cannot be written.
   */
  write(folder: string, extension: string, data: string | Uint8Array): string;
}

/** Numbered files under `root`. */
export function numberedFiles(root: string): NumberedFiles {
  const last = new Map<string, number>();
  return {
    write(folder, extension, data) {
      mkdirSync(folder, { recursive: true });
      // No symlink may lead the write out of the root: the folder must be where its name says.
      if (realpathSync(folder) !== join(realpathSync(root), relative(root, folder))) throw new Error(`${folder} is not a real folder inside the root`);
      for (let attempt = 0; ; attempt++) {
        const n = (last.get(folder) ?? highestNumber(folder)) + 1;
        last.set(folder, n);
        const file = join(folder, `${n}.${extension}`);
        try {
          // `wx`: a new file only, never through a name that exists (a symlink planted there).
          writeFileSync(file, data, { flag: 'wx' });
          return file;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
        }
      }
    },
  };
}

/** The highest `<n>` of the files in `folder`, 0 when there are none. */
function highestNumber(folder: string): number {
  let highest = 0;
  for (const name of readdirSync(folder)) {
    const n = Number.parseInt(name, 10);
    if (Number.isInteger(n) && n > highest) highest = n;
  }
  return highest;
}
