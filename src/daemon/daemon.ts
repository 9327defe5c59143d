/**
 * The daemon: the composition root. It makes the log store, the registry file and the daemon's parts
 * (log sync, scheduler, test runs, the realm API, housekeeping), wires them to each other and to the
 * file watcher, and starts and stops them in order. The parts hold the state; this file holds none
 * but whether the daemon is stopping.
 */
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LogChange } from '../protocol/changes.js';
import { SHUTDOWN_LINE, logFileName, realmWhere, renderRegistry, renderStoppedRegistry } from '../protocol/registry.js';
import { isRealmName } from '../protocol/safe-text.js';
import { formatClock } from '../protocol/time.js';
import { subscribeToLogs } from '../watch/subscribe.js';
import { DEFAULT_TIMING, type Daemon, type DaemonOptions, type DaemonTiming } from './contract.js';
import type { DaemonContext } from './daemon-context.js';
import { Housekeeping } from './housekeeping.js';
import { createJobIds } from './jobs.js';
import { createLogStore, folderProblem, type LogStore } from '../store/index.js';
import { LogRooms } from './log-rooms.js';
import { LogSync, type SyncResult } from './log-sync.js';
import { Outbox } from './outbox.js';
import { RealmSections } from './realm-sections.js';
import { Replies } from './replies.js';
import { RealmCalls } from './realm-api.js';
import { createRealmTable, registryRealms, type Realm } from './realms.js';
import { createRegistryFile } from './registry-file.js';
import { Scheduler } from './scheduler.js';
import { createSpill } from './spill.js';
import { numberedFiles } from './beside-log.js';
import { DEFAULT_MAX_OUTPUT } from '../protocol/budget.js';
import { RequestSources } from '../code/request-positions.js';
import { openJournal } from './journal.js';
import { createSourceMaps } from '../code/source-maps.js';
import { createStackMapper } from '../code/stack-mapper.js';
import { TestRunQueue } from './test-run-queue.js';

export * from './contract.js';

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
  const realms = createRealmTable();
  const notices = noticeBoard(warn, () => registry.schedule());
  let closed = false;
  let resolveStopped!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => (resolveStopped = resolve));

  // Text an agent wrote into the old file of a write, put back: read as its edit (in daebug.md, a %%SHUTDOWN%% may be in it).
  const store = logStoreOf(root, logDir, timing, warn, (path) => (path === registryPath ? checkShutdown() : context.background(`reading ${path}`, logSync.sync(path, 'recovered'))));
  const registry = registryFileOf({ options, path: registryPath, store, timing, since, notices, realms, warn, stop: (reason) => void stop(reason) });
  // An agent's %%SHUTDOWN%% in daebug.md stops the daemon.
  const checkShutdown = () => context.background('reading daebug.md', registry.checkShutdown().then((asked) => (asked ? stop(SHUTDOWN_LINE) : undefined)));
  const context: DaemonContext = {
    timing,
    store,
    journal: openJournal(root, warn),
    realms,
    ...replyShaping(options, warn, (text) => notices.add(text)),
    log,
    warn,
    background: (what, work) => void work.catch((error: Error) => warn(`${what}: ${error.message}`)),
    clock,
    notice: (text) => notices.add(text),
    scheduleRegistry: () => registry.schedule(),
    closed: () => closed,
  };

  const { outbox, logSync, scheduler, sections, testRuns, realmApi, housekeeping } = daemonParts(context, options, logDir);

  const stop = async (reason: string) => {
    if (closed) return stopped.then(() => undefined);
    closed = true;
    [housekeeping, logSync, scheduler, sections, outbox].forEach((part) => part.stop());
    for (const realm of realms.all()) realm.waiter?.answer({ type: 'idle' });
    await watcher.close();
    await registry.writeStopped(renderStoppedRegistry({ rootName: basename(root), at: clock(), reason, command: options.command }));
    // Last, so the stopped registry's own write is settled too and no backup is left behind.
    await outbox.idle();
    await store.idle();
    context.journal.close();
    log({ level: 'info', event: 'stopped', message: `stopped: ${reason}` });
    resolveStopped(reason);
  };

  // Before the first write and before the watcher: nothing of this run is in `.daebug/` yet.
  for (const note of await store.recover()) warn(note);
  logSync.expectAtStart(await logsFoundAtStart(logDir, warn));
  const watcher = await subscribeToLogs({ root, onWarning: warn, onChange: (path) => (path === registryPath ? checkShutdown() : context.background(`reading ${path}`, logSync.sync(path))) });
  await logSync.readAtStart();
  housekeeping.start();
  registry.schedule();
  await registry.flush();
  log({ level: 'info', event: 'started', message: `watching ${root}` });

  return {
    root,
    realmApi,
    stopped,
    stop,
    health: () => health(realms.all(), startedAt),
    notice: (text) => notices.add(text),
    realms: () => realmList(realms.all(), timing),
    runTests: (realmName, files, timeoutMs) => startTestRun(realms, testRuns, realmName, files, timeoutMs),
  };
}

