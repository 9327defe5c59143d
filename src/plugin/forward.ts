/**
 * How a Vite dev server passes daebug's routes (`/-daebug/*`, HTTP and WebSocket) to the daemon: a
 * middleware and an upgrade listener of the plugin's own, with http-proxy-3, instead of Vite's
 * `server.proxy`. So the dev server's output stays the app's: a page that reloads or closes while its
 * socket or a post is open is an expected disconnect and prints nothing (Vite's proxy printed
 * `ws proxy error: read ECONNRESET` with a stack each time); a daemon that does not answer is one
 * daebug line per outage, not a stack per request.
 */
import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { API_PREFIX, FORWARDED_FOR_HEADER } from '../protocol/routes.js';

/** The forwarder a dev server's plugin installs. */
export interface Forwarder {
  /** Forwards a request for one of daebug's routes; false for any other path (the dev server's). */
  web(req: IncomingMessage, res: ServerResponse): boolean;
  /** Forwards a WebSocket upgrade for one of daebug's routes; false for any other (Vite's hot updates). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
}

/** Errors of a peer that went away: a page reloaded or closed, or the daemon stopped mid-answer. */
const DISCONNECTS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Forwards daebug's routes to the daemon at `target()` (its base URL, asked on each request: the
 * daemon starts as the dev server does). `warn` gets a line when the daemon cannot be reached.
 */
export function createForwarder(target: () => Promise<string>, warn: (message: string) => void): Forwarder {
  const agent = new Agent({ keepAlive: true });
  const proxy = createProxyServer({ agent, ws: true, changeOrigin: false });
  const sockets = new Set<Duplex>();
  let down = false;
  proxy.on('proxyRes', () => (down = false));
  proxy.on('error', (error: NodeJS.ErrnoException, _req, res) => {
    if (!DISCONNECTS.has(error.code ?? '') && !down) {
      down = true;
      warn(`the dev server cannot reach daebug's daemon (${error.message}): daebug's routes answer 502 until it does`);
    }
    if ('writeHead' in res && !res.headersSent) res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`daebug's daemon did not answer: ${error.message}\n`);
    else res.destroy();
  });
  const ours = (req: IncomingMessage) => (req.url ?? '').startsWith(API_PREFIX);
  // The daemon answers a caller beyond loopback (Vite started with --host) as an exposed daemon does
  // (security.ts): whatever the caller sent in this header is replaced by its real address.
  const mark = (req: IncomingMessage) => (req.headers[FORWARDED_FOR_HEADER] = req.socket.remoteAddress ?? '');
  const failed = (error: Error, res: ServerResponse) => {
    warn(`daebug's daemon did not start: ${error.message}`);
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`daebug's daemon did not start: ${error.message}\n`);
  };
  return {
    web(req, res) {
      if (!ours(req)) return false;
      mark(req);
      target().then((url) => proxy.web(req, res, { target: url }), (error: Error) => failed(error, res));
      return true;
    },
    upgrade(req, socket, head) {
      if (!ours(req)) return false;
      mark(req);
      // A page that goes away resets its socket: nothing to say, and nothing may be left unhandled.
      socket.on('error', () => socket.destroy());
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      target().then((url) => proxy.ws(req, socket, head, { target: url }), () => socket.destroy());
      return true;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      agent.destroy();
    },
  };
}
