/**
 * The daemon: the composition root and the only place with state and side effects. It follows file
 * events, keeps realms and their job queues, owns every timer, and writes every change to a log
 * through that log's queue (log-store.ts) as a pure transition of src/protocol.
 */
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MAX_TOKENIZED_TAIL, classifyTail } from '../protocol/tail.js';
import type { ConnectAnswer, DiagnosticMessage, EventsMessage, HeartbeatMessage, PollAnswer, RealmIdentity, ResultMessage, TestProgressEvent, TestProgressMessage, WireEvent } from '../protocol/messages.js';
import { matchMarkers, readLayout } from '../protocol/layout.js';
import { logFileName, renderRegistry, renderStoppedRegistry } from '../protocol/registry.js';
import { REALM_NAME_RULE, isRealmName } from '../protocol/safe-text.js';
import type { JobOutcome, LogEvent } from '../protocol/render.js';
import { writeBackground, writeTestProgress, writeTestResults } from '../protocol/sections.js';
import { formatClock } from '../protocol/time.js';
import {
  acceptChunk,
  acceptNote,
  cancelJobs,
  finishJob,
  interruptPendingMarkers,
  startJob,
  streamJobEvents,
  tickJob,
  writeLateResult,
  writeNotice,
  type AcceptedRequest,
  type Finish,
} from '../protocol/transitions.js';
import { subscribeToLogs, type LogWatcher } from '../watch/subscribe.js';
import { clearJobTimers, createJob, createJobIds, type Job } from './jobs.js';
import { createLogStore, type LogContent } from './log-store.js';
import { createRealmTable, realmState, registryRealms, type Realm } from './realms.js';
import { prepareCode, type PreparedCode } from './prepare-code.js';
import { folderProblem } from './real-file.js';
import { createRegistryFile } from './registry-file.js';
import { TestRunQueue, type TestRunHandle } from './test-run-queue.js';
import { recoverInterruptedWrites } from './recover-writes.js';
import { newSecret, sameSecret } from './secrets.js';

/** Every duration the daemon works with; tests shorten them. */
export interface DaemonTiming {
  /** A job fails when its realm has not answered this long after taking it. */
  timeoutMs: number;
  /** How often a running marker's `executing (<n>s)` is rewritten. */
  tickMs: number;
  /** How long a poll waits for work before it is answered with nothing. */
  pollMs: number;
  /** A note moves above the footer once the log has been quiet this long. */
  noteQuietMs: number;
  /** At most one background write per log in this time. */
  backgroundMs: number;
  /** At most one write of streamed events per running job in this time. */
  streamMs: number;
  unresponsiveMs: number;
  goneMs: number;
  dropMs: number;
  registryMinIntervalMs: number;
  /** A result for a deleted log waits this long for the log to come back. */
  keepOrphanResultMs: number;
  /** How often realm states, ages and orphan results are checked. */
  sweepMs: number;
  /** How long the old file of a write is kept to catch an agent's write that was already on its way. */
  backupGraceMs: number;
  /** A test run that no realm has taken after this long fails (its realm never connected). */
  testRunWaitMs: number;
}

/** The durations of files.md and daemon.md. */
export const DEFAULT_TIMING: DaemonTiming = {
  timeoutMs: 60_000,
  tickMs: 5_000,
  pollMs: 25_000,
  noteQuietMs: 1_000,
  backgroundMs: 2_000,
  streamMs: 1_000,
  unresponsiveMs: 30_000,
  goneMs: 120_000,
  dropMs: 30 * 60_000,
  registryMinIntervalMs: 1_000,
  keepOrphanResultMs: 60_000,
  sweepMs: 1_000,
  backupGraceMs: 2_000,
  testRunWaitMs: 60_000,
};

/** One line of the daemon's own log (the console, or JSON lines for monitors). */
export interface DaemonLogEntry {
  level: 'info' | 'warn';
  event:
    | 'started'
    | 'stopped'
    | 'realm-connected'
    | 'realm-state'
    | 'accepted'
    | 'job-started'
    | 'job-finished'
    | 'job-failed'
    | 'job-timed-out'
    | 'job-cancelled'
    | 'warning';
  message: string;
  realm?: string;
  jobId?: string;
  agent?: string;
  code?: string;
  durationMs?: number;
}

