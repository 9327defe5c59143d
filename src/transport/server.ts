/**
 * The HTTP server (polka): daebug's own API under `/-daebug/`, the project's files everywhere else
 * (or, with `--proxy`, the dev server's answers: proxy.ts).
 * It only translates HTTP into daemon calls. Every route of the table in src/protocol/routes.ts gets
 * its handler here and goes through one guard that applies the route's policy (security.ts); every
 * handler goes through `safe`, so no request can crash the daemon.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import polka from 'polka';
import type { Daemon } from '../daemon/contract.js';
import { API_PREFIX, ROUTES, routePath, type RouteName, type RouteSpec } from '../protocol/routes.js';
import { HttpError, safe, sendJson, type Handler, type Request } from './http.js';
import { injectIntoHtml } from './inject.js';
import { adminRoute, assetRoute, pageTokenRoute } from './routes/assets.js';
import { healthRoute, logRoute, registryRoute } from './routes/read-api.js';
import { connectNodeRoute, connectRoute, connectWorkerRoute, diagnosticRoute, eventsRoute, heartbeatRoute, nodeExitRoute, pollRoute, resultRoute, screenshotRoute } from './routes/realm-api.js';
import { createProxy } from './proxy.js';
import { createRealmSockets, type RealmSockets } from './realm-socket.js';
import { authorize, checkHost, isAllowedHost, isExposedRequest, oncePerOrigin, originKind, preflight, type GuardContext } from './security.js';
import { discoverRoute, openRoute, progressRoute, realmsRoute, runRoute } from './routes/tests.js';
import { createStaticHandler } from './static.js';
import { injectIntoWorker, type WorkerClientPaths } from './worker-script.js';

/** How to start the server. */
export interface ServerOptions {
  root: string;
  host: string;
  port: number;
  /** In every page daebug serves; lets a page connect. */
  pageToken: string;
  /** The daemon's token, for local tools. */
  toolToken: string;
  version: string;
  /** The daemon, once it has started. */
  daemon: () => Daemon | null;
  onError: (error: Error, where: string) => void;
  /** Origins besides loopback ones whose pages may connect (`--allow-origin`). */
  allowedOrigins?: readonly string[];
  /** A line for the daemon's console: a page on a foreign origin was refused (once per origin). */
  onWarning?: (message: string) => void;
  /** With `--proxy`: the dev server that gets every request outside `/-daebug/`, instead of the root's files. */
  proxy?: URL;
  /** A line for the daemon's output. */
  say?: (level: 'info' | 'warn', message: string) => void;
  /**
   * How long a request may take to arrive whole, headers and body (default 60 s; a request to the dev
   * server behind `--proxy` gets Node's 5 minutes). A Node realm's exit request alone has none.
   */
  requestTimeoutMs?: number;
  /** With the build-tool plugin: the dev server's URL, where pages open (said by `/-daebug/health`). */
  devServer?: string;
  /** Opens a page in the browser this daebug launches (`--open` joining it); resolves with the URL opened. */
  open?: (target: string, how: { headless: boolean; browser: string | null }) => Promise<string>;
}

