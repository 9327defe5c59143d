/**
 * What the daemon promises the rest of daebug: its options and timing, the log lines it emits, the
 * calls realms make (the HTTP layer translates requests into them), and the running daemon.
 */
import { DEFAULT_STORE_TIMING, type StoreTiming } from '../store/index.js';
import type { Camera, ScreenshotAnswer } from './screenshots.js';
import type { ConnectAnswer, DiagnosticMessage, EventsMessage, HeartbeatMessage, NodeConnectMessage, NodeExitMessage, PollAnswer, RealmIdentity, ResultMessage, TestProgressEvent, TestProgressMessage } from '../protocol/messages.js';

/** Every duration the daemon works with, the store's among them (src/store/settle.ts); tests shorten them. */
export interface DaemonTiming extends StoreTiming {
  /** A job fails when its realm has not answered this long after taking it. */
  timeoutMs: number;
  /** How often a running marker's `executing (<n>s)` is rewritten. */
  tickMs: number;
  /**
   * A request a waiting realm takes at once is written into its log with its reply when the reply
   * comes within this long (one write per quick answer), else with its running marker when it is up.
   * 0: the accept is written at once, before the job is handed over.
   */
  quickAnswerMs: number;
  /** How long a poll waits for work before it is answered with nothing. */
  pollMs: number;
  /** A note moves above the footer once the log has been quiet this long. */
  noteQuietMs: number;
  /** At most one background write per log in this time. */
  backgroundMs: number;
  /** At most one write of streamed events per running job in this time. */
  streamMs: number;
  unresponsiveMs: number;
  /** A realm that beats on its socket (a page or worker) and has not for this long is not responding: its thread is blocked or busy. */
  notRespondingMs: number;
  /** A realm whose socket closed and that has not connected again after this long has closed (tab closed, or gone to another site). */
  closeGraceMs: number;
  goneMs: number;
  dropMs: number;
  registryMinIntervalMs: number;
  /** A result for a deleted log waits this long for the log to come back. */
  keepOrphanResultMs: number;
  /** How often realm states, ages and orphan results are checked. */
  sweepMs: number;
  /** A test run that no realm has taken after this long fails (its realm never connected). */
  testRunWaitMs: number;
  /** A test run's progress section is rewritten at most this often. */
  testProgressMs: number;
  /** A realm that took a test run and reported nothing for the run's timeout and this long has stopped. */
  testSilenceGraceMs: number;
}

/** The durations of files.md and daemon.md. */
export const DEFAULT_TIMING: DaemonTiming = {
  ...DEFAULT_STORE_TIMING,
  timeoutMs: 60_000,
  tickMs: 5_000,
  quickAnswerMs: 25,
  pollMs: 25_000,
  noteQuietMs: 1_000,
  backgroundMs: 2_000,
  streamMs: 1_000,
  unresponsiveMs: 30_000,
  notRespondingMs: 3_000,
  closeGraceMs: 3_000,
  goneMs: 120_000,
  dropMs: 30 * 60_000,
  registryMinIntervalMs: 1_000,
  keepOrphanResultMs: 60_000,
  sweepMs: 1_000,
  testRunWaitMs: 60_000,
  testProgressMs: 1_000,
  testSilenceGraceMs: 5_000,
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
    | 'proxy'
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
  /** With `--proxy`: the dev server whose pages are served, named in the registry. */
  proxy?: string;
  /** With the build-tool plugin: the dev server's URL, named in the registry as where pages open. */
  devServer?: string;
  /** The output budget of each reply block in bytes (`--max-output`, default 4 KiB); the whole text goes to a file beside the log. */
  maxOutputBytes?: number;
  /** Takes screenshots of pages in the browser daebug launched (`--open`); none: screenshots say how to get them. */
  camera?: Camera;
}

/** Why a realm API call was refused; the HTTP layer maps each code to a status. */
export type RealmRefusal = { ok: false; code: 'ERR_WRONG_JOB' | 'ERR_UNKNOWN_REALM' | 'ERR_REALM_TAKEN' | 'ERR_BAD_REALM' | 'ERR_NOT_YOURS' | 'ERR_STOPPING' | 'ERR_TOO_MANY_REALMS' | 'ERR_TOO_MANY_LOGS'; message: string };

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
  /**
   * A Node process connects (the HTTP layer checked the daemon's token) as `node-<script>`. A name held
   * by another live process is refused; one whose process has ended is taken over, a restart.
   */
  connectNode(message: NodeConnectMessage): ConnectResult;
  /**
   * The exit request of the Node process that connected with `secret` ended: with its exit message,
   * or closed without one (`null`: it died without running its exit handlers).
   */
  nodeExit(realmName: string, secret: string | undefined, exit: NodeExitMessage | null): void;
  /** True when `secret` is the one the connected realm `name` was given. */
  authenticate(name: string, secret: string | undefined): boolean;
  /** A sign of life from the realm's own thread: a page or worker beats on its socket every second. */
  beat(realmName: string): void;
  /** The realm's socket closed; `secret` is the one it opened with (a realm that connected again since is not closed). */
  socketClosed(realmName: string, secret: string | undefined): void;
  /** Long-poll of a connected realm: resolves with its next job, or idle after a while. */
  poll(realmName: string, signal?: AbortSignal): Promise<PollAnswer>;
  result(realmName: string, message: ResultMessage): Promise<RealmCallResult>;
  events(realmName: string, message: EventsMessage): Promise<RealmCallResult>;
  /** A page asks for a screenshot of itself (`daebug.screenshot()`), written beside its log. */
  screenshot(realmName: string, selector: string | null): Promise<ScreenshotAnswer>;
  /** A page reports on one of its own workers. */
  heartbeat(realmName: string, message: HeartbeatMessage): RealmCallResult;
  /** A failure inside daebug's client code, shown on the daemon's console (never in a log). */
  diagnostic(realmName: string, message: DiagnosticMessage): RealmCallResult;
  /** Progress of a test run the realm was given. */
  testProgress(realmName: string, message: TestProgressMessage): Promise<RealmCallResult>;
}

/** A test run as its caller follows it, or why it was not queued. */
export type TestRunHandle =
  | {
      ok: true;
      runId: string;
      /** Calls `listener` with every progress event; the last one has kind `end`. */
      subscribe(listener: (event: TestProgressEvent) => void): () => void;
      /** Drops the run if its realm has not taken it yet (its caller went away). */
      cancel(): void;
    }
  | { ok: false; code: 'ERR_BUSY' | 'ERR_BAD_REALM'; message: string };

/** A running daemon. */
export interface Daemon {
  readonly root: string;
  readonly realmApi: RealmApi;
  /** Resolves with the reason once the daemon has stopped, whoever stopped it. */
  readonly stopped: Promise<string>;
  stop(reason: string): Promise<void>;
  /** Counts for `/-daebug/health`. */
  health(): { realms: number; jobsRunning: number; jobsQueued: number; uptimeMs: number };
  /** The realms that have polled, most recently active first. */
  realms(): { name: string; kind: string; url: string; where: string; state: string; closing?: true; lastActive: number }[];
  /** Shows something daebug cannot do for the pages in the registry until the daemon stops, and on the console; each text once. */
  notice(text: string): void;
  /** Queues a run of test files (URL paths) in a realm; its progress goes into the realm's log too. */
  runTests(realmName: string, files: string[], timeoutMs: number): TestRunHandle;
}
