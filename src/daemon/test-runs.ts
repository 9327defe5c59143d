/**
 * A test run in a realm, as the daemon follows it: progress events in, the log's test sections and
 * the listeners' event stream out.
 */
import type { TestProgressEvent } from '../protocol/messages.js';
import type { TestEntry, TestProgress } from '../protocol/sections.js';

/** One run of test files in one realm. */
export interface TestRun {
  id: string;
  realmKey: string;
  files: string[];
  timeoutMs: number;
  startedAt: number;
  /** When the realm took the run, or null while it waits. */
  dispatchedAt: number | null;
  entries: TestEntry[];
  running: string | null;
  lastEventAt: number;
  listeners: Set<(event: TestProgressEvent) => void>;
  finished: boolean;
  progressTimer: NodeJS.Timeout | null;
  lastProgressWrite: number;
}

/** A new run waiting for its realm. */
export function createTestRun(id: string, realmKey: string, files: string[], timeoutMs: number): TestRun {
  const now = Date.now();
  return { id, realmKey, files, timeoutMs, startedAt: now, dispatchedAt: null, entries: [], running: null, lastEventAt: now, listeners: new Set(), finished: false, progressTimer: null, lastProgressWrite: 0 };
}

/** Folds one progress event into the run. */
export function recordTestEvent(run: TestRun, event: TestProgressEvent): void {
  run.lastEventAt = Date.now();
  if (event.kind === 'start') {
    run.running = event.path.join(' > ');
  } else if (event.kind === 'pass' || event.kind === 'skip' || event.kind === 'todo' || event.kind === 'fail') {
    run.running = null;
    run.entries.push({
      path: event.path,
      status: event.kind,
      durationMs: event.durationMs,
      ...(event.kind === 'fail' ? { error: event.cancelled ? `${event.error}\n(cancelled)` : event.error } : {}),
      ...(event.kind !== 'fail' && event.reason ? { reason: event.reason } : {}),
    });
  }
}

/** The run's progress for the log's `## Test Progress` section. */
export function testProgress(run: TestRun): TestProgress {
  const count = (status: TestEntry['status'] | 'skipped') => run.entries.filter((entry) => (status === 'skipped' ? entry.status === 'skip' || entry.status === 'todo' : entry.status === status)).length;
  return {
    done: run.entries.length,
    total: run.entries.length + (run.running ? 1 : 0),
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skipped'),
    durationMs: Date.now() - run.startedAt,
    ...(run.running ? { current: run.running } : {}),
  };
}
