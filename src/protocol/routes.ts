/**
 * Every HTTP route of daebug's own, declared once with its method, path and access policy. The server
 * registers exactly these (one guard applies the policy), and the page client, the worker, the CLI and
 * the tests build their URLs from here, so a path is never spelled out twice.
 */

/**
 * Who may call a route:
 * - `public`: anyone who passes the Host check (health, the code realms load);
 * - `page`: the page token that daebug puts into every page it serves; it only lets a page connect;
 * - `realm`: the secret the realm named in the path got when it connected;
 * - `tool`: the daemon's token, readable only by the owner in `.daebug/token` (the CLI, local tools);
 * - `read`: nothing more on loopback (the files are on disk anyway), the daemon's token when exposed.
 */
export type AccessPolicy = 'public' | 'page' | 'realm' | 'tool' | 'read';

/** One route of daebug's own. */
export interface RouteSpec {
  method: 'GET' | 'POST';
  /** A polka pattern: `:realm` and `:jobId` are path parameters. */
  path: string;
  policy: AccessPolicy;
  /** Served only while the daemon listens on loopback. */
  loopbackOnly?: boolean;
}

/** Everything under `/-daebug/` is daebug's own. */
export const API_PREFIX = '/-daebug/';

/** The route table. */
export const ROUTES = {
  health: { method: 'GET', path: '/-daebug/health', policy: 'public' },
  client: { method: 'GET', path: '/-daebug/client.js', policy: 'public' },
  worker: { method: 'GET', path: '/-daebug/worker.js', policy: 'public' },
  nodeTest: { method: 'GET', path: '/-daebug/node-test.js', policy: 'public' },
  nodeAssert: { method: 'GET', path: '/-daebug/node-assert.js', policy: 'public' },
  nodeAssertStrict: { method: 'GET', path: '/-daebug/node-assert-strict.js', policy: 'public' },
  pageToken: { method: 'GET', path: '/-daebug/token', policy: 'public', loopbackOnly: true },
  connect: { method: 'POST', path: '/-daebug/connect', policy: 'page' },
  connectWorker: { method: 'POST', path: '/-daebug/realms/:realm/workers', policy: 'realm' },
  poll: { method: 'GET', path: '/-daebug/realms/:realm/poll', policy: 'realm' },
  result: { method: 'POST', path: '/-daebug/realms/:realm/jobs/:jobId/result', policy: 'realm' },
  events: { method: 'POST', path: '/-daebug/realms/:realm/events', policy: 'realm' },
  heartbeat: { method: 'POST', path: '/-daebug/realms/:realm/heartbeat', policy: 'realm' },
  diagnostics: { method: 'POST', path: '/-daebug/realms/:realm/diagnostics', policy: 'realm' },
  testProgress: { method: 'POST', path: '/-daebug/realms/:realm/tests/progress', policy: 'realm' },
  realms: { method: 'GET', path: '/-daebug/realms', policy: 'tool' },
  discoverTests: { method: 'POST', path: '/-daebug/tests/discover', policy: 'tool' },
  runTests: { method: 'POST', path: '/-daebug/tests/run', policy: 'tool' },
  registry: { method: 'GET', path: '/-daebug/registry', policy: 'read' },
  log: { method: 'GET', path: '/-daebug/logs/:realm', policy: 'read' },
  admin: { method: 'GET', path: '/-daebug/', policy: 'read' },
} as const satisfies Record<string, RouteSpec>;

/** The name of a route in the table. */
export type RouteName = keyof typeof ROUTES;

/** The header that carries the page token or the daemon's token. */
export const TOKEN_HEADER = 'x-daebug-token';
/** The header that carries a realm's secret. */
export const SECRET_HEADER = 'x-daebug-secret';

/** A route's path with its parameters filled in (encoded). */
export function routePath(name: RouteName, params: { realm?: string; jobId?: string } = {}): string {
  return ROUTES[name].path.replace(/:(realm|jobId)/g, (_match, key: 'realm' | 'jobId') => encodeURIComponent(params[key] ?? ''));
}