/**
 * The daemon's parts, wired: every write of a realm's log goes through its outbox, which reads the
 * agent's edits first (the log sync); the scheduler moves jobs, the replies and realm sections post
 * to the outbox; the realm API and housekeeping drive them.
 */
function daemonParts(context: DaemonContext, options: DaemonOptions, logDir: string) {
  const rooms = new LogRooms();
  const outbox = new Outbox<SyncResult>(context, rooms, () => logSync, (path) => context.realms.all().some((realm) => realm.running?.logPath === path));
  const replies = new Replies(context, rooms, outbox);
  const logPathOf = (realm: Realm): string => logSync.pathOf(realm);
  const sections = new RealmSections(context, outbox, logPathOf);
  const scheduler: Scheduler = new Scheduler(context, { outbox, replies, sections, offerTestRun: (realm) => testRuns.dispatch(realm) });
  const logSync: LogSync = new LogSync(context, { scheduler, outbox, rooms }, logDir, createJobIds());
  const testRuns: TestRunQueue = createTestRuns(context, scheduler, outbox, logPathOf, logDir);
  const realmApi = new RealmCalls(context, scheduler, testRuns, sections, { camera: options.camera ?? null, logPathOf });
  const housekeeping = new Housekeeping(context, scheduler, testRuns, replies);
  return { outbox, logSync, scheduler, sections, testRuns, realmApi, housekeeping };
}

/** `daebug.md`: what it shows (the realms, the notices), and a stop when an agent asks for one in it. */
function registryFileOf(parts: { options: DaemonOptions; path: string; store: LogStore; timing: DaemonTiming; since: string; notices: { all(): string[] }; realms: ReturnType<typeof createRealmTable>; warn: (message: string) => void; stop: (reason: string) => void }): ReturnType<typeof createRegistryFile> {
  const { options, path, timing, since, notices, realms } = parts;
  return createRegistryFile({
    path,
    store: parts.store,
    minIntervalMs: timing.registryMinIntervalMs,
    render: () => renderRegistry({ rootName: basename(options.root), url: options.url ?? `file://${options.root}`, since, proxy: options.proxy, devServer: options.devServer, notices: notices.all() }, registryRealms(realms.all(), Date.now(), timing)),
    onShutdownRequest: () => parts.stop(SHUTDOWN_LINE),
    onError: (error) => parts.warn(`cannot write ${path}: ${error.message}`),
  });
}

/** The store of the logs under `root`; `onRecovered` is told of a log that got an agent's late write back. */
function logStoreOf(root: string, logDir: string, timing: DaemonTiming, warn: (message: string) => void, onRecovered: (path: string) => void): LogStore {
  return createLogStore({
    root,
    warn,
    timing,
    onRecovered,
    // `daebug -> .` would make every Markdown file of the project a log: logs live in a real folder only.
    refusal: async (path) => (dirname(path) === logDir ? folderProblem(logDir) : null),
  });
}

/** The logs in `daebug/` at start, each read once then (a real folder only: anything else is left alone with a warning). */
async function logsFoundAtStart(logDir: string, warn: (message: string) => void): Promise<string[]> {
  const problem = await folderProblem(logDir);
  if (problem) warn(`${problem}; daebug keeps logs only in a real daebug/ folder inside the root, so it leaves it alone`);
  return problem ? [] : safeReaddir(logDir).filter((entry) => entry.endsWith('.md')).map((name) => join(logDir, name));
}

