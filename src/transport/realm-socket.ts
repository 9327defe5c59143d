/**
 * A browser realm's WebSocket (`/-daebug/realms/<realm>/socket`): the long-poll of the realm API
 * without an HTTP connection held for it. A browser keeps six connections per origin; a page, its
 * worker and each of the app's workers holding one each for their long-polls would leave the page's
 * own requests to the same origin queued behind them. WebSockets do not count against that pool.
 *
 * The exchange mirrors a long-poll, so a realm that stops asking stops looking alive: the realm sends
 * `poll`, the daemon answers with one poll answer (a job, a test run, or `idle` after the poll
 * timeout), and the realm asks again. Results and events still go over HTTP. The realm's secret comes
 * as a subprotocol (`daebug-secret.<secret>`, since a browser cannot set headers on a WebSocket); a
 * wrong one is accepted and closed at once with code 4401, so the realm knows to connect again.
 *
 * The daemon also sends `ping` every second and the realm answers `beat` from its message handler,
 * which runs only while its thread is free: a realm whose thread is blocked shows as not responding
 * within seconds (a timer in the realm would not do: browsers run a hidden tab's timers once a
 * minute). A closed socket tells the daemon the realm may be gone (realms.ts, closeGraceMs).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RealmApi } from '../daemon/contract.js';
import { SOCKET_PROTOCOL, SOCKET_SECRET_PREFIX } from '../protocol/routes.js';

/** Close code for a secret the daemon does not know (the realm connects again). */
export const CLOSE_WRONG_SECRET = 4401;
/** Close code for a daemon that is stopping or still starting. */
const CLOSE_GOING_AWAY = 1001;
/** A realm asks for its next job with this message. */
const POLL_MESSAGE = 'poll';
/** The daemon asks every second whether the realm's thread still runs; the realm answers with a beat. */
const PING_MESSAGE = 'ping';
const BEAT_MESSAGE = 'beat';
const PING_MS = 1_000;

/** Accepts realm sockets; the server has checked the Host and the Origin already. */
export interface RealmSockets {
  /** Takes over an upgrade request for the realm named in its path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, realmName: string): void;
  /** Closes every realm socket. */
  close(): void;
}

export function createRealmSockets(realmApi: () => RealmApi | null): RealmSockets {
  const server = new WebSocketServer({
    noServer: true,
    // Small messages only: the realm sends `poll` and `beat`.
    maxPayload: 1024,
    handleProtocols: (protocols) => (protocols.has(SOCKET_PROTOCOL) ? SOCKET_PROTOCOL : false),
  });
  return {
    upgrade(req, socket, head, realmName) {
      server.handleUpgrade(req, socket, head, (ws) => serveRealm(ws, realmName, secretOf(req), realmApi()));
    },
    close() {
      for (const ws of server.clients) ws.close(CLOSE_GOING_AWAY, 'daebug stops');
      server.close();
    },
  };
}

/** Answers the realm's `poll` messages one at a time and counts its beats, until the socket closes (which the daemon is told). */
function serveRealm(ws: WebSocket, realmName: string, secret: string | undefined, api: RealmApi | null): void {
  if (!api) return ws.close(CLOSE_GOING_AWAY, 'daebug is starting');
  if (!api.authenticate(realmName, secret)) return ws.close(CLOSE_WRONG_SECRET, 'wrong realm secret: connect again');
  // The socket's opening is its first sign of life: a job taken before the first ping is watched too.
  api.beat(realmName);
  let waiting: AbortController | null = null;
  const pinger = setInterval(() => ws.readyState === ws.OPEN && ws.send(PING_MESSAGE), PING_MS);
  pinger.unref();
  ws.on('message', (data, isBinary) => {
    const message = isBinary ? '' : data.toString();
    if (message !== POLL_MESSAGE && message !== BEAT_MESSAGE) return ws.close(1003, 'a realm socket takes "poll" and "beat" only');
    // The realm's secret may have changed since (it connected again): the socket is for the old one.
    if (!api.authenticate(realmName, secret)) return ws.close(CLOSE_WRONG_SECRET, 'wrong realm secret: connect again');
    if (message === BEAT_MESSAGE) return api.beat(realmName);
    waiting?.abort();
    const abort = new AbortController();
    waiting = abort;
    void api.poll(realmName, abort.signal).then((answer) => {
      if (waiting === abort) waiting = null;
      // An aborted poll's idle is for nobody (the socket is gone, or a newer poll took its place); a job is always sent.
      if ((answer.type !== 'idle' || !abort.signal.aborted) && ws.readyState === ws.OPEN) ws.send(JSON.stringify(answer));
    });
  });
  ws.on('close', () => {
    clearInterval(pinger);
    waiting?.abort();
    api.socketClosed(realmName, secret);
  });
  ws.on('error', () => ws.terminate());
}

/** The realm's secret, from its subprotocols. */
function secretOf(req: IncomingMessage): string | undefined {
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((name) => name.trim());
  return offered.find((name) => name.startsWith(SOCKET_SECRET_PREFIX))?.slice(SOCKET_SECRET_PREFIX.length);
}
