/**
 * What an agent's edit of a log means. Every write of a log (outbox.ts) first reads it here: its tail
 * accepted, its removed requests' jobs cancelled, stray and stale markers noticed, waiting replies put
 * back, a quiet note moved above the footer; once that write is on disk, the jobs are handed to the
 * scheduler. A file event, the start, or text the store put back asks the outbox for such a write.
 */
import { basename, join } from 'node:path';
import { runLogChange, type LogChange } from '../protocol/changes.js';
import { agentTextStart, matchMarkers, readLayout } from '../protocol/layout.js';
import { logFileName } from '../protocol/registry.js';
import { MAX_TOKENIZED_TAIL, classifyTail } from '../protocol/tail.js';
import { editedRange, type SeenText } from '../protocol/stray.js';
import { footerTag } from '../protocol/log-text.js';
import { interruptedMessage, leftRequests, staleMarkers, type AcceptedRequest } from '../protocol/transitions.js';
import type { DaemonContext } from './daemon-context.js';
import { createJob, type Job } from './jobs.js';
import { fenceKey, journalLog, type JournalRecord } from './journal.js';
import type { Computed, LogContent, Updated } from '../store/index.js';
import { prepareCode, type PreparedCode } from '../code/prepare-code.js';
import type { LogRoom, LogRooms, OrphanResult } from './log-rooms.js';
import type { LogReader, Outbox } from './outbox.js';
import { realmState, type Realm } from './realms.js';
import { excerpt } from './replies.js';
import type { Scheduler } from './scheduler.js';

/** Why a log is read. */
export type SyncReason = 'event' | 'start' | 'recovered';

/** What one read of a log found, acted on once the write that goes with it is on disk. */
export interface SyncResult {
  kind: LogContent['kind'] | 'own';
  /** True when this read reconciled the log with the journal (its first in this run). */
  atStart: boolean;
  requests: AcceptedRequest[];
  /** Each request prepared for its realm (prepare-code.ts), in the same order. */
  prepared: PreparedCode[];
  cancelled: Job[];
  note: boolean;
  /** True when a quiet note was moved above the footer. */
  noteMoved: boolean;
  toldOffline: boolean;
  orphans: OrphanResult[];
  /** The log as this change left it (null when it read no text), for the next read to compare with. */
  seen: SeenText | null;
  /** Which request is the early job's (see `hold`), and whether its reply is in this write; null when none is. */
  early: { index: number; reply: boolean } | null;
  /** True when the early job's request was not accepted but is still in the agent's text. */
  earlyWaits: boolean;
}

/** The parts a log's reads hand their findings to. */
export interface LogSyncParts {
  scheduler: Scheduler;
  outbox: Outbox<SyncResult>;
  rooms: LogRooms;
}

export class LogSync implements LogReader<SyncResult> {
  /** The file of each realm's log, by realm key (an agent may have named it in another case). */
  private readonly paths = new Map<string, string>();

  constructor(
    private readonly context: DaemonContext,
    private readonly parts: LogSyncParts,
    private readonly logDir: string,
    private readonly nextJobId: () => string,
  ) {}

  /** The log of a realm. */
  pathOf(realm: Realm): string {
    return this.paths.get(realm.key) ?? join(this.logDir, `${realm.key}.md`);
  }

  /** Reads a log and acts on it (through the outbox: with whatever else waits to be written to it). */
  async sync(path: string, why: SyncReason = 'event'): Promise<void> {
    if (this.context.closed()) return;
    if (why === 'event' && (await this.context.store.isOwnWrite(path))) return;
    const room = this.parts.rooms.of(path);
    if (why === 'event') room.editedAt = Date.now();
    // An agent's edit starts the note's quiet period again.
    clearTimeout(room.noteTimer);
    room.noteTimer = undefined;
    room.noteDue = false;
    await this.parts.outbox.read(path);
  }

  /**
   * The logs found at start (before the watcher starts): each is reconciled with the journal at its
   * first read (`atStart`), whatever reads it first; what the journal said of other logs is settled.
   */
  expectAtStart(paths: readonly string[]): void {
    for (const path of paths) this.parts.rooms.of(path).unreconciled = true;
    this.context.journal.forgetOthers(paths.map(journalLog));
  }

