/**
 * Jobs between their acceptance and their reply: queued per realm, handed to the realm's waiting poll,
 * ticked, streamed, timed out and finished. `transition` alone moves a job between states and owns
 * its timers; every change it makes to a log is a files.md change (protocol/changes.ts) posted to
 * the log's outbox (outbox.ts), which writes it with whatever else waits for that log. The journal of
 * requests (journal.ts) learns of each hand-out before the realm gets the job.
 */
import type { LogChange } from '../protocol/changes.js';
import type { EventsMessage } from '../protocol/messages.js';
import type { JobOutcome, LogEvent } from '../protocol/render.js';
import { formatClock } from '../protocol/time.js';
import type { Finish } from '../protocol/transitions.js';
import type { DaemonContext } from './daemon-context.js';
import { clearJobTimers, type Job, type JobState } from './jobs.js';
import { fenceKey, journalLog } from './journal.js';
import type { Outbox } from './outbox.js';
import type { RealmSections } from './realm-sections.js';
import { excerpt, type Replies } from './replies.js';
import { realmState, type Realm } from './realms.js';


/** Timed-out jobs kept per realm to recognise their late results. */
const LATE_RESULTS_KEPT = 50;

/** What the scheduler works with besides the shared context. */
export interface SchedulerParts {
  outbox: Outbox<unknown>;
  replies: Replies;
  sections: RealmSections;
  /** Offers a realm with no job queued its next test run. */
  offerTestRun(realm: Realm): void;
}

export class Scheduler {
  constructor(
    private readonly context: DaemonContext,
    private readonly parts: SchedulerParts,
  ) {}

  /** Queues an accepted job; a job whose code could not be prepared is answered at once with `error`. */
  enqueue(realm: Realm, job: Job, error?: string): void {
    if (error === undefined) realm.queue.push(job);
    else this.finish(realm, job, { kind: 'error', error });
  }

  /** Drops a queued job whose request left the log. */
  cancel(realm: Realm, job: Job, why: string): void {
    if (job.state !== 'requested') return;
    realm.queue.splice(realm.queue.indexOf(job), 1);
    this.transition(realm, job, 'cancelled');
    // Called once the write that removed its marker (or its log) is on disk.
    this.ended(job);
    this.context.log({ level: 'info', event: 'job-cancelled', message: `the request at ${job.request.requestedAt} (${excerpt(job.request.code)}) ${why}`, realm: realm.name, jobId: job.id });
  }

  /**
   * Requests that will not run: their realm is gone. Each gets a notice in place of its waiting marker
   * (`message`: why, and what the agent can do).
   */
  drop(realm: Realm, jobs: readonly Job[], message: string): void {
    const at = this.context.clock();
    for (const job of jobs) {
      realm.queue.splice(realm.queue.indexOf(job), 1);
      this.transition(realm, job, 'cancelled');
      this.context.log({ level: 'info', event: 'job-cancelled', message: `${realm.name}: not run (${job.request.requestedAt} ${excerpt(job.request.code)}): ${message}`, realm: realm.name, jobId: job.id });
    }
    for (const path of new Set(jobs.map((job) => job.logPath))) {
      const dropped = jobs.filter((job) => job.logPath === path);
      const written = this.parts.outbox.post(path, { type: 'drop', realm: realm.name, jobs: dropped.map((job) => job.request), message, at }, { jobs: dropped });
      this.context.background(`dropping requests of ${realm.name}`, written.then(() => dropped.forEach((job) => this.ended(job))));
    }
    if (jobs.length > 0) this.context.scheduleRegistry();
  }

  /** Rewrites a running job's `executing (<n>s)` line now, with `not responding` when its realm is. */
  tick(realm: Realm, job: Job): void {
    if (job.state !== 'dispatched' || job.startedAt === null) return;
    const state = realmState(realm, Date.now(), this.context.timing);
    const notResponding = state === 'not responding' || state === 'unresponsive';
    this.change(job, `ticking job ${job.id}`, { type: 'tick', job: job.request, seconds: (Date.now() - job.startedAt) / 1000, notResponding });
  }