/** How to start a daemon. */
export interface DaemonOptions {
  root: string;
  /** The address pages are served on, shown in the registry. */
  url?: string;
  timing?: Partial<DaemonTiming>;
  onLog?: (entry: DaemonLogEntry) => void;
  /** The command line that started the daemon, repeated in the stopped registry. */
  command?: string;
}

/** Why a realm API call was refused; the HTTP layer maps each code to a status. */
export type RealmRefusal = { ok: false; code: 'ERR_WRONG_JOB' | 'ERR_UNKNOWN_REALM' | 'ERR_REALM_TAKEN' | 'ERR_BAD_REALM' | 'ERR_NOT_YOURS' | 'ERR_STOPPING'; message: string };

/** The answer of a realm API call that can be refused. */
export type RealmCallResult = { ok: true } | RealmRefusal;

/** The answer to a connect. */
export type ConnectResult = ConnectAnswer | RealmRefusal;

/** What realms call; the HTTP layer translates requests into these calls. */
export interface RealmApi {
  /** A page connects (the HTTP layer checked the page token): it gets its name and a new secret. */
  connect(identity: RealmIdentity, previousSecret?: string): ConnectResult;
  /** A connected page connects one of its workers, named `<page>-<something>`. */
  connectWorker(pageName: string, identity: RealmIdentity, previousSecret?: string): ConnectResult;
  /** True when `secret` is the one the connected realm `name` was given. */
  authenticate(name: string, secret: string | undefined): boolean;
  /** Long-poll of a connected realm: resolves with its next job, or idle after a while. */
  poll(realmName: string, signal?: AbortSignal): Promise<PollAnswer>;
  result(realmName: string, message: ResultMessage): Promise<RealmCallResult>;
  events(realmName: string, message: EventsMessage): RealmCallResult;
  /** A page reports on one of its own workers. */
  heartbeat(realmName: string, message: HeartbeatMessage): RealmCallResult;
  /** A failure inside daebug's client code, shown on the daemon's console (never in a log). */
  diagnostic(realmName: string, message: DiagnosticMessage): RealmCallResult;
  /** Progress of a test run the realm was given. */
  testProgress(realmName: string, message: TestProgressMessage): RealmCallResult;
}

export type { TestRunHandle } from './test-run-queue.js';

/** A running daemon. */
export interface Daemon {
  readonly root: string;
  readonly realmApi: RealmApi;
  /** Resolves with the reason once the daemon has stopped, whoever stopped it. */
  readonly stopped: Promise<string>;
  stop(reason: string): Promise<void>;
  /** Counts for `/-daebug/health`. */
  health(): { realms: number; jobsRunning: number; jobsQueued: number; uptimeMs: number };
  /** Resolves when no log change is in flight (for tests and orderly shutdown). */
  settled(): Promise<void>;
  /** The realms that have polled, most recently active first. */
  realms(): { name: string; kind: string; url: string; state: string; lastActive: number }[];
  /** Queues a run of test files (URL paths) in a realm; its progress goes into the realm's log too. */
  runTests(realmName: string, files: string[], timeoutMs: number): TestRunHandle;
}

interface OrphanResult {
  job: Job;
  finish: Finish;
  expiresAt: number;
}

interface SyncResult {
  kind: 'missing' | 'unreadable' | 'own' | 'text';
  requests: AcceptedRequest[];
  /** Each request prepared for its realm (prepare-code.ts), in the same order. */
  prepared: PreparedCode[];
  cancelled: Job[];
  note: boolean;
  toldOffline: boolean;
  orphans: OrphanResult[];
}

const LATE_RESULTS_KEPT = 50;

