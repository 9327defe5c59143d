/**
 * Test runs on their way through realms: queued for a realm (capped, and expired when no realm takes
 * them), handed to it on its next poll, followed as it reports progress (written into its log at most
 * once a second), and ended with the results in its log before the caller hears `end`.
 */
import type { TestProgressEvent, TestProgressMessage } from '../protocol/messages.js';
import type { TestEntry, TestProgress } from '../protocol/sections.js';
import { createJobIds } from './jobs.js';
import type { DaemonTiming, TestRunHandle } from './contract.js';
import type { Realm } from './realms.js';
import { createTestRun, recordTestEvent, testProgress, type TestRun } from './test-runs.js';

/** Test runs waiting for a realm, per realm and in all: each holds its file list in memory. */
const MAX_WAITING_RUNS_PER_REALM = 4;
const MAX_WAITING_RUNS = 16;

/** What the queue needs of the daemon. */
export interface TestRunHost {
  /** How long a run waits for a realm, how often its progress is written, when a silent realm has stopped (see DaemonTiming). */
  timing: Pick<DaemonTiming, 'testRunWaitMs' | 'testProgressMs' | 'testSilenceGraceMs'>;
  /** Offers the realm its next job or run. */
  dispatch(realm: Realm): void;
  started(realm: Realm, run: TestRun): void;
  writeProgress(realm: Realm, progress: TestProgress): void;
  /** Writes the results section; resolves once it is on disk (or could not be written). */
  writeResults(realm: Realm, entries: TestEntry[], durationMs: number): Promise<unknown>;
}

/** The daemon's test runs. */
export class TestRunQueue {
  private readonly runs = new Map<string, TestRun>();
  private readonly nextId = createJobIds();

  constructor(private readonly host: TestRunHost) {}

  /** Queues a run of `files` for `realm`; refused when too many wait already. */
  start(realm: Realm, files: string[], timeoutMs: number): TestRunHandle {
    const waiting = [...this.runs.values()].filter((run) => run.dispatchedAt === null);
    if (realm.testRuns.length >= MAX_WAITING_RUNS_PER_REALM || waiting.length >= MAX_WAITING_RUNS) {
      return { ok: false, code: 'ERR_BUSY', message: `too many test runs wait for a realm (${realm.testRuns.length} for ${realm.name}, ${waiting.length} in all); try again once they ran` };
    }
    const run = createTestRun(this.nextId(), realm.key, files, timeoutMs);
    this.runs.set(run.id, run);
    realm.testRuns.push(run);
    this.host.dispatch(realm);
    return {
      ok: true,
      runId: run.id,
      subscribe(listener) {
        run.listeners.add(listener);
        return () => run.listeners.delete(listener);
      },
      cancel: () => {
        if (run.dispatchedAt !== null || run.finished) return;
        run.finished = true;
        this.runs.delete(run.id);
        realm.testRuns.splice(realm.testRuns.indexOf(run), 1);
        run.listeners.clear();
      },
    };
  }

  /** Hands the realm its next waiting run, if it is polling; true when it did. */
  dispatch(realm: Realm): boolean {
    const run = realm.testRuns[0];
    if (!run || !realm.waiter) return false;
    realm.testRuns.shift();
    run.dispatchedAt = Date.now();
    run.lastEventAt = run.dispatchedAt;
    realm.waiter.answer({ type: 'tests', runId: run.id, files: run.files, timeoutMs: run.timeoutMs });
    this.host.started(realm, run);
    return true;
  }

  /** Progress from the realm that runs `message.runId`; false when it runs no such run. */
  progress(realm: Realm, message: TestProgressMessage): boolean {
    const run = this.runs.get(message.runId);
    if (!run || run.realmKey !== realm.key) return false;
    for (const event of message.events) {
      if (event.kind === 'end') {
        this.finish(run, realm, event.durationMs);
        break;
      }
      recordTestEvent(run, event);
      this.notify(run, event);
    }
    if (!run.finished) this.progressLater(run, realm);
    return true;
  }

  /** Ends runs that no realm took in time, and runs whose realm stopped reporting, as failures. */
  sweep(now: number, realmOf: (key: string) => Realm, isClosed: (realm: Realm) => boolean = () => false): void {
    for (const run of this.runs.values()) {
      const realm = realmOf(run.realmKey);
      if (run.dispatchedAt === null) {
        // A run for a realm that never comes would wait, and take memory, for good; one whose page closed waits for nothing.
        const closed = isClosed(realm);
        if (!closed && now - run.startedAt < this.host.timing.testRunWaitMs) continue;
        realm.testRuns.splice(realm.testRuns.indexOf(run), 1);
        this.fail(run, 0, closed ? `${realm.name} was closed before it took the run` : `no realm named ${realm.name} took the run within ${Math.round(this.host.timing.testRunWaitMs / 1000)} s`);
        this.finish(run, realm, now - run.startedAt, false);
        continue;
      }
      // A realm that closed, or stops reporting (crashed, hung), ends its run as a failure.
      const closed = isClosed(realm);
      if (!closed && now - run.lastEventAt < run.timeoutMs + this.host.timing.testSilenceGraceMs) continue;
      this.fail(run, now - run.dispatchedAt, closed ? `${realm.name} was closed during the run` : `${realm.name} stopped reporting test progress for ${Math.round((now - run.lastEventAt) / 1000)} s`);
      this.finish(run, realm, now - run.startedAt);
    }
  }

  private fail(run: TestRun, durationMs: number, why: string): void {
    const event: TestProgressEvent = { kind: 'fail', path: ['(test run)'], durationMs, error: `Error: ${why}` };
    recordTestEvent(run, event);
    this.notify(run, event);
  }

  private notify(run: TestRun, event: TestProgressEvent): void {
    for (const listener of run.listeners) listener(event);
  }

  /** Writes the run's progress section, at most once a second. */
  private progressLater(run: TestRun, realm: Realm): void {
    if (run.progressTimer) return;
    const wait = Math.max(0, run.lastProgressWrite + this.host.timing.testProgressMs - Date.now());
    run.progressTimer = setTimeout(() => {
      run.progressTimer = null;
      if (run.finished) return;
      run.lastProgressWrite = Date.now();
      this.host.writeProgress(realm, testProgress(run));
    }, wait);
  }

  /** Ends a run: its results go into the realm's log (unless the realm never took it), then `end` to its caller. */
  private finish(run: TestRun, realm: Realm, durationMs: number, toLog = true): void {
    if (run.finished) return;
    run.finished = true;
    clearTimeout(run.progressTimer ?? undefined);
    this.runs.delete(run.id);
    // The caller hears `end` once the results are in the log, so a CLI that exits finds them there.
    const written = toLog ? this.host.writeResults(realm, [...run.entries], durationMs) : Promise.resolve();
    void written.catch(() => undefined).then(() => {
      this.notify(run, { kind: 'end', durationMs });
      run.listeners.clear();
    });
  }
}