  /** A deleted log: its queued jobs are dropped; a running job's reply will wait for the log to return. */
  dropLog(realm: Realm, path: string): void {
    const dropped = realm.queue.filter((job) => job.logPath === path);
    for (const job of dropped) this.cancel(realm, job, `dropped: ${path} was deleted`);
    if (dropped.length > 0) this.context.scheduleRegistry();
  }

  /**
   * Hands the realm its next job if its poll waits and it runs nothing; else its next test run. Its
   * running marker goes to the outbox, whose write waits up to quickAnswerMs while the job runs: a
   * quick job goes from `queued` to its reply in one write.
   */
  dispatch(realm: Realm): void {
    if (this.context.closed() || !realm.waiter || realm.running) return;
    const job = realm.queue.shift();
    if (!job) return this.parts.offerTestRun(realm);
    this.hand(realm, job, 'h');
  }

  /**
   * Hands the waiting realm a job whose request is not accepted on disk yet (a quick answer,
   * log-sync.ts): the write that accepts it carries its marker, or its reply when that came first.
   */
  dispatchEarly(realm: Realm, job: Job): void {
    this.hand(realm, job, 'e');
  }

  /** The write accepting an early job's request is on disk: with its reply (`reply`), or with its running marker. */
  accepted(job: Job, reply: boolean): void {
    // To the journal, a job handed like any other now.
    if (!reply) this.journal(job, 'm', 'h');
  }

  /** The journal of requests (journal.ts) learns what became of a job; on disk when this returns. */
  private journal(job: Job, t: 'h' | 'e' | 'm', state: 'h' | 'e'): void {
    job.journal = state;
    this.context.journal.record({ t, log: journalLog(job.logPath), k: fenceKey(job.request.fence) });
  }

  /** The journal learns that a job ended and the write saying so is on disk. */
  private ended(job: Job): void {
    this.context.journal.record({ t: 'd', log: journalLog(job.logPath), k: fenceKey(job.request.fence), s: job.journal ?? 'p' });
  }

  private hand(realm: Realm, job: Job, how: 'h' | 'e'): void {
    // On disk before the job can reach the realm: a daemon killed from here on never runs it again.
    this.journal(job, how, how);
    realm.running = job;
    this.transition(realm, job, 'dispatched');
    this.change(job, `starting job ${job.id}`, { type: 'start', job: job.request, at: this.context.clock() });
    const body = realm.kind === 'node' ? job.nodeBody : job.body;
    realm.waiter!.answer({ type: 'job', jobId: job.id, code: job.request.code, body, timeoutMs: this.context.timing.timeoutMs });
    this.context.log({ level: 'info', event: 'job-started', message: `${realm.name} runs the request at ${job.request.requestedAt} (${excerpt(job.request.code)})`, realm: realm.name, jobId: job.id });
    this.context.scheduleRegistry();
  }

  /** Ends a job with its outcome and writes the reply (or keeps it for a deleted log). */
  finish(realm: Realm, job: Job, outcome: JobOutcome, lateEvents: LogEvent[] = []): void {
    if (realm.running === job) realm.running = null;
    this.transition(realm, job, outcome.kind === 'value' ? 'finished' : outcome.kind === 'timeout' ? 'timed out' : 'failed');
    job.events.push(...lateEvents);
    const durationMs = Date.now() - (job.startedAt ?? Date.now());
    const done = this.finishOf(job.logPath, outcome, job.events, durationMs);
    const event = outcome.kind === 'value' ? 'job-finished' : outcome.kind === 'timeout' ? 'job-timed-out' : 'job-failed';
    this.context.log({ level: 'info', event, message: `${realm.name} ${job.state} the request at ${job.request.requestedAt} (${excerpt(job.request.code)})`, realm: realm.name, jobId: job.id, durationMs });
    // The next job first: when it is of the same log, this reply waits in the outbox with its marker.
    this.dispatch(realm);
    this.parts.replies.write(job, done, () => this.ended(job));
    this.context.scheduleRegistry();
  }

