/**
 * The wire protocol between the daemon and its realms, one discriminated union on `type`, imported by
 * both the transport (server side) and the client (browser side) so they cannot drift apart.
 */
import type { NodeProcess, RealmKind } from './registry.js';

export type { NodeProcess } from './registry.js';
import type { EventSource, RenderedValue } from './render.js';

/** Who a realm is; sent when it connects. */
export interface RealmIdentity {
  name: string;
  kind: RealmKind;
  /** A page's `location.href`; a worker's script URL (`blob:` for a Blob), or '' for daebug's helper worker. */
  url: string;
  /** A Node process: its process id and the command line that started it. */
  process?: NodeProcess;
  /** daebug's own helper worker (`<page>-webworker`), not one of the app's. */
  helper?: boolean;
}


/**
 * A Node process asking to connect (with the daemon's token): `node-<script>`. `reconnect` when this
 * process was connected before (the daemon restarted), so the log gets no "started" notice again.
 */
export interface NodeConnectMessage {
  type: 'connect-node';
  name: string;
  pid: number;
  command: string;
  reconnect: boolean;
}

/**
 * What a Node process writes into its exit request as it exits: the exit code and the events not
 * sent yet (the uncaught error that ends it). A request that closes without it: the process died
 * without running its exit handlers (a signal, or Node itself crashed).
 */
export interface NodeExitMessage {
  type: 'node-exit';
  code: number;
  events: WireEvent[];
}

/**
 * A realm asking to connect: a page with the page token, or a page connecting one of its workers with
 * its own secret. `secret` is the one this name had before (a reloaded page keeps it in
 * sessionStorage): a name that is connected already is given only to whoever holds its secret.
 */
export interface ConnectMessage {
  type: 'connect';
  name: string;
  kind: RealmKind;
  url: string;
  secret?: string;
  /** A worker: daebug's own helper. */
  helper?: boolean;
}

/** The answer to a connect: the realm's name and the secret it sends with every later call. */
export interface ConnectAnswer {
  ok: true;
  realm: string;
  secret: string;
}

/** A console call or uncaught error as the realm captured it. */
export interface WireEvent {
  source: EventSource;
  /** Epoch milliseconds when it happened, by the realm's clock. */
  time: number;
  lang: RenderedValue['lang'];
  text: string;
  /** `file:line:column` of the console call, when the realm could tell. */
  location?: string;
}

/** What a job produced, rendered in the realm. */
export type WireOutcome = { kind: 'value'; value: RenderedValue } | { kind: 'error'; error: string };

/**
 * The answer to a poll: a job to run, or nothing this time (poll again). `body` is the request
 * prepared by the daemon (see src/code/prepare-code.ts): the realm runs it once as the body of an
 * async function and renders what it returns. `code` is the request as the agent wrote it.
 */
export type PollAnswer =
  | { type: 'job'; jobId: string; code: string; body: string; timeoutMs: number }
  /** Run these test files (URL paths) with node:test and stream the progress back. */
  | { type: 'tests'; runId: string; files: string[]; timeoutMs: number }
  | { type: 'idle' };

/**
 * A realm names a job's compiled code `daebug-request-<job id>` (a `//# sourceURL`), so the daemon can
 * tell the job's frames in a stack and show them at their place in the fence.
 */
export const REQUEST_SOURCE_PREFIX = 'daebug-request-';

/**
 * What a Node realm's job bodies call in place of `import()`: code compiled at run time would resolve
 * `import('./db.js')` against daebug's module, the realm resolves it against the app's folder.
 */
export const NODE_IMPORT = '__daebugImport';

/** A job's outcome, with the events of the job not yet sent in an `events` message. */
export interface ResultMessage {
  type: 'result';
  jobId: string;
  outcome: WireOutcome;
  /** Time the realm spent running the job. */
  durationMs: number;
  events: WireEvent[];
}

/** Events captured outside a result: while a job runs (streamed) or while idle (background). */
export interface EventsMessage {
  type: 'events';
  /** The running job they belong to, if any. */
  jobId?: string;
  events: WireEvent[];
}

/**
 * What a page can tell about one of its workers: `alive` (it answers pings again), `restarted` (daebug's
 * helper stopped answering and was started anew), `hung` (the app's worker stopped answering; daebug
 * does not restart the app's workers), `terminated` (the app called `terminate()`).
 */
export type WorkerHealth = 'alive' | 'restarted' | 'hung' | 'terminated';

/** The page's report on its worker. */
export interface HeartbeatMessage {
  type: 'heartbeat';
  worker: { name: string; state: WorkerHealth; reason?: string };
}

/** One step of a test run inside a realm. */
export type TestProgressEvent =
  | { kind: 'plan'; total: number; files: string[] }
  | { kind: 'suite'; path: string[] }
  | { kind: 'start'; path: string[] }
  | { kind: 'pass' | 'skip' | 'todo'; path: string[]; durationMs: number; reason?: string }
  /** `cancelled`: the test timed out (Node counts it as cancelled, daebug as a failure). */
  | { kind: 'fail'; path: string[]; durationMs: number; error: string; cancelled?: boolean }
  | { kind: 'end'; durationMs: number };

/** Test progress streamed by a realm. */
export interface TestProgressMessage {
  type: 'test-progress';
  runId: string;
  events: TestProgressEvent[];
}

/** Something that went wrong inside daebug's own client code, for the daemon's console. */
export interface DiagnosticMessage {
  type: 'diagnostic';
  message: string;
  /**
   * Something daebug cannot do for the page, which the daemon then says in the registry's notices in
   * its own words (a page chooses none of the registry's text): `shared-worker`, the page started a
   * SharedWorker.
   */
  about?: 'shared-worker';
}

/** Everything a realm sends to the daemon. */
export type RealmMessage = ConnectMessage | NodeConnectMessage | NodeExitMessage | ResultMessage | EventsMessage | HeartbeatMessage | TestProgressMessage | DiagnosticMessage;

/** Everything the daemon sends to a realm. */
export type DaemonMessage = PollAnswer;

/** Every message on the wire, in either direction, told apart by `type`. */
export type WireMessage = DaemonMessage | RealmMessage;

/**
 * A worker realm's first and only message on the app's own channel (`self.postMessage`), carrying the
 * port of daebug's own `MessageChannel`: the page client takes it off the worker before any listener of
 * the app's sees it, and everything after goes over that port.
 */
export interface WorkerHello {
  daebugWorker: typeof WORKER_HELLO;
}

/** The mark of a worker's hello. */
export const WORKER_HELLO = 'daebug-worker-port-1';

/**
 * What a page and its worker say over daebug's own port: the worker asks for credentials (`renew`),
 * the page gives them with the daemon's origin, or says why not; pings and pongs tell a hung worker.
 */
export type WorkerPortMessage =
  | { type: 'renew' }
  | { type: 'credentials'; name: string; secret: string; origin: string }
  | { type: 'no-credentials'; error: string }
  | { type: 'ping'; id: number }
  | { type: 'pong'; id: number };