/** The default of `requestTimeoutMs`. */
const REQUEST_TIMEOUT_MS = 60_000;
/** What a request to the dev server gets: Node's own default, for uploads it may take in. */
const PROXIED_REQUEST_TIMEOUT_MS = 300_000;
/** A Node realm's exit request: its body comes when the process exits (routes/realm-api.ts). */
const EXIT_REQUEST = /^\/-daebug\/realms\/[^/?#]+\/exit(?:[?#]|$)/;

/** A listening server. */
export interface RunningServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Where daebug's browser modules are served; pages import them through the injected import map. */
export const MODULE_IMPORTS: Record<string, string> = {
  'node:test': ROUTES.nodeTest.path,
  'node:assert': ROUTES.nodeAssert.path,
  'node:assert/strict': ROUTES.nodeAssertStrict.path,
};

/** Where the app's worker scripts load daebug's worker client from (their origin is daebug's, or proxies `/-daebug/` to it). */
export const WORKER_CLIENT: WorkerClientPaths = { module: ROUTES.worker.path, classic: ROUTES.workerClassic.path };

/** True unless `host` is a loopback address: then daebug's REPL is reachable from other machines. */
export function isExposedHost(host: string): boolean {
  return !['127.0.0.1', 'localhost', '::1'].includes(host);
}

/** Starts listening; rejects with code `ERR_PORT_TAKEN` when the port is in use. */
export function startServer(options: ServerOptions): Promise<RunningServer> {
  const exposed = isExposedHost(options.host);
  let port = options.port;
  const wrap = (handler: Handler) => safe(handler, (error, req) => options.onError(error, `${req.method} ${req.path}`));
  const clientUrl = `${routePath('client')}?t=${options.pageToken}`;
  const injectWorker = (source: string) => injectIntoWorker(source, WORKER_CLIENT);
  const serveStatic = createStaticHandler(options.root, { html: (html) => injectIntoHtml(html, { clientUrl, imports: MODULE_IMPORTS }), worker: injectWorker, specifiers: MODULE_IMPORTS });
  const say = options.say ?? (() => {});
  const proxy =
    options.proxy &&
    createProxy({
      target: options.proxy,
      inject: (html, nonce) => injectIntoHtml(html, { clientUrl, imports: MODULE_IMPORTS, nonce }),
      injectWorker,
      say,
      notice: (message) => (options.daemon() ? options.daemon()!.notice(message) : say('warn', message)),
      modules: MODULE_IMPORTS,
    });
  const guard: GuardContext = {
    boundHost: options.host,
    exposed,
    pageToken: options.pageToken,
    toolToken: options.toolToken,
    allowedOrigins: new Set(options.allowedOrigins ?? []),
    isRealmSecret: (name, secret) => options.daemon()?.realmApi.authenticate(name, secret) ?? false,
    onForeignOrigin: oncePerOrigin((line) => options.onWarning?.(line)),
  };

  const handlers = routeHandlers(options, () => port);

  const app = polka({
    onNoMatch: wrap(function notRouted(req, res) {
      if (req.path.startsWith(API_PREFIX)) throw new HttpError(404, 'ERR_NO_ROUTE', `no ${req.method} ${req.path} here`);
      return proxy ? proxy.web(req, res) : serveStatic(req, res);
    }),
    onError: (error: Error, req: Request, res: ServerResponse) => {
      if (error instanceof HttpError) return sendJson(res, error.status, { ok: false, code: error.code, error: error.message }, error.headers);
      options.onError(error, `${req.method} ${req.path}`);
      sendJson(res, 500, { ok: false, code: 'ERR_INTERNAL', error: 'internal error; see the daebug console' });
    },
  } as object) as unknown as PolkaApp;
  app.use(function hostCheck(req, res, next) {
    // No answer is to be sniffed into another type; daebug's own are for this origin unless a route says otherwise.
    res.setHeader('x-content-type-options', 'nosniff');
    if (req.path.startsWith(API_PREFIX)) res.setHeader('cross-origin-resource-policy', 'same-origin');
    try {
      checkHost(req, options.host);
    } catch (error) {
      const refused = error as HttpError;
      return sendJson(res, refused.status, { ok: false, code: refused.code, error: refused.message });
    }
    next();
  });
  for (const [name, spec] of Object.entries(ROUTES) as [RouteName, RouteSpec][]) {
    if (spec.loopbackOnly && exposed) continue;
    const handler = handlers[name];
    const guarded: Handler = function guarded(req, res) {
      // A route offered only on loopback is not there for a caller a dev server forwards from beyond it.
      if (spec.loopbackOnly && isExposedRequest(req, guard)) throw new HttpError(404, 'ERR_NO_ROUTE', `no ${req.method} ${req.path} here`);
      // Scripts may be loaded by pages of any origin; nothing else of daebug's may be read by another origin.
      res.setHeader('cross-origin-resource-policy', spec.policy === 'public' && spec.path.endsWith('.js') ? 'cross-origin' : 'same-origin');
      for (const [header, value] of Object.entries(authorize(spec, req, guard))) res.setHeader(header, value);
      return handler(req, res);
    };
    if (spec.method === 'GET') app.get(spec.path, wrap(guarded));
    else app.post(spec.path, wrap(guarded));
    if (spec.crossOrigin) app.options(spec.path, wrap(function answerPreflight(req, res) { res.writeHead(204, preflight(spec, req, guard)).end(); }));
  }

  const upgrades = { proxy: proxy || null, sockets: createRealmSockets(() => options.daemon()?.realmApi ?? null), guard };
  return listen(app, options, upgrades, (bound) => (port = bound));
}

/** The part of polka 0.5 used here, typed without its Express-shaped declarations. */
interface PolkaApp {
  use(middleware: (req: Request, res: ServerResponse, next: () => void) => void): PolkaApp;
  get(path: string, handler: Handler): PolkaApp;
  post(path: string, handler: Handler): PolkaApp;
  options(path: string, handler: Handler): PolkaApp;
  /** Routes a request (what polka's own listen would hand its server). */
  handler(req: IncomingMessage, res: ServerResponse): void;
}

/** Every route's handler: the compiler checks this table against the route table. */
function routeHandlers(options: ServerOptions, port: () => number): Record<RouteName, Handler> {
  const realm = { realmApi: () => options.daemon()?.realmApi ?? null };
  const read = { root: options.root, toolToken: options.toolToken, port, version: options.version, daemon: options.daemon, pages: { devServer: options.devServer, proxy: options.proxy?.origin } };
  const tests = { root: options.root, daemon: options.daemon };
  return {
    health: healthRoute(read),
    client: assetRoute('page.js'),
    worker: assetRoute('worker.js'),
    workerClassic: assetRoute('worker-classic.js'),
    evaluate: assetRoute('evaluate.js'),
    nodeTest: assetRoute('node-test.js'),
    nodeAssert: assetRoute('node-assert.js'),
    nodeAssertStrict: assetRoute('node-assert-strict.js'),
    pageToken: pageTokenRoute(options.pageToken),
    connect: connectRoute(realm),
    connectWorker: connectWorkerRoute(realm),
    connectNode: connectNodeRoute(realm),
    nodeExit: nodeExitRoute(realm),
    poll: pollRoute(realm),
    socket: socketRoute,
    result: resultRoute(realm),
    events: eventsRoute(realm),
    heartbeat: heartbeatRoute(realm),
    diagnostics: diagnosticRoute(realm),
    screenshot: screenshotRoute(realm),
    testProgress: progressRoute(realm),
    realms: realmsRoute(tests),
    discoverTests: discoverRoute(tests),
    runTests: runRoute(tests),
    open: openRoute(options.open),
    registry: registryRoute(read),
    log: logRoute(read),
    admin: adminRoute(options.daemon, options.root),
  }
}

/** What WebSocket upgrades go to: realms' own sockets under `/-daebug/`, the dev server's elsewhere (`--proxy`). */
interface Upgrades {
  proxy: ReturnType<typeof createProxy> | null;
  sockets: RealmSockets;
  guard: GuardContext;
}

/** GET of a realm's socket without an upgrade. */
function socketRoute(_req: Request, res: ServerResponse): void {
  sendJson(res, 426, { ok: false, code: 'ERR_UPGRADE', error: 'this is a WebSocket: open it with new WebSocket()' }, { upgrade: 'websocket' });
}

const REALM_SOCKET = /^\/-daebug\/realms\/([^/?]+)\/socket(?:\?|$)/;

/** Takes an upgrade request: a realm's socket, the dev server's (`--proxy`), or a refusal. */
function upgradeRequest(upgrades: Upgrades, boundHost: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const refuse = (status: string) => void socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  // The same Host check as every request: a rebound name must not reach any socket either.
  if (!isAllowedHost(req.headers.host, boundHost)) return refuse('403 Forbidden');
  const url = req.url ?? '/';
  const realmSocket = REALM_SOCKET.exec(url);
  if (realmSocket) {
    // WebSockets know no CORS: the Origin is checked here as the realm routes' guard checks it.
    const origin = originKind(req as Request, upgrades.guard);
    if (origin === 'foreign') {
      upgrades.guard.onForeignOrigin(String(req.headers.origin));
      return refuse('403 Forbidden');
    }
    let realmName: string;
    try {
      realmName = decodeURIComponent(realmSocket[1]!);
    } catch {
      return refuse('400 Bad Request');
    }
    return upgrades.sockets.upgrade(req, socket, head, realmName);
  }
  if (url.startsWith(API_PREFIX) || !upgrades.proxy) return refuse('404 Not Found');
  upgrades.proxy.upgrade(req, socket, head);
}

/** Forwards a request to the dev server; an error of daebug's own is a 500 and a line on its console, as for routed requests. */
function forward(proxy: NonNullable<Upgrades['proxy']>, req: IncomingMessage, res: ServerResponse, options: ServerOptions): void {
  try {
    proxy.web(req, res);
  } catch (error) {
    options.onError(error as Error, `${req.method} ${req.url}`);
    if (!res.headersSent) sendJson(res, 500, { ok: false, code: 'ERR_INTERNAL', error: 'internal error; see the daebug console' });
  }
}

/**
 * Answers 408 and closes the connection of a request that has not arrived whole within its time: a
 * caller that sends a body a byte a minute holds nothing for long. The exit request of a Node realm,
 * whose body comes when its process exits, is the one request without a limit.
 */
function limitRequestTime(req: IncomingMessage, res: ServerResponse, options: ServerOptions): void {
  if (req.method === 'POST' && EXIT_REQUEST.test(req.url ?? '')) return;
  const proxied = options.proxy !== undefined && !(req.url ?? '').startsWith(API_PREFIX);
  const limit = proxied ? PROXIED_REQUEST_TIMEOUT_MS : (options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
  const timer = setTimeout(() => {
    if (req.complete) return;
    if (!res.headersSent) res.writeHead(408, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ ok: false, code: 'ERR_REQUEST_TIMEOUT', error: `the request did not arrive whole within ${limit} ms` }));
    req.socket.destroy();
  }, limit);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
}

