/**
 * The whole text of a block over the output budget goes to a file beside the log,
 * `daebug/<realm>.out/<n>.json` (or `.txt`), written once (beside-log.ts); the block is then cut and
 * names that file (protocol/budget.ts).
 */
import { basename, dirname, join, relative } from 'node:path';
import { FILE_BUDGET, numberedFiles } from './beside-log.js';
import { formatBytes } from '../protocol/time.js';

/** Said in the registry once long answers of a realm, or of all, pass their budget. */
export const BUDGET_NOTICE = `the whole texts of long answers (daebug/<realm>.out/) and screenshots are kept within ${formatBytes(FILE_BUDGET.folderBytes)} per realm and ${formatBytes(FILE_BUDGET.totalBytes)} in all: the oldest were removed to make room, and the blocks that name them name files that are gone`;
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
export function createSpill(root: string, budget: number, warn: (message: string) => void, notice: (text: string) => void, files = numberedFiles(root)): Spill {
  // Written synchronously: the log change that names the file is queued right after, in the order
  // the daemon made it (an await here would let a later change of the same log overtake it).
  const write = (logPath: string, lang: RenderedValue['lang'], text: string): string | undefined => {
    const folder = join(dirname(logPath), `${basename(logPath).replace(/\.md$/i, '')}.out`);
    try {
      const written = files.write(folder, lang === 'JSON' ? 'json' : 'txt', text.endsWith('\n') ? text : `${text}\n`);
      if (written.removed.files > 0) notice(BUDGET_NOTICE);
      return relative(root, written.path).split('\\').join('/');
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
