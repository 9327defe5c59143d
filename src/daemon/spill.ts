/**
 * The whole text of a block over the output budget goes to a file beside the log,
 * `daebug/<realm>.out/<n>.json` (or `.txt`), written once; the block is then cut and names that file
 * (protocol/budget.ts). Numbers go on from the highest file already there, so a restarted daemon
 * never writes over an answer an agent may still open.
 */
import { mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { overBudget } from '../protocol/budget.js';
import type { JobOutcome, LogEvent, RenderedValue } from '../protocol/render.js';

/** Writes the whole texts of over-budget blocks. */
export interface Spill {
  /** The outcome, with `whole` set on a value or error over the budget. */
  outcome(logPath: string, outcome: JobOutcome): JobOutcome;
  /** Sets `whole` on each event over the budget that has none yet (a streamed event keeps its file). */
  events(logPath: string, events: readonly LogEvent[]): void;
}

/** Spills for logs under `root`, with blocks cut at `budget` bytes; `warn` says why a file could not be written. */
export function createSpill(root: string, budget: number, warn: (message: string) => void): Spill {
  const last = new Map<string, number>();

  // Written synchronously: the log change that names the file is queued right after, in the order
  // the daemon made it (an await here would let a later change of the same log overtake it).
  const write = (logPath: string, lang: RenderedValue['lang'], text: string): string | undefined => {
    const folder = join(dirname(logPath), `${basename(logPath).replace(/\.md$/i, '')}.out`);
    try {
      mkdirSync(folder, { recursive: true });
      // No symlink may lead the write out of the root: the folder must be where its name says.
      if (realpathSync(folder) !== join(realpathSync(root), relative(root, folder))) throw new Error(`${folder} is not a real folder inside the root`);
      for (let attempt = 0; ; attempt++) {
        const n = (last.get(folder) ?? highestNumber(folder)) + 1;
        last.set(folder, n);
        const file = join(folder, `${n}.${lang === 'JSON' ? 'json' : 'txt'}`);
        try {
          // `wx`: a new file only, never through a name that exists (a symlink planted there).
          writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`, { flag: 'wx' });
          return relative(root, file).split('\\').join('/');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw error;
        }
      }
    } catch (error) {
      warn(`cannot keep a long answer in ${folder}: ${(error as Error).message}`);
      return undefined;
    }
  };

  return {
    outcome(logPath, outcome) {
      if (outcome.kind === 'value' && !outcome.value.whole && overBudget(outcome.value.text, budget)) {
        return { ...outcome, value: { ...outcome.value, whole: write(logPath, outcome.value.lang, outcome.value.text) } };
      }
      if (outcome.kind === 'error' && !outcome.whole && overBudget(outcome.error, budget)) return { ...outcome, whole: write(logPath, 'Error', outcome.error) };
      return outcome;
    },
    events(logPath, events) {
      for (const event of events) if (!event.whole && overBudget(event.text, budget)) event.whole = write(logPath, event.lang, event.text);
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