/** Listens, takes WebSocket upgrades, and resolves once bound. */
function listen(app: PolkaApp, options: ServerOptions, upgrades: Upgrades, bound: (port: number) => void): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      limitRequestTime(req, res, options);
      // A dev server's request with an acceptable Host goes straight to the proxy: routing it through
      // daebug's route table costs every module of a page time for nothing.
      if (upgrades.proxy && req.url?.startsWith('/') && !req.url.startsWith(API_PREFIX) && isAllowedHost(req.headers.host, options.host)) return forward(upgrades.proxy, req, res, options);
      app.handler(req, res);
    });
    server.listen(options.port, options.host);
    // Node's own limit would cut a Node realm's exit request, open as long as its process runs
    // (routes/realm-api.ts); every other request gets one of its own (limitRequestTime).
    server.requestTimeout = 0;
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? Object.assign(new Error(`port ${options.port} on ${options.host} is in use`), { code: 'ERR_PORT_TAKEN' }) : error);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgradeRequest(upgrades, options.host, req, socket, head));
    server.once('listening', () => {
      const port = (server.address() as AddressInfo).port;
      bound(port);
      const shownHost = options.host === '127.0.0.1' || options.host === '::1' || options.host === '0.0.0.0' ? 'localhost' : options.host;
      resolve({
        port,
        url: `http://${shownHost}:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            // Upgraded sockets are no HTTP connections any more: closeAllConnections leaves them open.
            upgrades.proxy?.close();
            upgrades.sockets.close();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