/** `Daemon.runTests`: a test run for the realm named, which need not be connected yet. */
function startTestRun(realms: ReturnType<typeof createRealmTable>, testRuns: TestRunQueue, realmName: string, files: string[], timeoutMs: number): ReturnType<Daemon['runTests']> {
  if (!isRealmName(realmName)) return { ok: false, code: 'ERR_BAD_REALM', message: `${JSON.stringify(realmName.slice(0, 100))} is not a realm name` };
  return testRuns.start(realms.ensure(logFileName(realmName)), files, timeoutMs);
}

/** What shapes the replies realms send: the output budget and its files, and the stack mapper. */
function replyShaping(options: DaemonOptions, warn: (message: string) => void, notice: (text: string) => void): Pick<DaemonContext, 'maxOutputBytes' | 'spill' | 'files' | 'requests' | 'stacks'> {
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const requests = new RequestSources();
  const stacks = createStackMapper(requests, createSourceMaps({ root: options.root, url: options.url, proxy: options.proxy }));
  // Long answers and screenshots share one budget on disk (beside-log.ts).
  const files = numberedFiles(options.root);
  return { maxOutputBytes, spill: createSpill(options.root, maxOutputBytes, warn, notice, files), files, requests, stacks };
}

/** The test runs, writing their sections into the realm's log (made when it has none yet). */
function createTestRuns(context: DaemonContext, scheduler: Scheduler, outbox: Outbox<SyncResult>, logPathOf: (realm: Realm) => string, logDir: string): TestRunQueue {
  const { log, background } = context;
  const writeSection = async (realm: Realm, change: LogChange) => {
    await mkdir(logDir, { recursive: true });
    return outbox.post(logPathOf(realm), change, { create: true });
  };
  return new TestRunQueue({
    timing: context.timing,
    dispatch: (realm) => scheduler.dispatch(realm),
    started: (realm, run) => log({ level: 'info', event: 'job-started', message: `${realm.name} runs ${run.files.length} test file(s)`, realm: realm.name }),
    writeProgress: (realm, progress) => background(`writing test progress of ${realm.name}`, writeSection(realm, { type: 'test-progress', realm: realm.name, progress })),
    writeResults: (realm, entries, durationMs) => {
      const written = writeSection(realm, { type: 'test-results', realm: realm.name, entries, durationMs });
      background(`writing test results of ${realm.name}`, written);
      return written;
    },
  });
}

/** What daebug cannot do for the pages it serves, each said once: on the console and in the registry. */
function noticeBoard(warn: (message: string) => void, changed: () => void): { add(text: string): void; all(): string[] } {
  const notices = new Set<string>();
  return {
    add(text) {
      if (notices.has(text)) return;
      notices.add(text);
      warn(text);
      changed();
    },
    all: () => [...notices],
  };
}

/** The realms for tools, most recently active first. */
function realmList(all: Realm[], timing: DaemonTiming): ReturnType<Daemon['realms']> {
  // A page that said it is going (closed, or reloading) is `closing` to tools until it is back: --test never picks it.
  const closing = new Set(all.filter((realm) => realm.closedAt !== null).map((realm) => realm.name));
  return registryRealms(all, Date.now(), timing)
    .sort((a, b) => b.lastActive - a.lastActive)
    .map((realm) => ({ name: realm.name, kind: realm.kind, url: realm.url, where: realmWhere(realm), state: realm.state, ...(closing.has(realm.name) ? { closing: true as const } : {}), lastActive: realm.lastActive }));
}

/** Counts for `/-daebug/health`. */
function health(all: Realm[], startedAt: number): ReturnType<Daemon['health']> {
  return {
    realms: all.filter((realm) => realm.connected).length,
    jobsRunning: all.filter((realm) => realm.running).length,
    jobsQueued: all.reduce((sum, realm) => sum + realm.queue.length, 0),
    uptimeMs: Date.now() - startedAt,
  };
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