  /** Reads each log found at start that no file event has read yet. */
  async readAtStart(): Promise<void> {
    const paths = [...this.parts.rooms.all()].filter((room) => room.unreconciled).map((room) => room.path);
    for (const path of paths) if (this.parts.rooms.get(path)?.unreconciled) await this.sync(path, 'start');
  }

  /** What one read of the log calls for, as one new text; no side effects (it may run again). */
  compute(room: LogRoom, content: LogContent): Computed<SyncResult> {
    const realm = this.context.realms.ensure(this.remember(room.path));
    // The first read of a log in this run reconciles it with the journal of requests.
    if (room.unreconciled && content.kind === 'text') return this.atStart(room, content, realm);
    return this.read(room, content, realm);
  }

  /**
   * One write per quick answer: when the realm waits and runs nothing, the first request is handed to
   * it before anything is written, and the write that accepts it waits while it runs, for at most
   * quickAnswerMs (the outbox's one rule): it then carries the reply, or the running marker of a job
   * still running. The journal has its hand-out before the realm gets it (`e`): a daemon killed before
   * the write never runs it again.
   */
  hold(room: LogRoom, first: SyncResult): Promise<void> | null {
    const request = first.requests[0];
    const prepared = first.prepared[0];
    const realm = this.context.realms.get(this.remember(room.path));
    if (first.atStart || !realm || !request || !prepared || !this.canStartEarly(realm, room, prepared)) return null;
    const job = this.makeJob(realm, room.path, request, prepared);
    room.early = { job };
    this.parts.scheduler.dispatchEarly(realm, job);
    return this.parts.outbox.whileBusy(room);
  }

  /** The early job's changes wait while a read finds its request neither accepted nor settled. */
  deferred(room: LogRoom, read: SyncResult): Job | undefined {
    return read.early ? undefined : room.early?.job;
  }

  /** The journal learns of requests about to be accepted in the write tagged `tag` (not the early job's: it was handed). */
  beforeWrite(room: LogRoom, read: SyncResult, tag: string | null): void {
    room.acceptedIn = null;
    const requests = read.atStart ? [] : read.requests.filter((_request, index) => index !== read.early?.index);
    if (requests.length === 0 || tag === null) return;
    const log = journalLog(room.path);
    this.context.journal.record(...requests.map((request): JournalRecord => ({ t: 'a', log, k: fenceKey(request.fence), v: tag })));
    room.acceptedIn = tag;
  }

  /** Once the write is on disk: the journal learns so, and what the read found is acted on. */
  done(room: LogRoom, read: SyncResult, updated: Updated<unknown>): void {
    const log = journalLog(room.path);
    room.unreconciled = undefined;
    if (read.atStart) {
      this.context.journal.record({ t: 'r', log }, ...read.requests.map((request): JournalRecord => ({ t: 'a', log, k: fenceKey(request.fence) })));
    } else if (room.acceptedIn && updated.written) {
      this.context.journal.record({ t: 'w', log, v: room.acceptedIn });
    }
    room.acceptedIn = null;
    this.act(room, read, updated.current);
  }

  /** The write failed for good: the log is read again at its next change; an early job's reply goes the usual way. */
  failed(room: LogRoom): void {
    room.acceptedIn = null;
    room.early = undefined;
  }

  /** Stops the note timers and the early jobs' second looks (the daemon is stopping). */
  stop(): void {
    for (const room of this.parts.rooms.all()) {
      clearTimeout(room.noteTimer);
      clearTimeout(room.early?.recheck);
    }
  }

