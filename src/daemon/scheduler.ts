/**
 * Jobs between their acceptance and their reply: queued per realm, handed to the realm's waiting poll,
 * ticked, streamed, timed out and finished. `transition` alone moves a job between states and owns
 * its timers; every change it makes to a log is a files.md change (protocol/changes.ts) applied
 * through the log store. Replies for a deleted log wait here for a while (orphans).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LogChange } from '../protocol/changes.js';
import type { EventsMessage } from '../protocol/messages.js';
import type { JobOutcome, LogEvent } from '../protocol/render.js';
import { formatClock } from '../protocol/time.js';
import type { Finish, JobRef } from '../protocol/transitions.js';
import type { DaemonContext } from './daemon-context.js';
import { clearJobTimers, type Job, type JobState } from './jobs.js';
import { fenceKey, journalLog } from './journal.js';
import { folderProblem } from '../store/index.js';
import { realmState, type Realm } from './realms.js';

/** A reply whose log was deleted, waiting for the log to come back. */
export interface OrphanResult {
  job: Job;
  finish: Finish;
  expiresAt: number;
}

/** Replies remembered per log, to put back under a marker an older copy of the log brought back. */
const RECENT_REPLIES_KEPT = 20;

/** Timed-out jobs kept per realm to recognise their late results. */
const LATE_RESULTS_KEPT = 50;

/** What the scheduler needs besides the shared context. */
export interface SchedulerOptions {
  /** The log a realm's own sections (background events, notices) go to. */
  logPathOf(realm: Realm): string;
  /** Offers a realm with no job queued its next test run. */
  offerTestRun(realm: Realm): void;
}

export class Scheduler {
  private readonly orphans = new Map<string, OrphanResult[]>();
  /** Per log, the fences of jobs whose reply or notice is still on its way to the file (count of writes). */
  private readonly writing = new Map<string, Map<string, number>>();
  /** Per log, the last replies written, to put one back where an older copy of the log brought its marker back. */
  private readonly recent = new Map<string, { job: JobRef; finish: Finish }[]>();
  /** Per log, replies held back while the next job of the log runs (see `reply`). */
  private readonly held = new Map<string, { replies: { job: Job; done: Finish; written: () => void }[]; timer: NodeJS.Timeout }>();
  /** Each realm's log being made at its connect, by realm key: its first background write waits for it. */
  private readonly opening = new Map<string, Promise<unknown>>();

