/**
 * The whole text of a block over the output budget goes to a file beside the log,
 * `daebug/<realm>.out/<n>.json` (or `.txt`), written once (beside-log.ts); the block is then cut and
 * names that file (protocol/budget.ts).
 */
import { basename, dirname, join, relative } from 'node:path';
import { numberedFiles } from './beside-log.js';
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
  const files = numberedFiles(root);
  // Written synchronously: the log change that names the file is queued right after, in the order
  // the daemon made it (an await here would let a later change of the same log overtake it).
  const write = (logPath: string, lang: RenderedValue['lang'], text: string): string | undefined => {
    const folder = join(dirname(logPath), `${basename(logPath).replace(/\.md$/i, '')}.out`);
    try {
      const file = files.write(folder, lang === 'JSON' ? 'json' : 'txt', text.endsWith('\n') ? text : `${text}\n`);
      return relative(root, file).split('\\').join('/');
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