  /**
   * A log's first read in this run: the markers an earlier daemon left become notices, but for those
   * of requests the journal says were accepted and never handed (they run now); a request below the
   * footer that it handed before writing its accept is accepted with the same notice, never run again.
   * Without a journal every marker is interrupted and every request below the footer runs.
   */
  private atStart(room: LogRoom, content: Extract<LogContent, { kind: 'text' }>, realm: Realm): Computed<SyncResult> {
    const { journal, clock } = this.context;
    const at = clock();
    const entries = journal.atStart(journalLog(room.path));
    // The write still at the log's name is on disk, though the journal may not have heard so.
    const tag = footerTag(content.text);
    for (const key of (tag && entries.unconfirmed.get(tag)) || []) entries.pending.set(key, (entries.pending.get(key) ?? 0) + 1);
    const kept = journal.found ? leftRequests(content.text).filter((left) => take(entries.pending, fenceKey(left.fence))) : [];
    const interrupted = runLogChange(content.text, { type: 'interrupt', realm: realm.name, at, keep: kept.map((left) => left.fence) }).text;
    room.accepting = new Set(kept.map((left) => left.fence));
    const handedBefore = (request: AcceptedRequest) => take(entries.early, fenceKey(request.fence));
    const { result, text: computed } = this.read(room, { ...content, text: interrupted, ownWrite: false }, realm, handedBefore);
    const text = computed ?? interrupted;
    const requests = kept.map((left): AcceptedRequest => ({ realm: realm.name, agent: left.agent, fence: left.fence, requestedAt: left.at, code: left.code }));
    result.atStart = true;
    result.requests = [...requests, ...result.requests];
    result.prepared = [...requests.map((request) => prepareCode(request.code)), ...result.prepared];
    room.accepting = new Set(result.requests.map((request) => request.fence));
    return { text: text === content.text ? null : text, result };
  }

  private remember(path: string): string {
    const key = logFileName(basename(path).replace(/\.md$/i, ''));
    // An existing file whose name matches case-insensitively is used as is.
    if (!this.paths.has(key) || basename(path) === `${key}.md`) this.paths.set(key, path);
    return key;
  }

  /** True when a request prepared as `prepared` would be handed to the realm before its accept is written. */
  private canStartEarly(realm: Realm, room: LogRoom, prepared: PreparedCode): boolean {
    return this.context.timing.quickAnswerMs > 0 && prepared.ok && !room.early && realm.waiter !== null && !realm.running && realm.queue.length === 0 && !this.context.closed();
  }

  private read(room: LogRoom, content: LogContent, realm: Realm, handedBefore?: (request: AcceptedRequest) => boolean): Computed<SyncResult> {
    const path = room.path;
    const kind = content.kind === 'text' && content.ownWrite && !room.noteDue ? 'own' : content.kind;
    const result: SyncResult = { kind, atStart: false, requests: [], prepared: [], cancelled: [], note: false, noteMoved: false, toldOffline: false, orphans: [], seen: null, early: null, earlyWaits: false };
    if (content.kind !== 'text') return { text: null, result };
    const window = content.window ? { window: content.window } : {};
    const early = room.early;
    // The daemon's own clean write holds no agent edit; but a note due to move is read again.
    if (content.ownWrite && !room.noteDue) {
      const earlyWaits = early !== undefined && stillRequested(content.text, early.job.request.fence);
      return { text: null, result: { ...result, seen: { text: content.text, ...window }, earlyWaits } };
    }
    const at = early?.job.request.requestedAt ?? this.context.clock();
    let text = content.text;
    const apply = (change: LogChange) => (text = runLogChange(text, change).text);
    // A request put into the history since the last read is not run: it gets a notice (stray.ts).
    const edited = room.seen === undefined ? null : editedRange(room.seen, { text, ...window });
    if (edited !== null) apply({ type: 'stray', realm: realm.name, at, ...edited });
    const queued = realm.queue.filter((job) => job.logPath === path);
    if (queued.length > 0) {
      const running = realm.running?.logPath === path ? [realm.running] : [];
      const matched = matchMarkers(readLayout(text).above, [...running, ...queued].map((job) => job.request.fence)).slice(running.length);
      result.cancelled = queued.filter((_job, index) => matched[index] === null);
      const remaining = queued.filter((job) => !result.cancelled.includes(job)).map((job) => job.request);
      if (result.cancelled.length > 0) apply({ type: 'cancel', realm: realm.name, cancelled: result.cancelled.map((job) => job.request), remaining, at });
    }
    this.unmarkStale(realm, room, text, apply, at);
    // The accept classifies the tail; nothing else here tokenizes it again.
    const accepted = runLogChange(text, { type: 'accept', realm: realm.name, at });
    if (accepted.accepted.length > 0) {
      text = accepted.text;
      this.take(accepted.accepted, result, { realm, room, apply, at, handedBefore });
    } else if (accepted.tail === 'note') {
      result.note = true;
      if (room.noteDue) text = this.moveNote(text, realm, result);
    }
    if (early && !result.early) result.earlyWaits = stillRequested(text, early.job.request.fence);
    result.orphans = [...room.orphans];
    for (const orphan of result.orphans) apply({ type: 'late', job: orphan.job.request, finish: orphan.finish });
    result.seen = { text, ...window };
    return { text: text === content.text ? null : text, result };
  }

