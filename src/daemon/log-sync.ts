/**
 * What an agent's edit of a log means: after a file event (or at start, or after the store put an
 * agent's text back), the log is read in its queue and its tail accepted, its removed requests'
 * jobs cancelled and waiting replies written, all in one write of files.md changes; then the jobs
 * are handed to the scheduler. A note below the footer moves above it once the log is quiet.
 */
import { basename, join } from 'node:path';
import { runLogChange, type LogChange } from '../protocol/changes.js';
import { agentTextStart, fenceAbove, matchMarkers, readLayout } from '../protocol/layout.js';
import { logFileName } from '../protocol/registry.js';
import { MAX_TOKENIZED_TAIL, classifyTail } from '../protocol/tail.js';
import { editedRange, type SeenText } from '../protocol/stray.js';
import { footerTag } from '../protocol/log-text.js';
import { interruptedMessage, leftRequests, staleMarkers, type AcceptedRequest } from '../protocol/transitions.js';
import type { DaemonContext } from './daemon-context.js';
import { createJob, type Job } from './jobs.js';
import { fenceKey, journalLog, type JournalRecord } from './journal.js';
import type { LogContent } from '../store/index.js';
import { prepareCode, type PreparedCode } from '../code/prepare-code.js';
import { realmState, type Realm } from './realms.js';
import { excerpt, type OrphanResult, type Scheduler } from './scheduler.js';

/** Why a log is read. */
export type SyncReason = 'event' | 'start' | 'recovered';

/** What one read of a log found, acted on once the write that goes with it is on disk. */
interface SyncResult {
  kind: LogContent['kind'] | 'own';
  requests: AcceptedRequest[];
  /** Each request prepared for its realm (prepare-code.ts), in the same order. */
  prepared: PreparedCode[];
  cancelled: Job[];
  note: boolean;
  toldOffline: boolean;
  orphans: OrphanResult[];
  /** The log as this change left it (null when it read no text), for the next read to compare with. */
  seen: SeenText | null;
  /** Which request is the early job's (see `startEarly`) and what its write carries; null when none is. */
  early: { index: number; carries: 'reply' | 'marker' } | null;
  /** True when the early job's request was not accepted but is still in the agent's text. */
  earlyWaits: boolean;
}

/** A job handed to its realm before the write that accepts its request (see `startEarly`). */
interface EarlyJob {
  /** Its request's `requestedAt` is the accept time it was read with, used again when it is written. */
  job: Job;
  /** The read that looks again while its request is missed. */
  recheck?: NodeJS.Timeout;
}

/** What the sync keeps of one log between its reads. */
interface LogState {
  /** Moves a note below the footer above it once the log has been quiet for noteQuietMs. */
  noteTimer?: NodeJS.Timeout;
  /** The fences a write just accepted, until their jobs are made (act). */
  accepting?: Set<string>;
  /** The text the last sync left, to find what an agent changed in the history since. */
  seen?: SeenText;
  /** When an agent last changed it (its last file event that was not the daemon's own write). */
  editedAt?: number;
  /** The job a sync handed its realm before writing the accept (between `startEarly` and `act`). */
  early?: EarlyJob;
  /** Found at start and not read yet in this run (`atStart`). */
  unreconciled?: boolean;
}

export class LogSync {
  /** The file of each realm's log, by realm key (an agent may have named it in another case). */
  private readonly paths = new Map<string, string>();
  /** What the sync keeps of each log between reads, by path; dropped when the log is deleted. */
  private readonly logs = new Map<string, LogState>();

  constructor(
    private readonly context: DaemonContext,
    private readonly scheduler: Scheduler,
    private readonly logDir: string,
    private readonly nextJobId: () => string,
  ) {}

  /** The log of a realm. */
  pathOf(realm: Realm): string {
    return this.paths.get(realm.key) ?? join(this.logDir, `${realm.key}.md`);
  }

