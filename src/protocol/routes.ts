/**
 * Every HTTP route of daebug's own, declared once with its method, path and access policy. The server
 * registers exactly these (one guard applies the policy), and the page client, the worker, the CLI and
 * the tests build their URLs from here, so a path is never spelled out twice.
 */

/**
 * Who may call a route:
 * - `public`: anyone who passes the Host check (health, the code realms load);
 * - `origin`: no credential, but a browser only from an origin pages may come from (this daemon's own,
 *   a loopback origin, or one given with `--allow-origin`): the page token, for a script tag;
 * - `page`: the page token that daebug puts into every page it serves; it only lets a page connect;
 * - `realm`: the secret the realm named in the path got when it connected;
 * - `tool`: the daemon's token, readable only by the owner in `.daebug/token` (the CLI, local tools);
 * - `read`: nothing more on loopback (the files are on disk anyway), the daemon's token when exposed.
 */
export type AccessPolicy = 'public' | 'origin' | 'page' | 'realm' | 'tool' | 'read';

/** One route of daebug's own. */
export interface RouteSpec {
  method: 'GET' | 'POST';
  /** A polka pattern: `:realm` and `:jobId` are path parameters. */
  path: string;
  policy: AccessPolicy;
  /** Served only while the daemon listens on loopback. */
  loopbackOnly?: boolean;
  /**
   * Pages on other allowed origins use it (a script tag on a dev server, their workers and test
   * frames): answered with CORS headers for them, preflight included. Nothing else is ever
   * answered to another origin.
   */
  crossOrigin?: true;
  /** A WebSocket: taken over by the server's upgrade handler; a plain GET is told to upgrade. */
  upgrade?: true;
}

/** Everything under `/-daebug/` is daebug's own. */
export const API_PREFIX = '/-daebug/';

/** The route table. */
export const ROUTES = {
  health: { method: 'GET', path: '/-daebug/health', policy: 'public' },
  client: { method: 'GET', path: '/-daebug/client.js', policy: 'public', crossOrigin: true },
  worker: { method: 'GET', path: '/-daebug/worker.js', policy: 'public', crossOrigin: true },
  workerClassic: { method: 'GET', path: '/-daebug/worker-classic.js', policy: 'public', crossOrigin: true },
  evaluate: { method: 'GET', path: '/-daebug/evaluate.js', policy: 'public', crossOrigin: true },
  nodeTest: { method: 'GET', path: '/-daebug/node-test.js', policy: 'public', crossOrigin: true },
  nodeAssert: { method: 'GET', path: '/-daebug/node-assert.js', policy: 'public', crossOrigin: true },
  nodeAssertStrict: { method: 'GET', path: '/-daebug/node-assert-strict.js', policy: 'public', crossOrigin: true },
  pageToken: { method: 'GET', path: '/-daebug/token', policy: 'origin', loopbackOnly: true, crossOrigin: true },
  connect: { method: 'POST', path: '/-daebug/connect', policy: 'page', crossOrigin: true },
  connectWorker: { method: 'POST', path: '/-daebug/realms/:realm/workers', policy: 'realm', crossOrigin: true },
  // A Node process connects with the daemon's token, which it reads from `.daebug/token` as local tools do.
  connectNode: { method: 'POST', path: '/-daebug/node', policy: 'tool' },
  poll: { method: 'GET', path: '/-daebug/realms/:realm/poll', policy: 'realm', crossOrigin: true },
  socket: { method: 'GET', path: '/-daebug/realms/:realm/socket', policy: 'realm', crossOrigin: true, upgrade: true },
  result: { method: 'POST', path: '/-daebug/realms/:realm/jobs/:jobId/result', policy: 'realm', crossOrigin: true },
  events: { method: 'POST', path: '/-daebug/realms/:realm/events', policy: 'realm', crossOrigin: true },
  heartbeat: { method: 'POST', path: '/-daebug/realms/:realm/heartbeat', policy: 'realm', crossOrigin: true },
  diagnostics: { method: 'POST', path: '/-daebug/realms/:realm/diagnostics', policy: 'realm', crossOrigin: true },
  // A page asks for a photo of itself; the daemon takes it where it launched the browser (--open).
  screenshot: { method: 'POST', path: '/-daebug/realms/:realm/screenshot', policy: 'realm', crossOrigin: true },
  testProgress: { method: 'POST', path: '/-daebug/realms/:realm/tests/progress', policy: 'realm', crossOrigin: true },
  // A Node process holds this request open for its lifetime and writes its exit code into it as it exits.
  nodeExit: { method: 'POST', path: '/-daebug/realms/:realm/exit', policy: 'realm' },
  realms: { method: 'GET', path: '/-daebug/realms', policy: 'tool' },
  discoverTests: { method: 'POST', path: '/-daebug/tests/discover', policy: 'tool' },
  runTests: { method: 'POST', path: '/-daebug/tests/run', policy: 'tool' },
  open: { method: 'POST', path: '/-daebug/open', policy: 'tool' },
  registry: { method: 'GET', path: '/-daebug/registry', policy: 'read' },
  log: { method: 'GET', path: '/-daebug/logs/:realm', policy: 'read' },
  admin: { method: 'GET', path: '/-daebug/', policy: 'read' },
} as const satisfies Record<string, RouteSpec>;

/** The name of a route in the table. */
export type RouteName = keyof typeof ROUTES;

/** The header that carries the page token or the daemon's token. */
export const TOKEN_HEADER = 'x-daebug-token';
/**
 * The address of the browser or tool a dev server forwards a request for (the build-tool plugin's
 * proxy sets it, overwriting whatever the caller sent): one beyond loopback is answered as an exposed
 * daemon answers (docs/security.md, "What `--host` changes").
 */
export const FORWARDED_FOR_HEADER = 'x-daebug-forwarded-for';

/** Request bodies larger than this are refused (413); realms cut what they send to fit. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** The header that carries a realm's secret. */
export const SECRET_HEADER = 'x-daebug-secret';
/** The request headers of a page's calls to daebug, which a preflight allows. */
export const PAGE_HEADERS = ['content-type', TOKEN_HEADER, SECRET_HEADER] as const;

/** The subprotocol of a realm's WebSocket (realm-socket.ts). */
export const SOCKET_PROTOCOL = 'daebug';
/** A realm's secret travels as a second subprotocol, `daebug-secret.<secret>`: a browser cannot set headers on a WebSocket. */
export const SOCKET_SECRET_PREFIX = 'daebug-secret.';

/** A route's path with its parameters filled in (encoded). */
export function routePath(name: RouteName, params: { realm?: string; jobId?: string } = {}): string {
  return ROUTES[name].path.replace(/:(realm|jobId)/g, (_match, key: 'realm' | 'jobId') => encodeURIComponent(params[key] ?? ''));
}