  /** A quiet note moved above the footer; one too long to read as requests gets a notice saying so. */
  private moveNote(text: string, realm: Realm, result: SyncResult): string {
    const tail = classifyTail(text);
    if (tail.kind !== 'note') return text;
    result.noteMoved = true;
    const moved = runLogChange(text, { type: 'note', realm: realm.name }).text;
    if (!tail.oversized) return moved;
    const count = (n: number) => n.toLocaleString('en-US');
    const message = `the text appended below the footer has ${count(tail.oversized)} characters; daebug reads requests from at most ${count(MAX_TOKENIZED_TAIL)} characters of new text, so it was kept as a note and nothing ran.`;
    return runLogChange(moved, { type: 'notice', realm: realm.name, message, at: this.context.clock() }).text;
  }

  /**
   * What a write accepting `requests` carries besides their markers: an interrupted notice for those
   * an earlier daemon handed out (`handedBefore`, at start), the running marker of a job its waiting
   * realm takes at once, a notice when the realm is offline. The early job's marker or reply is in the
   * outbox with it.
   */
  private take(requests: AcceptedRequest[], result: SyncResult, how: { realm: Realm; room: LogRoom; apply: (change: LogChange) => void; at: string; handedBefore?: (request: AcceptedRequest) => boolean }): void {
    const { realm, room, apply, at } = how;
    const handed = how.handedBefore ? requests.filter(how.handedBefore) : [];
    if (handed.length > 0) apply({ type: 'drop', realm: realm.name, jobs: handed, message: interruptedMessage(realm.name), at });
    result.requests = requests.filter((request) => !handed.includes(request));
    // Their jobs are made once this write is on disk (act); a read before then must not take their markers for stale ones.
    room.accepting = new Set(result.requests.map((request) => request.fence));
    result.prepared = result.requests.map((request) => prepareCode(request.code));
    if (result.requests.length === 0) return;
    const early = room.early?.job;
    const index = early ? result.requests.findIndex((request) => request.fence === early.request.fence) : -1;
    if (early && index !== -1) {
      result.early = { index, reply: room.pending.some((item) => item.change.type === 'finish' && item.jobs.includes(early)) };
    } else if (realm.waiter && !realm.running && realm.queue.length === 0 && result.prepared[0]!.ok && !this.canStartEarly(realm, room, result.prepared[0]!)) {
      // A realm waiting for work takes the first job at once: write its running marker now, in the
      // same write, instead of a second write a moment later (the scheduler's own start then changes
      // nothing). Not when the job goes early: its marker is in the outbox.
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
   * A marker no job accounts for would say `queued` or `executing` for good: it gets a notice. (An
   * older copy of the log written back never brings one back: the reconcile keeps the daemon's newest
   * sections, reply included.)
   */
  private unmarkStale(realm: Realm, room: LogRoom, text: string, apply: (change: LogChange) => void, at: string): void {
    const jobs = [...(realm.running ? [realm.running] : []), ...realm.queue].filter((job) => job.logPath === room.path);
    const live = [...jobs.map((job) => job.request.fence), ...this.parts.outbox.waitingFences(room.path), ...(room.accepting ?? [])];
    if (staleMarkers(readLayout(text).above, live).length > 0) apply({ type: 'stale', realm: realm.name, live, at });
  }

  /** Acts on what a read found, once its write is on disk. */
  private act(room: LogRoom, result: SyncResult, current: boolean): void {
    const path = room.path;
    const realm = this.context.realms.ensure(this.remember(path));
    room.accepting = undefined;
    room.seen = result.seen ?? undefined;
    if (room.early) this.settleEarly(room, room.early, result, current);
    if (result.kind === 'missing') {
      this.parts.rooms.forget(path);
      return this.parts.scheduler.dropLog(realm, path);
    }
    if (result.kind !== 'text') return;
    for (const job of result.cancelled) this.parts.scheduler.cancel(realm, job, `cancelled: its request was removed from ${path}`);
    result.requests.forEach((request, index) => {
      if (index === result.early?.index) return;
      const prepared = result.prepared[index]!;
      // A syntax error is answered at once; nothing is sent to the realm.
      this.parts.scheduler.enqueue(realm, this.makeJob(realm, path, request, prepared), prepared.ok ? undefined : prepared.error);
    });
    if (result.toldOffline) realm.toldOffline = true;
    if (result.orphans.length > 0) room.orphans = room.orphans.filter((orphan) => !result.orphans.includes(orphan));
    if (result.noteMoved) room.noteDue = false;
    else if (result.note && !room.noteTimer) room.noteTimer = setTimeout(() => this.noteQuiet(room), this.context.timing.noteQuietMs);
    if (result.requests.length > 0 || result.cancelled.length > 0) this.context.scheduleRegistry();
    this.parts.scheduler.dispatch(realm);
  }

  /** The log held a note below the footer for noteQuietMs without an agent's edit: the next read moves it. */
  private noteQuiet(room: LogRoom): void {
    room.noteTimer = undefined;
    room.noteDue = true;
    this.context.background(`moving a note in ${room.path}`, this.parts.outbox.read(room.path));
  }

  /**
   * After a write, an early job is either accepted with it, or its request is still in the agent's
   * text and not accepted (a draft beside it): it stays the early job's, for a later read to accept,
   * not to run again. Only a read of the log as it is (`current`), once the agent has left it alone
   * for backupGraceMs and noteQuietMs, that still misses the request shows the agent changed or
   * removed it: its changes (its reply) are then written the usual way (under its fence, or above the
   * footer with a notice). A read while the agent writes proves nothing: an edit tool writing in place
   * is caught truncated or half written, and the rest of its write, landed in the old file, is put back
   * from the backup for up to backupGraceMs (the soak ran requests twice on reads like that).
   */
  private settleEarly(room: LogRoom, early: NonNullable<LogRoom['early']>, result: SyncResult, current: boolean): void {
    clearTimeout(early.recheck);
    if (result.early) {
      room.early = undefined;
      return this.parts.scheduler.accepted(early.job, result.early.reply);
    }
    if (result.earlyWaits) return;
    const { backupGraceMs, noteQuietMs } = this.context.timing;
    const quietFor = Date.now() - (room.editedAt ?? 0);
    const quietMs = backupGraceMs + noteQuietMs;
    if (current && quietFor >= quietMs) {
      room.early = undefined;
      return void this.parts.outbox.read(room.path);
    }
    early.recheck = setTimeout(() => this.context.background(`reading ${room.path} again`, this.sync(room.path, 'recovered')), Math.max(noteQuietMs, quietMs - quietFor));
  }

  /** The job of an accepted request, remembered for source maps and logged. */
  private makeJob(realm: Realm, path: string, request: AcceptedRequest, prepared: PreparedCode): Job {
    const job = createJob(this.nextJobId(), realm.key, path, request, prepared.ok ? prepared.body : '', prepared.ok ? prepared.nodeBody : '');
    if (prepared.ok) this.context.requests.remember(job.id, { code: request.code, body: prepared.body, runs: prepared.runs, nodeBody: prepared.nodeBody, nodeRuns: prepared.nodeRuns, requestedAt: request.requestedAt });
    this.context.log({ level: 'info', event: 'accepted', message: `${request.agent} → ${realm.name}: ${excerpt(request.code)}`, realm: realm.name, jobId: job.id, agent: request.agent, code: request.code });
    return job;
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