  constructor(
    private readonly context: DaemonContext,
    private readonly options: SchedulerOptions,
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
      const refs = jobs.filter((job) => job.logPath === path).map((job) => job.request);
      const applied = this.context.store.apply(path, { type: 'drop', realm: realm.name, jobs: refs, message, at });
      const dropped = jobs.filter((job) => job.logPath === path);
      void applied.then(() => dropped.forEach((job) => this.ended(job)), () => undefined);
      this.context.background(`dropping requests of ${realm.name}`, Promise.all(refs.map((ref) => this.whileWriting(path, ref.fence, applied))));
    }
    if (jobs.length > 0) this.context.scheduleRegistry();
  }

  /** Rewrites a running job's `executing (<n>s)` line now, with `not responding` when its realm is. */
  tick(realm: Realm, job: Job): void {
    // A job's running marker is not on disk in its first quickAnswerMs.
    if (job.state !== 'dispatched' || job.startedAt === null || job.early || job.timers.start) return;
    const state = realmState(realm, Date.now(), this.context.timing);
    const notResponding = state === 'not responding' || state === 'unresponsive';
    this.change(job.logPath, `ticking job ${job.id}`, { type: 'tick', job: job.request, seconds: (Date.now() - job.startedAt) / 1000, notResponding });
  }

  /** A deleted log: its queued jobs are dropped; a running job's reply will wait for the log to return. */
  dropLog(realm: Realm, path: string): void {
    const dropped = realm.queue.filter((job) => job.logPath === path);
    for (const job of dropped) this.cancel(realm, job, `dropped: ${path} was deleted`);
    if (dropped.length > 0) this.context.scheduleRegistry();
  }

  /** Hands the realm its next job if its poll waits and it runs nothing; else its next test run. */
  dispatch(realm: Realm): void {
    if (this.context.closed() || !realm.waiter || realm.running) return;
    const job = realm.queue.shift();
    if (!job) return this.options.offerTestRun(realm);
    this.hand(realm, job);
    // Its running marker only once it has run for quickAnswerMs: a quick job goes from `queued` to
    // its reply in one write (and that reply may share a write with the next job's marker).
    const start: LogChange = { type: 'start', job: job.request, at: this.context.clock() };
    const { quickAnswerMs } = this.context.timing;
    if (quickAnswerMs <= 0) return this.change(job.logPath, `starting job ${job.id}`, start);
    job.timers.start = setTimeout(() => {
      job.timers.start = undefined;
      this.change(job.logPath, `starting job ${job.id}`, start);
    }, quickAnswerMs);
  }

  /**
   * Hands a waiting realm that runs nothing a job whose request is not accepted on disk yet: the write
   * that accepts it carries its marker, or its reply when that came first (`finished` is called then);
   * `accepted` says which once that write is on disk.
   */
  dispatchEarly(realm: Realm, job: Job, finished: () => void): void {
    job.early = { finish: null, finished };
    this.hand(realm, job);
  }

  /**
   * The write accepting an early job's request is on disk, carrying its reply or its running marker;
   * or (`carried` null) its request is not to be accepted: its reply goes the usual way.
   */
  accepted(job: Job, carried: 'reply' | 'marker' | null): void {
    const early = job.early;
    if (!early) return;
    job.early = undefined;
    // Its request and running marker are on disk now: to the journal, a job handed like any other.
    if (carried === 'marker') this.journal(job, 'm', 'h');
    if (!early.finish) return;
    if (carried !== 'reply') return void this.writeReply(job, early.finish);
    this.remember(job.logPath, job.request, early.finish);
    this.ended(job);
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

  private hand(realm: Realm, job: Job): void {
    // On disk before the job can reach the realm: a daemon killed from here on never runs it again.
    this.journal(job, job.early ? 'e' : 'h', job.early ? 'e' : 'h');
    realm.running = job;
    this.transition(realm, job, 'dispatched');
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
    const early = job.early;
    // A job that ran before its request's accept was written: that write carries the reply.
    if (early) early.finish = done;
    this.dispatch(realm);
    if (early) early.finished();
    else this.reply(realm, job, done);
    this.context.scheduleRegistry();
  }

  /**
   * Writes a reply, or holds it back while the realm runs the next request of the same log, for at most
   * quickAnswerMs from the first reply held: the replies of a chunk of quick requests land in one write
   * (the store puts changes applied together into one), and a quick job never shows its running marker.
   */
  private reply(realm: Realm, job: Job, done: Finish): void {
    const path = job.logPath;
    const next = realm.running;
    const { quickAnswerMs } = this.context.timing;
    if (quickAnswerMs <= 0 || next === null || next.logPath !== path || this.context.closed()) {
      this.flushReplies(path);
      return void this.writeReply(job, done);
    }
    let written!: () => void;
    // Its fence is being written meanwhile: its marker is no stale one.
    void this.whileWriting(path, job.request.fence, new Promise<void>((resolve) => (written = resolve)));
    const held = this.held.get(path) ?? { replies: [], timer: setTimeout(() => this.flushReplies(path), quickAnswerMs) };
    held.replies.push({ job, done, written });
    this.held.set(path, held);
  }

  /** Writes the replies held back for `path`, in one write. */
  private flushReplies(path: string): void {
    const held = this.held.get(path);
    if (!held) return;
    this.held.delete(path);
    clearTimeout(held.timer);
    for (const { job, done, written } of held.replies) void this.writeReply(job, done).finally(written);
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
    this.change(late.logPath, `writing a late result of job ${late.id}`, { type: 'late', job: late.request, finish: done });
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
      realm.background.push(...events);
      this.backgroundLater(realm);
    }
  }

  /** Writes a notice into the realm's log; with `create`, into a new log when it has none. */
  notice(realm: Realm, message: string, options: { create?: boolean } = {}): void {
    const path = this.options.logPathOf(realm);
    const change: LogChange = { type: 'notice', realm: realm.name, message, at: this.context.clock() };
    // After the log made at connect, like background events: a notice of a realm's first call came while it was made, and was lost.
    if (!options.create) return this.context.background(`writing a notice for ${realm.name}`, this.afterOpen(realm).then(() => this.context.store.apply(path, change)));
    const written = mkdir(dirname(path), { recursive: true }).then(() => this.context.store.apply(path, change, { create: true }));
    this.context.background(`writing a notice for ${realm.name}`, written);
  }

  /**
   * Makes the realm's log (and `daebug/`) when it has none, as the realm connects: what a page logs or
   * throws while it loads then has a place to go, and the agent can append at once.
   */
  openLog(realm: Realm): void {
    const path = this.options.logPathOf(realm);
    // A daebug/ that is not a real folder was named once at start; the store would warn per log.
    const opened = folderProblem(dirname(path)).then(async (problem) => {
      if (problem) return;
      await mkdir(dirname(path), { recursive: true });
      await this.context.store.apply(path, { type: 'open', realm: realm.name }, { create: true });
    });
    this.opening.set(realm.key, opened.catch(() => undefined));
    this.context.background(`making the log of ${realm.name}`, opened);
  }

  /** Writes the realm's waiting background events, and `more`, now rather than after the usual batching. */
  flushBackground(realm: Realm, more: LogEvent[]): void {
    if (realm.backgroundTimer) clearTimeout(realm.backgroundTimer);
    realm.backgroundTimer = null;
    const events = [...realm.background.splice(0), ...more];
    if (events.length === 0) return;
    const change = this.backgroundChange(realm, events);
    this.context.background(`writing background events of ${realm.name}`, this.afterOpen(realm).then(() => this.context.store.apply(this.options.logPathOf(realm), change)));
  }

  /** Writes a job's reply (or keeps it for a deleted log); resolves once it is written or kept. */
  private writeReply(job: Job, done: Finish): Promise<void> {
    const applied = this.context.store.apply(job.logPath, { type: 'finish', job: job.request, finish: done });
    const written = this.whileWriting(job.logPath, job.request.fence, applied).then(({ result }) => {
      this.ended(job);
      if (result !== 'missing') return this.remember(job.logPath, job.request, done);
      const waiting = this.orphans.get(job.logPath) ?? [];
      waiting.push({ job, finish: done, expiresAt: Date.now() + this.context.timing.keepOrphanResultMs });
      this.orphans.set(job.logPath, waiting);
    });
    this.context.background(`writing the reply of job ${job.id}`, written);
    return written.catch(() => undefined);
  }

  /** The replies waiting for `path` to come back. */
  orphansOf(path: string): OrphanResult[] {
    return this.orphans.get(path) ?? [];
  }

  /** Replies that a write of their log now carries. */
  delivered(path: string, written: OrphanResult[]): void {
    const left = this.orphansOf(path).filter((orphan) => !written.includes(orphan));
    if (left.length > 0) this.orphans.set(path, left);
    else this.orphans.delete(path);
  }

  /** Discards, with a warning, replies whose log did not come back in time. */
  expireOrphans(now: number): void {
    for (const [path, waiting] of this.orphans) {
      const kept = waiting.filter((orphan) => orphan.expiresAt > now);
      for (const orphan of waiting.filter((entry) => !kept.includes(entry))) {
        this.context.warn(`the reply to the request at ${orphan.job.request.requestedAt} (${excerpt(orphan.job.request.code)}) was discarded: ${path} was deleted and did not come back`);
      }
      if (kept.length === 0) this.orphans.delete(path);
      else this.orphans.set(path, kept);
    }
  }

  /**
   * The fences in `path` whose pending marker a job still accounts for: the running job's, the queued
   * ones', and those whose reply or notice is being written. Any other marker is stale.
   */
  liveFences(realm: Realm, path: string): string[] {
    const jobs = [...(realm.running ? [realm.running] : []), ...realm.queue].filter((job) => job.logPath === path);
    return [...jobs.map((job) => job.request.fence), ...(this.writing.get(path)?.keys() ?? [])];
  }

  /** The last reply written under `fence` in `path`, if one is remembered. */
  recentReply(path: string, fence: string): { job: JobRef; finish: Finish } | undefined {
    return [...(this.recent.get(path) ?? [])].reverse().find((entry) => entry.job.fence === fence);
  }

  /** Counts `fence` as being written in `path` until `work` settles. */
  private whileWriting<T>(path: string, fence: string, work: Promise<T>): Promise<T> {
    const counts = this.writing.get(path) ?? new Map<string, number>();
    this.writing.set(path, counts);
    counts.set(fence, (counts.get(fence) ?? 0) + 1);
    const done = () => {
      const left = (counts.get(fence) ?? 1) - 1;
      if (left > 0) counts.set(fence, left);
      else counts.delete(fence);
      if (counts.size === 0 && this.writing.get(path) === counts) this.writing.delete(path);
    };
    return work.finally(done);
  }

  private remember(path: string, job: JobRef, finish: Finish): void {
    const kept = this.recent.get(path) ?? [];
    kept.push({ job, finish });
    this.recent.set(path, kept.slice(-RECENT_REPLIES_KEPT));
  }

  /** Stops every timer (the daemon is stopping); jobs keep their state, replies held back are written. */
  stop(): void {
    for (const path of [...this.held.keys()]) this.flushReplies(path);
    for (const realm of this.context.realms.all()) {
      if (realm.running) clearJobTimers(realm.running);
      if (realm.backgroundTimer) clearTimeout(realm.backgroundTimer);
      realm.backgroundTimer = null;
    }
  }

  /** How a reply is written: within the output budget, with what is over it kept in files beside the log. */
  private finishOf(logPath: string, outcome: JobOutcome, events: LogEvent[], durationMs: number): Finish {
    const { spill, maxOutputBytes } = this.context;
    spill.events(logPath, events);
    return { outcome: spill.outcome(logPath, outcome), events, at: this.context.clock(), durationMs, maxOutputBytes };
  }

  /** Background events as a change, their long texts kept beside the log. */
  private backgroundChange(realm: Realm, events: LogEvent[]): LogChange {
    this.context.spill.events(this.options.logPathOf(realm), events);
    return { type: 'background', realm: realm.name, events, at: this.context.clock(), maxOutputBytes: this.context.maxOutputBytes };
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
      if (job.early || job.timers.start) return this.streamLater(job);
      this.context.spill.events(job.logPath, job.events);
      this.change(job.logPath, `streaming events of job ${job.id}`, { type: 'stream', job: job.request, events: [...job.events], maxOutputBytes: this.context.maxOutputBytes });
    }, this.context.timing.streamMs);
  }

  private backgroundLater(realm: Realm): void {
    if (realm.backgroundTimer) return;
    realm.backgroundTimer = setTimeout(() => {
      realm.backgroundTimer = null;
      const events = realm.background.splice(0);
      if (events.length === 0 || this.context.closed()) return;
      const change = this.backgroundChange(realm, events);
      // After the log made at connect: the first events of a page come while it is being made.
      const written = this.afterOpen(realm).then(() => this.context.store.apply(this.options.logPathOf(realm), change));
      this.context.background(`writing background events of ${realm.name}`, written);
    }, this.context.timing.backgroundMs);
  }

  /** Resolves once the log made as the realm connected is written (or failed). */
  private afterOpen(realm: Realm): Promise<unknown> {
    return this.opening.get(realm.key) ?? Promise.resolve();
  }

  /** Applies a change to a log in the background (a missing log is never made again). */
  private change(path: string, what: string, change: LogChange): void {
    this.context.background(what, this.context.store.apply(path, change));
  }
}

/** The first line of a request's code, shortened for the daemon's console. */
export function excerpt(code: string): string {
  const line = code.trim().split('\n')[0] ?? '';
  return line.length > 60 ? line.slice(0, 57) + '...' : line;
}

/** Events as the wire carries them, as the log shows them. */
export function toLogEvents(events: EventsMessage['events']): LogEvent[] {
  return events.map((event) => ({ source: event.source, lang: event.lang, text: event.text, at: formatClock(new Date(event.time)) }));
}
