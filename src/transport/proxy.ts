/**
 * `--proxy`: every request that is not daebug's own goes to the dev server. http-proxy-3 forwards
 * the request with its method, headers and body, and WebSocket upgrades (hot reload); daebug passes
 * the answers on itself (proxied-answer.ts), since any of them may need its head rewritten and pages
 * need a new body. A dev server that does not answer gets a 502 page naming it, and one line in the
 * daemon's output per outage.
 */
import { Agent as HttpAgent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { isLoopbackName, isPageRequest, passAnswer, preparePageRequest } from './proxied-answer.js';
import { isWorkerScriptRequest } from './worker-script.js';

/** How to proxy. */
export interface ProxyOptions {
  /** The dev server: an origin, such as `http://localhost:5173`. */
  target: URL;
  /** Injects daebug's client into a page; its tags carry `nonce`. */
  inject(html: string, nonce: string): string;
  /** Adds daebug's worker client to one of the app's worker scripts. */
  injectWorker(source: string): string;
  /** A line for the daemon's output: the dev server stopped or started answering. */
  say(level: 'info' | 'warn', message: string): void;
  /** Something daebug cannot do for the dev server's pages, for the output and the registry; each once. */
  notice(message: string): void;
  /** daebug's own modules by specifier (`node:test` → `/-daebug/node-test.js`): they stand in for a dev server's browser stubs. */
  modules: Readonly<Record<string, string>>;
}

/** The proxy, as the server uses it. */
export interface Proxy {
  /** Forwards a request and passes its answer on. */
  web(req: IncomingMessage, res: ServerResponse): void;
  /** Forwards a WebSocket upgrade (the server has checked its Host). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes the WebSockets it carries and the connections kept open to the dev server. */
  close(): void;
}

/** Marks the requests daebug forwards: one that comes back is a --proxy that points at daebug itself. */
const HOP_HEADER = 'x-daebug-proxied';

/** Errors of a dev server that is not there (as opposed to one that broke off an answer). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Creates the proxy to `options.target`. */
export function createProxy(options: ProxyOptions): Proxy {
  const target = options.target.origin;
  const loopback = isLoopbackName(options.target.hostname);
  // Kept-alive connections: a new one per request costs a dev server's page of 100 modules dearly.
  const agent = options.target.protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const proxy = createProxyServer({
    // A URL, not its text: http-proxy-3 parses a text target again for every request.
    target: options.target,
    agent,
    ws: true,
    xfwd: true,
    // Pages talk to daebug's origin; the Host stays the browser's (see docs/daemon.md, Proxy).
    changeOrigin: !loopback,
    // A dev server on this machine with HTTPS has a certificate of its own making.
    secure: !loopback,
    selfHandleResponse: true,
    headers: { [HOP_HEADER]: '1' },
  });
  const reported = new Set<string>();
  const sockets = new Set<Duplex>();
  let down = false;

  const context = {
    target: options.target,
    inject: options.inject,
    injectWorker: options.injectWorker,
    problem(text: string, path: string) {
      if (reported.has(text)) return;
      reported.add(text);
      options.notice(`${target} (first seen on ${path.slice(0, 200)}): ${text}`);
    },
  };
  proxy.on('proxyRes', (proxyRes, req, res) => {
    if (down) {
      down = false;
      options.say('info', `${target} answers again`);
    }
    void passAnswer(proxyRes, req, res, context).catch(() => res.destroy());
  });
  proxy.on('error', (error: NodeJS.ErrnoException, req, res) => {
    const unreachable = UNREACHABLE.has(error.code ?? '');
    if (unreachable && !down) {
      down = true;
      options.say('warn', `cannot reach ${target} (${error.message}): pages get a 502 page until it answers`);
    }
    if (!('writeHead' in res)) {
      // A WebSocket upgrade: refused before it began, or cut off afterwards.
      if (unreachable && res.writable) res.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else res.destroy();
      return;
    }
    if (res.headersSent) return void res.destroy();
    sendBadGateway(res, target, `${req.method ?? 'GET'} ${target}${req.url ?? '/'}`, error);
  });

  return {
    web(req, res) {
      // daebug's own answers are never sniffed; the dev server's keep whatever it decided.
      res.removeHeader('x-content-type-options');
      if (req.headers[HOP_HEADER] !== undefined) {
        return sendBadGateway(res, target, `${req.method ?? 'GET'} ${target}${req.url ?? '/'}`, Object.assign(new Error(`${target} is this daebug itself: --proxy must name the dev server`), { code: 'ERR_PROXY_LOOP' }));
      }
      const module = standIn(req.url ?? '/', options.modules);
      if (module !== null) return void res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(module);
      if (isPageRequest(req) || isWorkerScriptRequest(req)) preparePageRequest(req);
      proxy.web(req, res);
    },
    upgrade(req, socket, head) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      proxy.ws(req, socket, head);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
    },
  };
}

/**
 * For Vite's browser stub of `node:test` or `node:assert` (`/@id/__vite-browser-external:node:test`,
 * which throws on any use), a module of daebug's that stands in for it: a TypeScript test file Vite
 * compiles for `--test` then gets daebug's runner. Vite reads named imports of a stub off its default
 * export, so the default is the module (or its own default: `assert`). Null for any other path.
 */
function standIn(url: string, modules: Readonly<Record<string, string>>): string | null {
  const match = /^\/@id\/__vite-browser-external:([^?#]+)(?:[?#]|$)/.exec(url);
  let specifier: string | null = null;
  try {
    specifier = match ? decodeURIComponent(match[1]!) : null;
  } catch {
    // A malformed escape is no stub of daebug's: the dev server answers it.
  }
  if (specifier === null || !Object.hasOwn(modules, specifier)) return null;
  const path = JSON.stringify(modules[specifier]);
  return `import * as daebug from ${path};\nexport * from ${path};\nexport default 'default' in daebug ? daebug.default : daebug;\n`;
}

/** The 502 page: what daebug tried and what went wrong. */
function sendBadGateway(res: ServerResponse, target: string, tried: string, error: NodeJS.ErrnoException): void {
  const page =
    `<!doctype html><html><head><meta charset="utf-8"><title>502 · daebug cannot reach ${escapeHtml(target)}</title></head><body>\n` +
    `<h1>502 Bad Gateway: daebug cannot reach ${escapeHtml(target)}</h1>\n` +
    `<p>daebug runs with <code>--proxy ${escapeHtml(target)}</code> and forwards every request outside <code>/-daebug/</code> to that server.</p>\n` +
    `<p>It tried <code>${escapeHtml(tried)}</code> and got: <code>${escapeHtml(error.message)}</code>${error.code ? ` (<code>${escapeHtml(error.code)}</code>)` : ''}.</p>\n` +
    `<p>Is the dev server running on that address? Start it, then reload this page.</p>\n</body></html>\n`;
  res.writeHead(502, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(page) });
  res.end(page);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
