/**
 * What the daemon's parts share: its timing, the log store, the realm table, its log, its clock and
 * the registry's schedule. Made once by startDaemon and handed to each part.
 */
import type { DaemonLogEntry, DaemonTiming } from './contract.js';
import type { Journal } from './journal.js';
import type { LogStore } from '../store/index.js';
import type { RealmTable } from './realms.js';
import type { Spill } from './spill.js';
import type { NumberedFiles } from './beside-log.js';
import type { RequestSources } from '../code/request-positions.js';
import type { StackMapper } from '../code/stack-mapper.js';

export interface DaemonContext {
  readonly timing: DaemonTiming;
  readonly store: LogStore;
  /** The journal of requests: what was accepted and handed to realms (journal.ts). */
  readonly journal: Journal;
  readonly realms: RealmTable;
  /** The output budget of each reply block, in bytes. */
  readonly maxOutputBytes: number;
  /** Keeps the whole text of a block over the budget in a file beside its log. */
  readonly spill: Spill;
  /** The files beside logs (long answers, screenshots) and their budget on disk. */
  readonly files: NumberedFiles;
  /** The code of recent jobs, to show positions in a job's code as positions in its fence. */
  readonly requests: RequestSources;
  /** Rewrites the stacks realms send (own frames dropped, fence positions, source maps). */
  readonly stacks: StackMapper;
  log(entry: DaemonLogEntry): void;
  warn(message: string): void;
  /** Runs work in the background; a failure becomes a warning, never a crash. */
  background(what: string, work: Promise<unknown>): void;
  /** The wall clock as `HH:MM:SS`, for headers written into logs. */
  clock(): string;
  /** Something daebug cannot do for the pages, said once on the console and in the registry's notices. */
  notice(text: string): void;
  /** Asks for a registry write (several asks within its interval become one). */
  scheduleRegistry(): void;
  /** True once the daemon is stopping: nothing new is started. */
  closed(): boolean;
}