  /** Reads a log and acts on it; at start, markers of jobs of an earlier run are interrupted first. */
  async sync(path: string, why: SyncReason = 'event'): Promise<void> {
    const { store, realms } = this.context;
    if (this.context.closed()) return;
    if (why === 'event' && (await store.isOwnWrite(path))) return;
    const state = this.stateOf(path);
    if (why === 'event') state.editedAt = Date.now();
    const realm = realms.ensure(this.remember(path));
    clearTimeout(state.noteTimer);
    state.noteTimer = undefined;
    // The first read of a log in this run (the first update to compute) reconciles it with the journal of requests.
    let atStart: boolean | undefined;
    let acceptedIn: string | null = null;
    const compute = (content: LogContent) => {
      if (atStart === undefined) [atStart, state.unreconciled] = [state.unreconciled === true, undefined];
      return atStart && content.kind === 'text' ? this.atStart(content, realm, path) : this.compute(content, realm, path);
    };
    try {
      const { result, current, written } = await store.update(path, compute, {
        sync: true,
        hold: (first) => (atStart ? null : this.startEarly(first, realm, path)),
        beforeWrite: (first, tag) => (acceptedIn = this.journalAccepts(first, path, tag)),
      });
      this.journalWritten(result, path, atStart === true, written ? acceptedIn : null);
      this.act(result, realm, path, current);
    } catch (error) {
      if (atStart) state.unreconciled = true;
      // The write failed: an early job's reply goes the usual way.
      const early = state.early;
      state.early = undefined;
      if (early) this.scheduler.accepted(early.job, null);
      throw error;
    }
  }