/** Starts a daemon on `root`: watches its logs, writes the registry, and serves realms through `realmApi`. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const root = options.root;
  const timing: DaemonTiming = { ...DEFAULT_TIMING, ...options.timing };
  const logDir = join(root, 'daebug');
  const registryPath = join(root, 'daebug.md');
  const log = options.onLog ?? (() => {});
  const warn = (message: string) => log({ level: 'warn', event: 'warning', message });
  const clock = () => formatClock(new Date());
  const startedAt = Date.now();
  const since = clock();
  const nextJobId = createJobIds();
  const realms = createRealmTable();
  const store = createLogStore({
    root,
    warn,
    backupGraceMs: timing.backupGraceMs,
    onRecovered: (path) => background(`reading ${path}`, syncLog(path, 'recovered')),
    // `daebug -> .` would make every Markdown file of the project a log: logs live in a real folder only.
    refusal: async (path) => (dirname(path) === logDir ? folderProblem(logDir) : null),
  });
  const logPaths = new Map<string, string>();
  const noteTimers = new Map<string, NodeJS.Timeout>();
  const orphanResults = new Map<string, OrphanResult[]>();
  const lastStates = new Map<string, string>();
  let closed = false;
  let resolveStopped!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => (resolveStopped = resolve));

  const registry = createRegistryFile({
    path: registryPath,
    store,
    minIntervalMs: timing.registryMinIntervalMs,
    render: () =>
      renderRegistry({ rootName: basename(root), url: options.url ?? `file://${root}`, since }, registryRealms(realms.all(), Date.now(), timing)),
    onShutdownRequest: () => void stop('%%SHUTDOWN%%'),
    onError: (error) => warn(`cannot write ${registryPath}: ${error.message}`),
  });

  /** Runs a change in the background; a failure becomes a warning, never a crash. */
  const background = (what: string, work: Promise<unknown>) => {
    work.catch((error: Error) => warn(`${what}: ${error.message}`));
  };

  const keyOf = (path: string) => logFileName(basename(path).replace(/\.md$/i, ''));
  const logPathOf = (realm: Realm) => logPaths.get(realm.key) ?? join(logDir, `${realm.key}.md`);
  const remember = (path: string) => {
    const key = keyOf(path);
    // An existing file whose name matches case-insensitively is used as is.
    if (!logPaths.has(key) || basename(path) === `${key}.md`) logPaths.set(key, path);
    return key;
  };

  // ---- logs: what an agent's edit means ----

  /**
   * Reads a log and acts on it: after a file event, at start (stale markers are interrupted first),
   * or after the store put an agent's text back into it.
   */
  const syncLog = async (path: string, why: 'event' | 'start' | 'recovered' = 'event') => {
    if (closed) return;
    const recover = why === 'start';
    if (why === 'event' && (await store.isOwnWrite(path))) return;
    const realm = realms.ensure(remember(path));
    clearTimeout(noteTimers.get(path));
    noteTimers.delete(path);
    const { result } = await store.update(path, (content) => {
      if (!recover || content.kind !== 'text') return computeSync(content, realm, path);
      const interrupted = interruptPendingMarkers(content.text, realm.name, clock()).text;
      const computed = computeSync({ ...content, text: interrupted, ownWrite: false }, realm, path);
      return { text: computed.text ?? (interrupted === content.text ? null : interrupted), result: computed.result };
    }, { sync: true });
    applySync(result, realm, path);
  };

  const computeSync = (content: LogContent, realm: Realm, path: string): { text: string | null; result: SyncResult } => {
    const result: SyncResult = { kind: content.kind === 'text' && content.ownWrite ? 'own' : content.kind, requests: [], prepared: [], cancelled: [], note: false, toldOffline: false, orphans: [] };
    if (content.kind !== 'text' || content.ownWrite) return { text: null, result };
    let text = content.text;
    const queued = realm.queue.filter((job) => job.logPath === path);
    if (queued.length > 0) {
      const running = realm.running?.logPath === path ? [realm.running] : [];
      const matched = matchMarkers(readLayout(text).above, [...running, ...queued].map((job) => job.request.fence)).slice(running.length);
      result.cancelled = queued.filter((_job, index) => matched[index] === null);
      if (result.cancelled.length > 0) {
        const remaining = queued.filter((job) => !result.cancelled.includes(job)).map((job) => job.request);
        text = cancelJobs(text, realm.name, result.cancelled.map((job) => job.request), remaining, clock());
      }
    }
    // acceptChunk classifies the tail itself; only a tail that holds no request is classified again.
    const accepted = acceptChunk(text, realm.name, clock());
    if (accepted.requests.length > 0) {
      text = accepted.text;
      result.requests = accepted.requests;
      result.prepared = accepted.requests.map((request) => prepareCode(request.code));
      // A realm waiting for work takes the first job at once: write its running marker now, in the
      // same write, instead of a second write a moment later (dispatch's own start then changes nothing).
      const first = accepted.requests[0]!;
      if (realm.waiter && !realm.running && realm.queue.length === 0 && result.prepared[0]!.ok) text = startJob(text, first, clock()).text;
      if (!realm.toldOffline && realmState(realm, Date.now(), timing) === 'gone') {
        const who = realm.connected ? `${realm.name} stopped polling` : `${realm.name} is not connected`;
        text = writeNotice(text, realm.name, `${who}; the request waits and runs when it connects.`, clock());
        result.toldOffline = true;
      }
    } else if (classifyTail(text).kind === 'note') {
      result.note = true;
    }
    result.orphans = orphanResults.get(path) ?? [];
    for (const orphan of result.orphans) text = writeLateResult(text, orphan.job.request, orphan.finish);
    return { text: text === content.text ? null : text, result };
  };

  const applySync = (result: SyncResult, realm: Realm, path: string) => {
    if (result.kind === 'missing') return forgetLog(realm, path);
    if (result.kind !== 'text') return;
    for (const job of result.cancelled) {
      if (job.state !== 'requested') continue;
      realm.queue.splice(realm.queue.indexOf(job), 1);
      job.state = 'cancelled';
      log({ level: 'info', event: 'job-cancelled', message: `job ${job.id} cancelled: its request was removed from ${path}`, realm: realm.name, jobId: job.id });
    }
    result.requests.forEach((request, index) => {
      const prepared = result.prepared[index]!;
      const job = createJob(nextJobId(), realm.key, path, request, prepared.ok ? prepared.body : '');
      log({ level: 'info', event: 'accepted', message: `${request.agent} → ${realm.name}: ${excerpt(request.code)}`, realm: realm.name, jobId: job.id, agent: request.agent, code: request.code });
      // A syntax error is answered at once; nothing is sent to the realm.
      if (prepared.ok) realm.queue.push(job);
      else finish(realm, job, { kind: 'error', error: prepared.error });
    });
    if (result.toldOffline) realm.toldOffline = true;
    if (result.orphans.length > 0) {
      const left = (orphanResults.get(path) ?? []).filter((orphan) => !result.orphans.includes(orphan));
      if (left.length > 0) orphanResults.set(path, left);
      else orphanResults.delete(path);
    }
    if (result.note) noteTimers.set(path, setTimeout(() => background(`moving a note in ${path}`, moveNote(realm, path)), timing.noteQuietMs));
    if (result.requests.length > 0 || result.cancelled.length > 0) registry.schedule();
    dispatch(realm);
  };

  const moveNote = async (realm: Realm, path: string) => {
    noteTimers.delete(path);
    await store.update(path, (content) => {
      if (content.kind !== 'text') return { text: null, result: null };
      const tail = classifyTail(content.text);
      if (tail.kind !== 'note') return { text: null, result: null };
      const moved = acceptNote(content.text, realm.name);
      if (!tail.oversized) return { text: moved, result: null };
      const count = (n: number) => n.toLocaleString('en-US');
      const why = `the text appended below the footer has ${count(tail.oversized)} characters; daebug reads requests from at most ${count(MAX_TOKENIZED_TAIL)} characters of new text, so it was kept as a note and nothing ran.`;
      return { text: writeNotice(moved, realm.name, why, clock()), result: null };
    }, { sync: true });
  };

  /** A deleted log: its queued jobs are dropped; a running job's result will wait for the log to return. */
  const forgetLog = (realm: Realm, path: string) => {
    const dropped = realm.queue.filter((job) => job.logPath === path);
    realm.queue = realm.queue.filter((job) => job.logPath !== path);
    for (const job of dropped) {
      job.state = 'cancelled';
      log({ level: 'info', event: 'job-cancelled', message: `job ${job.id} dropped: ${path} was deleted`, realm: realm.name, jobId: job.id });
    }
    if (dropped.length > 0) registry.schedule();
  };

  // ---- jobs: dispatch, ticks, streaming, outcomes ----

  const dispatch = (realm: Realm) => {
    if (closed || !realm.waiter || realm.running) return;
    if (realm.queue.length === 0) return void testRuns.dispatch(realm);
    const job = realm.queue.shift()!;
    realm.running = job;
    job.state = 'dispatched';
    job.startedAt = Date.now();
    realm.waiter.answer({ type: 'job', jobId: job.id, code: job.request.code, body: job.body, timeoutMs: timing.timeoutMs });
    job.timers.timeout = setTimeout(() => timeOut(realm, job), timing.timeoutMs);
    job.timers.tick = setInterval(() => {
      const seconds = (Date.now() - job.startedAt!) / 1000;
      background(`ticking job ${job.id}`, editLog(job.logPath, (text) => tickJob(text, job.request, seconds).text));
    }, timing.tickMs);
    background(`starting job ${job.id}`, editLog(job.logPath, (text) => startJob(text, job.request, clock()).text));
    log({ level: 'info', event: 'job-started', message: `${realm.name} took job ${job.id}`, realm: realm.name, jobId: job.id });
    registry.schedule();
  };

  /** Applies a transition to a log if it exists; a missing log is never recreated. */
  const editLog = (path: string, transition: (text: string) => string) =>
    store.update(path, (content) => ({ text: content.kind === 'text' ? transition(content.text) : null, result: content.kind }));

  /** Test sections are asked for: they create the realm's log when it has none yet. */
  const editOrCreateLog = async (path: string, transition: (text: string) => string) => {
    await mkdir(logDir, { recursive: true });
    return store.update(path, (content) => ({ text: content.kind === 'unreadable' ? null : transition(content.kind === 'text' ? content.text : ''), result: content.kind }));
  };

  const finish = (realm: Realm, job: Job, outcome: JobOutcome, lateEvents: LogEvent[] = []) => {
    clearJobTimers(job);
    if (realm.running === job) realm.running = null;
    job.state = outcome.kind === 'value' ? 'finished' : outcome.kind === 'timeout' ? 'timed out' : 'failed';
    job.events.push(...lateEvents);
    const durationMs = Date.now() - (job.startedAt ?? Date.now());
    const done: Finish = { outcome, events: job.events, at: clock(), durationMs };
    background(
      `writing the reply of job ${job.id}`,
      store
        .update(job.logPath, (content) => ({ text: content.kind === 'text' ? finishJob(content.text, job.request, done).text : null, result: content.kind }))
        .then(({ result }) => {
          if (result !== 'missing') return;
          const waiting = orphanResults.get(job.logPath) ?? [];
          waiting.push({ job, finish: done, expiresAt: Date.now() + timing.keepOrphanResultMs });
          orphanResults.set(job.logPath, waiting);
        }),
    );
    const event = outcome.kind === 'value' ? 'job-finished' : outcome.kind === 'timeout' ? 'job-timed-out' : 'job-failed';
    log({ level: 'info', event, message: `${realm.name} ${job.state} job ${job.id}`, realm: realm.name, jobId: job.id, durationMs });
    dispatch(realm);
    registry.schedule();
  };

  const timeOut = (realm: Realm, job: Job) => {
    if (realm.running !== job) return;
    const unresponsive = realmState(realm, Date.now(), timing) !== 'executing';
    finish(realm, job, { kind: 'timeout', timeoutMs: timing.timeoutMs, unresponsive });
    realm.timedOut.set(job.id, job);
    if (realm.timedOut.size > LATE_RESULTS_KEPT) realm.timedOut.delete(realm.timedOut.keys().next().value!);
  };

  const toLogEvents = (events: readonly WireEvent[]): LogEvent[] =>
    events.map((event) => ({ source: event.source, lang: event.lang, text: event.text, at: formatClock(new Date(event.time)) }));

  const streamLater = (job: Job) => {
    if (job.timers.stream) return;
    job.timers.stream = setTimeout(() => {
      job.timers.stream = undefined;
      if (job.state !== 'dispatched') return;
      const events = [...job.events];
      background(`streaming events of job ${job.id}`, editLog(job.logPath, (text) => streamJobEvents(text, job.request, events).text));
    }, timing.streamMs);
  };

  const backgroundLater = (realm: Realm) => {
    if (realm.backgroundTimer) return;
    realm.backgroundTimer = setTimeout(() => {
      realm.backgroundTimer = null;
      const events = realm.background.splice(0);
      if (events.length === 0 || closed) return;
      background(`writing background events of ${realm.name}`, editLog(logPathOf(realm), (text) => writeBackground(text, realm.name, events, clock())));
    }, timing.backgroundMs);
  };

  const notice = (realm: Realm, message: string) =>
    background(`writing a notice for ${realm.name}`, editLog(logPathOf(realm), (text) => writeNotice(text, realm.name, message, clock())));

  // ---- test runs ----

  const testRuns = new TestRunQueue({
    waitMs: timing.testRunWaitMs,
    dispatch: (realm) => dispatch(realm),
    started: (realm, run) => log({ level: 'info', event: 'job-started', message: `${realm.name} runs ${run.files.length} test file(s)`, realm: realm.name }),
    writeProgress: (realm, progress) =>
      background(`writing test progress of ${realm.name}`, editOrCreateLog(logPathOf(realm), (text) => writeTestProgress(text, realm.name, progress))),
    writeResults: (realm, entries, durationMs) => {
      const written = editOrCreateLog(logPathOf(realm), (text) => writeTestResults(text, realm.name, entries, durationMs));
      background(`writing test results of ${realm.name}`, written);
      return written;
    },
  });

  // ---- the realm API ----

  const knownRealm = (name: string): Realm | undefined => {
    const realm = realms.get(logFileName(name));
    if (realm?.connected) realm.lastSeen = Date.now();
    return realm?.connected ? realm : undefined;
  };
  const unknownRealm = (name: string): RealmRefusal => ({ ok: false, code: 'ERR_UNKNOWN_REALM', message: `no realm named ${name} is connected to this daemon` });

  /** Gives a realm its name and a new secret; a name in use is only for whoever holds its secret. */
  const connectRealm = (identity: RealmIdentity, parent: Realm | null, previousSecret?: string): ConnectResult => {
    if (closed) return { ok: false, code: 'ERR_STOPPING', message: 'the daemon is stopping' };
    if (!isRealmName(identity.name)) return { ok: false, code: 'ERR_BAD_REALM', message: REALM_NAME_RULE };
    const existing = realms.get(logFileName(identity.name));
    const mine = existing?.secret && (sameSecret(previousSecret, existing.secret) || (parent !== null && existing.parent === parent.key));
    if (existing?.secret && !mine) return { ok: false, code: 'ERR_REALM_TAKEN', message: `${existing.name} is connected already; connect under another name` };
    // A page that connects again under its own name was reloaded: what it ran is gone with the old page.
    if (existing?.running) finish(existing, existing.running, { kind: 'error', error: `Error: ${existing.name} ${existing.kind === 'page' ? 'reloaded' : 'was restarted'} while this ran` });
    existing?.waiter?.answer({ type: 'idle' });
    const secret = newSecret();
    const connected = realms.connect(identity, Date.now(), { secret, parent: parent?.key ?? null });
    if (!connected) return { ok: false, code: 'ERR_BAD_REALM', message: REALM_NAME_RULE };
    const { realm, isNew } = connected;
    if (isNew) {
      log({ level: 'info', event: 'realm-connected', message: `${realm.name} connected (${realm.kind}${realm.url ? ' ' + realm.url : ''})`, realm: realm.name });
      registry.schedule();
    }
    dispatch(realm);
    return { ok: true, realm: realm.name, secret };
  };

  const realmApi: RealmApi = {
    connect: (identity, previousSecret) => connectRealm({ ...identity, kind: 'page' }, null, previousSecret),

    connectWorker(pageName, identity, previousSecret) {
      const page = knownRealm(pageName);
      if (!page) return unknownRealm(pageName);
      if (!identity.name.toLowerCase().startsWith(`${page.name.toLowerCase()}-`)) return { ok: false, code: 'ERR_BAD_REALM', message: `a worker of ${page.name} is named ${page.name}-<name>` };
      return connectRealm({ ...identity, kind: 'worker' }, page, previousSecret);
    },

    authenticate(name, secret) {
      const realm = realms.get(logFileName(name));
      return realm !== undefined && realm.connected && sameSecret(secret, realm.secret);
    },

    poll(realmName, signal) {
      const realm = knownRealm(realmName);
      if (closed || !realm) return Promise.resolve({ type: 'idle' });
      realm.waiter?.answer({ type: 'idle' });
      return new Promise<PollAnswer>((resolve) => {
        const onAbort = () => waiter.answer({ type: 'idle' });
        const waiter = {
          answer: (answer: PollAnswer) => {
            clearTimeout(waiter.timer);
            signal?.removeEventListener('abort', onAbort);
            if (realm.waiter === waiter) realm.waiter = null;
            resolve(answer);
          },
          timer: setTimeout(onAbort, timing.pollMs),
        };
        realm.waiter = waiter;
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        dispatch(realm);
      });
    },

    async result(realmName, message) {
      const realm = knownRealm(realmName);
      if (!realm) return unknownRealm(realmName);
      const events = toLogEvents(message.events);
      if (realm.running?.id === message.jobId) {
        finish(realm, realm.running, message.outcome, events);
        return { ok: true };
      }
      const late = realm.timedOut.get(message.jobId);
      if (late) {
        realm.timedOut.delete(message.jobId);
        const done: Finish = { outcome: message.outcome, events, at: clock(), durationMs: Date.now() - (late.startedAt ?? Date.now()) };
        background(`writing a late result of job ${late.id}`, editLog(late.logPath, (text) => writeLateResult(text, late.request, done)));
        return { ok: true };
      }
      const why = realm.running ? `it is running job ${realm.running.id}` : 'it has no running job';
      notice(realm, `a result for job ${message.jobId} was refused: ${why}.`);
      return { ok: false, code: 'ERR_WRONG_JOB', message: `${realm.name} is not running job ${message.jobId}: ${why}` };
    },

    events(realmName, message) {
      const realm = knownRealm(realmName);
      if (!realm) return unknownRealm(realmName);
      const events = toLogEvents(message.events);
      const running = realm.running;
      if (running && (message.jobId === undefined || message.jobId === running.id)) {
        running.events.push(...events);
        streamLater(running);
      } else {
        realm.background.push(...events);
        backgroundLater(realm);
      }
      return { ok: true };
    },

    heartbeat(realmName, message) {
      const realm = knownRealm(realmName);
      if (!realm) return unknownRealm(realmName);
      const worker = realms.get(logFileName(message.worker.name));
      if (!worker || worker.parent !== realm.key) return { ok: false, code: 'ERR_NOT_YOURS', message: `${message.worker.name} is not a worker of ${realm.name}` };
      if (message.worker.state !== 'restarted') return { ok: true };
      const reason = message.worker.reason ?? 'it stopped answering';
      if (worker.running) finish(worker, worker.running, { kind: 'error', error: `Error: ${worker.name} was restarted by its page (${reason}) before it answered` });
      notice(worker, `the worker was restarted by its page (${reason}); top-level declarations from earlier requests are gone.`);
      return { ok: true };
    },

    testProgress(realmName, message) {
      const realm = knownRealm(realmName);
      if (!realm) return unknownRealm(realmName);
      if (!testRuns.progress(realm, message)) return { ok: false, code: 'ERR_WRONG_JOB', message: `${realm.name} has no test run ${message.runId}` };
      return { ok: true };
    },

    diagnostic(realmName, message) {
      const realm = knownRealm(realmName);
      if (!realm) return unknownRealm(realmName);
      warn(`${realm.name}: ${message.message.slice(0, 2000)}`);
      return { ok: true };
    },
  };

  // ---- housekeeping ----

  const sweep = () => {
    const now = Date.now();
    for (const realm of realms.all()) {
      const state = realmState(realm, now, timing);
      if (realm.connected && lastStates.get(realm.key) !== state) {
        if (lastStates.has(realm.key)) log({ level: 'info', event: 'realm-state', message: `${realm.name} is ${state}`, realm: realm.name });
        lastStates.set(realm.key, state);
        registry.schedule();
      }
      const idleFor = now - realm.lastSeen;
      if (realm.connected && idleFor >= timing.dropMs && !realm.running && realm.queue.length === 0) {
        realms.remove(realm.key);
        lastStates.delete(realm.key);
        registry.schedule();
      }
    }
    testRuns.sweep(now, (key) => realms.ensure(key));
    for (const [path, waiting] of orphanResults) {
      const kept = waiting.filter((orphan) => orphan.expiresAt > now);
      for (const orphan of waiting.filter((entry) => !kept.includes(entry))) {
        warn(`the result of job ${orphan.job.id} was discarded: ${path} was deleted and did not come back`);
      }
      if (kept.length === 0) orphanResults.delete(path);
      else orphanResults.set(path, kept);
    }
  };

  const stop = async (reason: string) => {
    if (closed) return stopped.then(() => undefined);
    closed = true;
    clearInterval(sweepTimer);
    for (const timer of noteTimers.values()) clearTimeout(timer);
    for (const realm of realms.all()) {
      realm.waiter?.answer({ type: 'idle' });
      if (realm.running) clearJobTimers(realm.running);
      if (realm.backgroundTimer) clearTimeout(realm.backgroundTimer);
    }
    await watcher.close();
    await registry.writeStopped(renderStoppedRegistry({ rootName: basename(root), at: clock(), reason, command: options.command }));
    // Last, so the stopped registry's own write is settled too and no backup is left behind.
    await store.idle();
    log({ level: 'info', event: 'stopped', message: `stopped: ${reason}` });
    resolveStopped(reason);
  };

  // ---- start ----

  // Before the first write and before the watcher: nothing of this run is in `.daebug/` yet.
  for (const note of await recoverInterruptedWrites(root)) warn(note);
  const watcher: LogWatcher = await subscribeToLogs({
    root,
    onWarning: warn,
    onChange: (path) => {
      if (path === registryPath) {
        background('reading daebug.md', registry.checkShutdown().then((shutdown) => (shutdown ? stop('%%SHUTDOWN%%') : undefined)));
      } else {
        background(`reading ${path}`, syncLog(path));
      }
    },
  });
  const logDirProblem = await folderProblem(logDir);
  if (logDirProblem) warn(`${logDirProblem}; daebug keeps logs only in a real daebug/ folder inside the root, so it leaves it alone`);
  if (!logDirProblem) for (const name of safeReaddir(logDir).filter((entry) => entry.endsWith('.md'))) await syncLog(join(logDir, name), 'start');
  const sweepTimer = setInterval(sweep, timing.sweepMs);
  sweepTimer.unref();
  registry.schedule();
  await registry.flush();
  log({ level: 'info', event: 'started', message: `watching ${root}` });

  return {
    root,
    realmApi,
    stopped,
    stop,
    health: () => {
      const all = realms.all();
      return {
        realms: all.filter((realm) => realm.connected).length,
        jobsRunning: all.filter((realm) => realm.running).length,
        jobsQueued: all.reduce((sum, realm) => sum + realm.queue.length, 0),
        uptimeMs: Date.now() - startedAt,
      };
    },
    settled: () => store.idle(),
    realms: () =>
      registryRealms(realms.all(), Date.now(), timing)
        .sort((a, b) => b.lastActive - a.lastActive)
        .map((realm) => ({ name: realm.name, kind: realm.kind, url: realm.url, state: realm.state, lastActive: realm.lastActive })),
    runTests(realmName, files, timeoutMs) {
      if (!isRealmName(realmName)) return { ok: false, code: 'ERR_BAD_REALM', message: `${JSON.stringify(realmName.slice(0, 100))} is not a realm name` };
      return testRuns.start(realms.ensure(logFileName(realmName)), files, timeoutMs);
    },
  };
}

function excerpt(code: string): string {
  const line = code.trim().split('\n')[0] ?? '';
  return line.length > 60 ? line.slice(0, 57) + '...' : line;
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
