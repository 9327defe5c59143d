/**
 * The HTTP server (polka): daebug's own API under `/-daebug/`, the project's files everywhere else.
 * It only translates HTTP into daemon calls; every handler goes through `safe`, so no request can
 * crash the daemon.
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import polka from 'polka';
import type { Daemon } from '../daemon/daemon.js';
import { HttpError, safe, sendJson, type Handler, type Request } from './http.js';
import { injectIntoHtml } from './inject.js';
import { adminRoute, assetRoute } from './routes/assets.js';
import { healthRoute, logRoute, registryRoute } from './routes/read-api.js';
import { diagnosticRoute, eventsRoute, heartbeatRoute, pollRoute, resultRoute } from './routes/realm-api.js';
import { checkHost, checkOrigin } from './security.js';
import { discoverRoute, progressRoute, realmsRoute, runRoute } from './routes/tests.js';
import { createStaticHandler } from './static.js';

/** How to start the server. */
export interface ServerOptions {
  root: string;
  host: string;
  port: number;
  token: string;
  version: string;
  /** The daemon, once it has started. */
  daemon: () => Daemon | null;
  onError: (error: Error, where: string) => void;
}

/** A listening server. */
export interface RunningServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Where daebug's browser modules are served; pages import them through the injected import map. */
export const MODULE_IMPORTS: Record<string, string> = {
  'node:test': '/-daebug/node-test.js',
  'node:assert': '/-daebug/node-assert.js',
  'node:assert/strict': '/-daebug/node-assert-strict.js',
};

/** Starts listening; rejects with code `ERR_PORT_TAKEN` when the port is in use. */
export function startServer(options: ServerOptions): Promise<RunningServer> {
  const exposed = !['127.0.0.1', 'localhost', '::1'].includes(options.host);
  let port = options.port;
  const wrap = (handler: Handler) => safe(handler, (error, req) => options.onError(error, `${req.method} ${req.path}`));
  const realm = { token: options.token, realmApi: () => options.daemon()?.realmApi ?? null };
  const read = { root: options.root, port: () => port, version: options.version, token: options.token, exposed, daemon: options.daemon };
  const clientUrl = `/-daebug/client.js?t=${options.token}`;
  const serveStatic = createStaticHandler(options.root, (html) => injectIntoHtml(html, { clientUrl, imports: MODULE_IMPORTS }), MODULE_IMPORTS);

  const app = polka({
    onNoMatch: wrap(serveStatic),
    onError: (error: Error, req: Request, res: ServerResponse) => {
      if (error instanceof HttpError) return sendJson(res, error.status, { ok: false, code: error.code, error: error.message });
      options.onError(error, `${req.method} ${req.path}`);
      sendJson(res, 500, { ok: false, code: 'ERR_INTERNAL', error: 'internal error; see the daebug console' });
    },
  } as object) as unknown as PolkaApp;
  app.use(function guard(req, res, next) {
    try {
      checkHost(req, options.host);
      checkOrigin(req, options.host, options.token);
    } catch (error) {
      const refused = error as HttpError;
      return sendJson(res, refused.status, { ok: false, code: refused.code, error: refused.message });
    }
    next();
  });
  app.get('/-daebug/health', wrap(healthRoute(read)));
  app.get('/-daebug/registry', wrap(registryRoute(read)));
  app.get('/-daebug/logs/:realm', wrap(logRoute(read)));
  app.get('/-daebug/realms/:realm/poll', wrap(pollRoute(realm)));
  app.post('/-daebug/realms/:realm/jobs/:jobId/result', wrap(resultRoute(realm)));
  app.post('/-daebug/realms/:realm/events', wrap(eventsRoute(realm)));
  app.post('/-daebug/realms/:realm/heartbeat', wrap(heartbeatRoute(realm)));
  app.post('/-daebug/realms/:realm/diagnostics', wrap(diagnosticRoute(realm)));
  app.post('/-daebug/realms/:realm/tests/progress', wrap(progressRoute(realm)));
  const tests = { root: options.root, token: options.token, daemon: options.daemon };
  app.get('/-daebug/realms', wrap(realmsRoute(tests)));
  app.post('/-daebug/tests/discover', wrap(discoverRoute(tests)));
  app.post('/-daebug/tests/run', wrap(runRoute(tests)));
  app.get('/-daebug/client.js', wrap(assetRoute('page.js')));
  app.get('/-daebug/worker.js', wrap(assetRoute('worker.js')));
  app.get('/-daebug/node-test.js', wrap(assetRoute('node-test.js')));
  app.get('/-daebug/node-assert.js', wrap(assetRoute('node-assert.js')));
  app.get('/-daebug/node-assert-strict.js', wrap(assetRoute('node-assert-strict.js')));
  app.get('/-daebug/', wrap(adminRoute(options.daemon, options.root)));
  // A page loaded from an earlier run holds that run's token; same-origin code may fetch the new one
  // (no CORS header, so other origins cannot read it). Not offered beyond loopback.
  if (!exposed) app.get('/-daebug/token', wrap(function token(_req, res) {
    sendJson(res, 200, { token: options.token }, { 'cross-origin-resource-policy': 'same-origin' });
  }));

  return new Promise((resolve, reject) => {
    app.listen(options.port, options.host);
    const server = app.server;
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? Object.assign(new Error(`port ${options.port} on ${options.host} is in use`), { code: 'ERR_PORT_TAKEN' }) : error);
    });
    server.once('listening', () => {
      port = (server.address() as AddressInfo).port;
      const shownHost = options.host === '127.0.0.1' || options.host === '::1' || options.host === '0.0.0.0' ? 'localhost' : options.host;
      resolve({
        port,
        url: `http://${shownHost}:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** The part of polka 0.5 used here, typed without its Express-shaped declarations. */
interface PolkaApp {
  use(middleware: (req: Request, res: ServerResponse, next: () => void) => void): PolkaApp;
  get(path: string, handler: Handler): PolkaApp;
  post(path: string, handler: Handler): PolkaApp;
  listen(port: number, host: string): PolkaApp;
  server: Server;
}
