/**
 * A realm waits for its jobs on a WebSocket to the daemon (src/transport/realm-socket.ts): it sends
 * `poll`, gets one answer (a job, a test run, or `idle` when the daemon's poll timeout passes), and
 * asks again, as it would with long-polls, but without holding one of the browser's six connections
 * per origin, which the page's own requests need. It answers the daemon's `ping` with `beat`, which
 * tells the daemon its thread still runs.
 */
import type { PollAnswer } from '../protocol/messages.js';
import { SOCKET_PROTOCOL, SOCKET_SECRET_PREFIX, routePath } from '../protocol/routes.js';
import type { Credentials } from './connection.js';

/** Sockets that never open before the realm settles for HTTP long-polls. */
export const SOCKET_TRIES = 2;
/** The daemon's close code for a secret it does not know. */
const WRONG_SECRET = 4401;

/**
 * How a socket ended: `refused` (the secret is stale: connect again), `closed` (it was open: the
 * daemon went away or stops) or `unavailable` (it never opened).
 */
export type SocketEnd = 'refused' | 'closed' | 'unavailable';

/** Listens for jobs until the socket ends; `onOpen` is told once it is open. */
export function listenOnSocket(origin: string, own: Credentials, handle: (answer: PollAnswer) => void, onOpen: () => void): Promise<SocketEnd> {
  return new Promise((resolve) => {
    let opened = false;
    let socket: WebSocket;
    try {
      socket = new WebSocket(`${origin.replace(/^http/, 'ws')}${routePath('socket', { realm: own.name })}`, [SOCKET_PROTOCOL, `${SOCKET_SECRET_PREFIX}${own.secret}`]);
    } catch {
      // A policy that forbids the URL throws here, in some browsers.
      return resolve('unavailable');
    }
    socket.addEventListener('open', () => {
      opened = true;
      onOpen();
      socket.send('poll');
    });
    socket.addEventListener('message', (event: MessageEvent) => {
      // The daemon's ping: this thread is free to answer it, so it is not blocked.
      if (event.data === 'ping') return socket.send('beat');
      let answer: PollAnswer;
      try {
        answer = JSON.parse(String(event.data)) as PollAnswer;
      } catch {
        return;
      }
      // Ask for the next one first: a job that never settles must not hold up the next.
      socket.send('poll');
      handle(answer);
    });
    socket.addEventListener('close', (event: CloseEvent) => {
      resolve(event.code === WRONG_SECRET ? 'refused' : opened ? 'closed' : 'unavailable');
    });
  });
}