  /**
   * One write per quick answer: when the realm waits and runs nothing, the first request is handed to
   * it before anything is written, and the write that accepts it waits until its reply comes, for at
   * most `quickAnswerMs`: it then carries the reply, or the running marker of a job still running. The
   * file never shows a state that did not happen; it skips the marker of a job that was over before
   * it was written. (A daemon killed in that window runs the request again at its next start: its
   * accept was not on disk. docs/daemon.md, One write per quick answer.)
   */
  private startEarly(first: SyncResult, realm: Realm, path: string): Promise<void> | null {
    const request = first.requests[0];
    const prepared = first.prepared[0];
    if (!request || !prepared || !this.canStartEarly(realm, path, prepared)) return null;
    const job = this.makeJob(realm, path, request, prepared);
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.context.timing.quickAnswerMs);
      this.stateOf(path).early = { job };
      this.scheduler.dispatchEarly(realm, job, resolve);
    });
    return answered.finally(() => clearTimeout(timer));
  }

  /**
   * The logs found at start (before the watcher starts): each is reconciled with the journal at its
   * first read (`atStart`), whatever reads it first; what the journal said of other logs is settled.
   */
  expectAtStart(paths: readonly string[]): void {
    for (const path of paths) this.stateOf(path).unreconciled = true;
    this.context.journal.forgetOthers(paths.map(journalLog));
  }

  /** Reads each log found at start that no file event has read yet. */
  async readAtStart(): Promise<void> {
    const paths = [...this.logs].filter(([, state]) => state.unreconciled).map(([path]) => path);
    for (const path of paths) if (this.logs.get(path)?.unreconciled) await this.sync(path, 'start');
  }

  /**
   * A log's first read in this run: the markers an earlier daemon left become notices, but for those
   * of requests the journal says were accepted and never handed (they run now); a request below the
   * footer that it handed before writing its accept is accepted with the same notice, never run again.
   * Without a journal every marker is interrupted and every request below the footer runs.
   */
  private atStart(content: Extract<LogContent, { kind: 'text' }>, realm: Realm, path: string): { text: string | null; result: SyncResult } {
    const { journal, clock } = this.context;
    const at = clock();
    const entries = journal.atStart(journalLog(path));
    // The write still at the log's name is on disk, though the journal may not have heard so.
    const tag = footerTag(content.text);
    for (const key of (tag && entries.unconfirmed.get(tag)) || []) entries.pending.set(key, (entries.pending.get(key) ?? 0) + 1);
    const kept = journal.found ? leftRequests(content.text).filter((left) => take(entries.pending, fenceKey(left.fence))) : [];
    const interrupted = runLogChange(content.text, { type: 'interrupt', realm: realm.name, at, keep: kept.map((left) => left.fence) }).text;
    this.stateOf(path).accepting = new Set(kept.map((left) => left.fence));
    const handedBefore = (request: AcceptedRequest) => take(entries.early, fenceKey(request.fence));
    const { result, text: computed } = this.compute({ ...content, text: interrupted, ownWrite: false }, realm, path, handedBefore);
    const text = computed ?? interrupted;
    const requests = kept.map((left): AcceptedRequest => ({ realm: realm.name, agent: left.agent, fence: left.fence, requestedAt: left.at, code: left.code }));
    result.requests = [...requests, ...result.requests];
    result.prepared = [...requests.map((request) => prepareCode(request.code)), ...result.prepared];
    this.stateOf(path).accepting = new Set(result.requests.map((request) => request.fence));
    return { text: text === content.text ? null : text, result };
  }

  /** The journal learns of requests about to be accepted in the write tagged `tag` (not the early job's: it was handed). */
  private journalAccepts(result: SyncResult, path: string, tag: string | null): string | null {
    const requests = result.requests.filter((_request, index) => index !== result.early?.index);
    if (requests.length === 0 || tag === null) return null;
    const log = journalLog(path);
    this.context.journal.record(...requests.map((request): JournalRecord => ({ t: 'a', log, k: fenceKey(request.fence), v: tag })));
    return tag;
  }

  /** After a sync's write: its accepts are on disk; at start, what the journal said of the log is settled. */
  private journalWritten(result: SyncResult, path: string, atStart: boolean, acceptedIn: string | null): void {
    const log = journalLog(path);
    if (!atStart) return acceptedIn === null ? undefined : this.context.journal.record({ t: 'w', log, v: acceptedIn });
    this.context.journal.record({ t: 'r', log }, ...result.requests.map((request): JournalRecord => ({ t: 'a', log, k: fenceKey(request.fence) })));
  }

  /** Stops the note timers and the early jobs' second looks (the daemon is stopping). */
  stop(): void {
    for (const state of this.logs.values()) {
      clearTimeout(state.noteTimer);
      clearTimeout(state.early?.recheck);
    }
  }

  /** What the sync keeps of a log, made when it is first read. */
  private stateOf(path: string): LogState {
    let state = this.logs.get(path);
    if (!state) this.logs.set(path, (state = {}));
    return state;
  }

  /** A deleted log: what the sync kept of it goes (but an early job's, which its settling still needs). */
  private forget(path: string): void {
    const state = this.logs.get(path);
    if (!state || state.early) return;
    clearTimeout(state.noteTimer);
    this.logs.delete(path);
  }

  private remember(path: string): string {
    const key = logFileName(basename(path).replace(/\.md$/i, ''));
    // An existing file whose name matches case-insensitively is used as is.
    if (!this.paths.has(key) || basename(path) === `${key}.md`) this.paths.set(key, path);
    return key;
  }

  /** The changes one read of a log calls for, as one new text; no side effects (it may run again). */
  /** True when a request prepared as `prepared` would be handed to the realm before its accept is written. */
  private canStartEarly(realm: Realm, path: string, prepared: PreparedCode): boolean {
    return this.context.timing.quickAnswerMs > 0 && prepared.ok && !this.logs.get(path)?.early && realm.waiter !== null && !realm.running && realm.queue.length === 0 && !this.context.closed();
  }

  private compute(content: LogContent, realm: Realm, path: string, handedBefore?: (request: AcceptedRequest) => boolean): { text: string | null; result: SyncResult } {
    const kind = content.kind === 'text' && content.ownWrite ? 'own' : content.kind;
    const result: SyncResult = { kind, requests: [], prepared: [], cancelled: [], note: false, toldOffline: false, orphans: [], seen: null, early: null, earlyWaits: false };
    if (content.kind !== 'text') return { text: null, result };
    const window = content.window ? { window: content.window } : {};
    const early = this.logs.get(path)?.early;
    if (content.ownWrite) {
      const earlyWaits = early !== undefined && stillRequested(content.text, early.job.request.fence);
      return { text: null, result: { ...result, seen: { text: content.text, ...window }, earlyWaits } };
    }
    const at = early?.job.request.requestedAt ?? this.context.clock();
    let text = content.text;
    const apply = (change: LogChange) => (text = runLogChange(text, change).text);
    // A request put into the history since the last read is not run: it gets a notice (stray.ts).
    const seen = this.logs.get(path)?.seen;
    const edited = seen === undefined ? null : editedRange(seen, { text, ...window });
    if (edited !== null) apply({ type: 'stray', realm: realm.name, at, ...edited });
    const queued = realm.queue.filter((job) => job.logPath === path);
    if (queued.length > 0) {
      const running = realm.running?.logPath === path ? [realm.running] : [];
      const matched = matchMarkers(readLayout(text).above, [...running, ...queued].map((job) => job.request.fence)).slice(running.length);
      result.cancelled = queued.filter((_job, index) => matched[index] === null);
      const remaining = queued.filter((job) => !result.cancelled.includes(job)).map((job) => job.request);
      if (result.cancelled.length > 0) apply({ type: 'cancel', realm: realm.name, cancelled: result.cancelled.map((job) => job.request), remaining, at });
    }
    this.unmarkStale(realm, path, text, apply, at);
    // The accept classifies the tail; nothing else here tokenizes it again.
    const accepted = runLogChange(text, { type: 'accept', realm: realm.name, at });
    if (accepted.accepted.length > 0) {
      text = accepted.text;
      this.take(accepted.accepted, result, { realm, path, apply, at, handedBefore });
    } else if (accepted.tail === 'note') {
      result.note = true;
    }
    if (early && !result.early) result.earlyWaits = stillRequested(text, early.job.request.fence);
    result.orphans = this.scheduler.orphansOf(path);
    for (const orphan of result.orphans) apply({ type: 'late', job: orphan.job.request, finish: orphan.finish });
    result.seen = { text, ...window };
    return { text: text === content.text ? null : text, result };
  }

  /**
   * What a write accepting `requests` carries besides their markers: an interrupted notice for those
   * an earlier daemon handed out (`handedBefore`, at start), the early job's reply or running marker,
   * the running marker of a job its waiting realm takes at once, a notice when the realm is offline.
   */
  private take(requests: AcceptedRequest[], result: SyncResult, how: { realm: Realm; path: string; apply: (change: LogChange) => void; at: string; handedBefore?: (request: AcceptedRequest) => boolean }): void {
    const { realm, path, apply, at } = how;
    const handed = how.handedBefore ? requests.filter(how.handedBefore) : [];
    if (handed.length > 0) apply({ type: 'drop', realm: realm.name, jobs: handed, message: interruptedMessage(realm.name), at });
    result.requests = requests.filter((request) => !handed.includes(request));
    // Their jobs are made once this write is on disk (act); a read before then must not take their markers for stale ones.
    this.stateOf(path).accepting = new Set(result.requests.map((request) => request.fence));
    result.prepared = result.requests.map((request) => prepareCode(request.code));
    if (result.requests.length === 0) return;
    const early = this.logs.get(path)?.early;
    const index = early ? result.requests.findIndex((request) => request.fence === early.job.request.fence) : -1;
    if (early && index !== -1) {
      // The early job's reply, or its running marker, in the write that accepts it (startEarly).
      const finish = early.job.early?.finish;
      apply(finish ? { type: 'finish', job: early.job.request, finish } : { type: 'start', job: early.job.request, at });
      result.early = { index, carries: finish ? 'reply' : 'marker' };
    } else if (realm.waiter && !realm.running && realm.queue.length === 0 && result.prepared[0]!.ok && !this.canStartEarly(realm, path, result.prepared[0]!)) {
      // A realm waiting for work takes the first job at once: write its running marker now, in the
      // same write, instead of a second write a moment later (the scheduler's own start then changes
      // nothing). Not when the job goes early: this text is not written then (startEarly).
      apply({ type: 'start', job: result.requests[0]!, at });
    }
    const state = realmState(realm, Date.now(), this.context.timing);
    if (!realm.toldOffline && (state === 'gone' || state === 'exited')) {
      const who = state === 'exited' ? `${realm.name} has exited` : realm.closedAt !== null ? `${realm.name} was closed` : realm.connected ? `${realm.name} stopped polling` : `${realm.name} is not connected`;
      apply({ type: 'notice', realm: realm.name, message: `${who}; the request waits up to ${Math.round(this.context.timing.unresponsiveMs / 1000)} s for it to connect (open or reload its page), and is not run if it does not.`, at });
      result.toldOffline = true;
    }
  }

  /**
   * A marker no job accounts for would say `queued` or `executing` for good: one that an older copy of
   * the log brought back gets its reply again when the daemon still has it; any other gets a notice.
   */
  private unmarkStale(realm: Realm, path: string, text: string, apply: (change: LogChange) => void, at: string): void {
    const live = [...this.scheduler.liveFences(realm, path), ...(this.logs.get(path)?.accepting ?? [])];
    const { above } = readLayout(text);
    const stale = staleMarkers(above, live);
    if (stale.length === 0) return;
    for (const marker of stale) {
      const fence = fenceAbove(above, marker.start);
      const reply = fence === null ? undefined : this.scheduler.recentReply(path, fence);
      if (reply) apply({ type: 'finish', job: reply.job, finish: reply.finish });
    }
    apply({ type: 'stale', realm: realm.name, live, at });
  }

  /** Acts on what a read found, once its write is on disk. */
  private act(result: SyncResult, realm: Realm, path: string, current: boolean): void {
    const { timing } = this.context;
    const state = this.stateOf(path);
    state.accepting = undefined;
    state.seen = result.seen ?? undefined;
    if (state.early) this.settleEarly(state.early, result, path, current);
    if (result.kind === 'missing') {
      this.forget(path);
      return this.scheduler.dropLog(realm, path);
    }
    if (result.kind !== 'text') return;
    for (const job of result.cancelled) this.scheduler.cancel(realm, job, `cancelled: its request was removed from ${path}`);
    result.requests.forEach((request, index) => {
      if (index === result.early?.index) return;
      const prepared = result.prepared[index]!;
      // A syntax error is answered at once; nothing is sent to the realm.
      this.scheduler.enqueue(realm, this.makeJob(realm, path, request, prepared), prepared.ok ? undefined : prepared.error);
    });
    if (result.toldOffline) realm.toldOffline = true;
    if (result.orphans.length > 0) this.scheduler.delivered(path, result.orphans);
    if (result.note) {
      const move = () => this.context.background(`moving a note in ${path}`, this.moveNote(realm, path));
      state.noteTimer = setTimeout(move, timing.noteQuietMs);
    }
    if (result.requests.length > 0 || result.cancelled.length > 0) this.context.scheduleRegistry();
    this.scheduler.dispatch(realm);
  }

  /**
   * After a write, an early job is either accepted with it, or its request is still in the agent's
   * text and not accepted (a draft beside it): it stays the early job's, for a later read to accept,
   * not to run again. Only a read of the log as it is (`current`), once the agent has left it alone
   * for backupGraceMs and noteQuietMs, that still misses the request shows the agent changed or
   * removed it: its reply is then written the usual way (under its fence, or above the footer with a
   * notice). A read while the agent writes proves nothing: an edit tool writing in place is caught
   * truncated or half written, and the rest of its write, landed in the old file, is put back from
   * the backup for up to backupGraceMs (the soak ran requests twice on reads like that).
   */
  private settleEarly(early: EarlyJob, result: SyncResult, path: string, current: boolean): void {
    clearTimeout(early.recheck);
    if (result.early) {
      this.stateOf(path).early = undefined;
      return this.scheduler.accepted(early.job, result.early.carries);
    }
    if (result.earlyWaits) return;
    const { backupGraceMs, noteQuietMs } = this.context.timing;
    const quietFor = Date.now() - (this.logs.get(path)?.editedAt ?? 0);
    const quietMs = backupGraceMs + noteQuietMs;
    if (current && quietFor >= quietMs) {
      this.stateOf(path).early = undefined;
      return this.scheduler.accepted(early.job, null);
    }
    early.recheck = setTimeout(() => this.context.background(`reading ${path} again`, this.sync(path, 'recovered')), Math.max(noteQuietMs, quietMs - quietFor));
  }

  /** The job of an accepted request, remembered for source maps and logged. */
  private makeJob(realm: Realm, path: string, request: AcceptedRequest, prepared: PreparedCode): Job {
    const job = createJob(this.nextJobId(), realm.key, path, request, prepared.ok ? prepared.body : '', prepared.ok ? prepared.nodeBody : '');
    if (prepared.ok) this.context.requests.remember(job.id, { code: request.code, body: prepared.body, runs: prepared.runs, nodeBody: prepared.nodeBody, nodeRuns: prepared.nodeRuns, requestedAt: request.requestedAt });
    this.context.log({ level: 'info', event: 'accepted', message: `${request.agent} → ${realm.name}: ${excerpt(request.code)}`, realm: realm.name, jobId: job.id, agent: request.agent, code: request.code });
    return job;
  }

  /** Moves a note above the footer; one too long to read as requests gets a notice saying so. */
  private async moveNote(realm: Realm, path: string): Promise<void> {
    this.stateOf(path).noteTimer = undefined;
    const at = this.context.clock();
    await this.context.store.update(
      path,
      (content) => {
        if (content.kind !== 'text') return { text: null, result: null };
        const tail = classifyTail(content.text);
        if (tail.kind !== 'note') return { text: null, result: null };
        const moved = runLogChange(content.text, { type: 'note', realm: realm.name }).text;
        if (!tail.oversized) return { text: moved, result: null };
        const count = (n: number) => n.toLocaleString('en-US');
        const message = `the text appended below the footer has ${count(tail.oversized)} characters; daebug reads requests from at most ${count(MAX_TOKENIZED_TAIL)} characters of new text, so it was kept as a note and nothing ran.`;
        return { text: runLogChange(moved, { type: 'notice', realm: realm.name, message, at }).text, result: null };
      },
      // Not a sync: it does not accept requests, and text put back into the log with its write
      // (a late write, a stale copy's merge) may hold some; its file event reads them.
      {},
    );
  }
}

/** Takes one off `key`'s count; false when it has none. */
function take(counts: Map<string, number>, key: string): boolean {
  const count = counts.get(key) ?? 0;
  if (count === 0) return false;
  counts.set(key, count - 1);
  return true;
}

/** True when `fence` is in the agent's text at the end of the log: below the footer, or after the last daemon section. */
function stillRequested(text: string, fence: string): boolean {
  const { above, tail } = readLayout(text);
  return tail.includes(fence) || above.includes(fence, agentTextStart(above));
}