  /**
   * A result from a realm: for its running job, or for one that timed out (written as a late result).
   * Null when it is for neither; else true.
   */
  result(realm: Realm, jobId: string, outcome: JobOutcome, events: LogEvent[]): boolean {
    if (realm.running?.id === jobId) {
      this.finish(realm, realm.running, outcome, events);
      return true;
    }
    const late = realm.timedOut.get(jobId);
    if (!late) return false;
    realm.timedOut.delete(jobId);
    const done = this.finishOf(late.logPath, outcome, events, Date.now() - (late.startedAt ?? Date.now()));
    this.change(late, `writing a late result of job ${late.id}`, { type: 'late', job: late.request, finish: done });
    return true;
  }

  /** Events from a realm: into its running job's reply (`jobId` absent or that job's), else its background section. */
  events(realm: Realm, message: EventsMessage): void {
    const events = toLogEvents(message.events);
    const running = realm.running;
    if (running && (message.jobId === undefined || message.jobId === running.id)) {
      running.events.push(...events);
      this.streamLater(running);
    } else {
      this.parts.sections.background(realm, events);
    }
  }

  /** Stops every timer (the daemon is stopping); jobs keep their state. */
  stop(): void {
    for (const realm of this.context.realms.all()) if (realm.running) clearJobTimers(realm.running);
  }

  /** How a reply is written: within the output budget, with what is over it kept in files beside the log. */
  private finishOf(logPath: string, outcome: JobOutcome, events: LogEvent[], durationMs: number): Finish {
    const { spill, maxOutputBytes } = this.context;
    spill.events(logPath, events);
    return { outcome: spill.outcome(logPath, outcome), events, at: this.context.clock(), durationMs, maxOutputBytes };
  }

  /** Moves a job to `to`: a dispatched job gets its timeout and tick timers, any other state none. */
  private transition(realm: Realm, job: Job, to: JobState): void {
    job.state = to;
    clearJobTimers(job);
    if (to !== 'dispatched') return;
    const { timeoutMs, tickMs } = this.context.timing;
    job.startedAt = Date.now();
    job.timers.timeout = setTimeout(() => this.timeOut(realm, job), timeoutMs);
    job.timers.tick = setInterval(() => this.tick(realm, job), tickMs);
  }

  private timeOut(realm: Realm, job: Job): void {
    if (realm.running !== job) return;
    const unresponsive = realmState(realm, Date.now(), this.context.timing) !== 'executing';
    this.finish(realm, job, { kind: 'timeout', timeoutMs: this.context.timing.timeoutMs, unresponsive });
    realm.timedOut.set(job.id, job);
    if (realm.timedOut.size > LATE_RESULTS_KEPT) realm.timedOut.delete(realm.timedOut.keys().next().value!);
  }

  private streamLater(job: Job): void {
    if (job.timers.stream) return;
    job.timers.stream = setTimeout(() => {
      job.timers.stream = undefined;
      if (job.state !== 'dispatched') return;
      this.context.spill.events(job.logPath, job.events);
      this.change(job, `streaming events of job ${job.id}`, { type: 'stream', job: job.request, events: [...job.events], maxOutputBytes: this.context.maxOutputBytes });
    }, this.context.timing.streamMs);
  }

  /** Posts a change of a job to its log's outbox (a missing log is never made again). */
  private change(job: Job, what: string, change: LogChange): void {
    this.context.background(what, this.parts.outbox.post(job.logPath, change, { jobs: [job] }));
  }
}

/** Events as the wire carries them, as the log shows them. */
export function toLogEvents(events: EventsMessage['events']): LogEvent[] {
  return events.map((event) => ({ source: event.source, lang: event.lang, text: event.text, at: formatClock(new Date(event.time)) }));
}
