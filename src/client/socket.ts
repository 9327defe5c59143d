/**
 * How a realm waits for its jobs: on a WebSocket to the daemon (src/transport/realm-socket.ts), or
 * over HTTP long-polls where no socket opens (`waitForJobs`). On the socket it sends
 * `poll`, gets one answer (a job, a test run, or `idle` when the daemon's poll timeout passes), and
 * asks again, as it would with long-polls, but without holding one of the browser's six connections
 * per origin, which the page's own requests need. It answers the daemon's `ping` with `beat`, which
 * tells the daemon its thread still runs.
 */
import type { PollAnswer } from '../protocol/messages.js';
import { SECRET_HEADER, SOCKET_PROTOCOL, SOCKET_SECRET_PREFIX, routePath } from '../protocol/routes.js';
import type { Connection, Credentials } from './connection.js';

/** Sockets that never open before the realm settles for HTTP long-polls. */
const SOCKET_TRIES = 2;
const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;
/** The daemon's close code for a secret it does not know. */
const WRONG_SECRET = 4401;

/**
 * How a socket ended: `refused` (the secret is stale: connect again), `closed` (it was open: the
 * daemon went away or stops) or `unavailable` (it never opened).
 */
export type SocketEnd = 'refused' | 'closed' | 'unavailable';

/** Listens for jobs until the socket ends; `onOpen` is told once it is open. */
function listenOnSocket(origin: string, own: Credentials, handle: (answer: PollAnswer) => void, onOpen: () => void): Promise<SocketEnd> {
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

/**
 * The realm's loop: waits for jobs on its socket, or over HTTP long-polls where a socket never opened
 * (a proxy or a policy in the way), and hands each answer to `handle`. It connects again when the
 * daemon forgot the realm's secret, backs off while the daemon cannot be reached, and ends when
 * connecting gives up.
 */
export async function waitForJobs(connection: Connection, origin: () => string, handle: (answer: PollAnswer) => void, debug: (message: string) => void): Promise<void> {
  const socketable = typeof WebSocket === 'function';
  let socketOpened = false;
  let socketFailures = 0;
  let backoff = MIN_BACKOFF_MS;
  const wait = async () => {
    await new Promise((resolve) => setTimeout(resolve, backoff));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };
  for (;;) {
    let own: Credentials | null;
    try {
      own = await connection.current();
    } catch {
      await wait();
      continue;
    }
    if (!own) return;
    if (socketable && (socketOpened || socketFailures < SOCKET_TRIES)) {
      const ended = await listenOnSocket(origin(), own, handle, () => {
        socketOpened = true;
        backoff = MIN_BACKOFF_MS;
      });
      if (ended === 'refused') connection.forget(own);
      else if (ended === 'unavailable' && !socketOpened && ++socketFailures === SOCKET_TRIES) debug('daebug: no WebSocket to the daemon; waiting for jobs over HTTP instead');
      else await wait();
      continue;
    }
    const answer = await longPoll(origin(), own, connection);
    if (answer === 'again') continue;
    if (answer === null) {
      await wait();
      continue;
    }
    backoff = MIN_BACKOFF_MS;
    handle(answer);
  }
}

/** One HTTP long-poll: its answer, `again` when the secret was stale (forgotten, to connect again), null when the daemon could not be reached. */
async function longPoll(origin: string, own: Credentials, connection: Connection): Promise<PollAnswer | 'again' | null> {
  try {
    const response = await fetch(`${origin}${routePath('poll', { realm: own.name })}`, { cache: 'no-store', headers: { [SECRET_HEADER]: own.secret } });
    if (response.status === 401) {
      connection.forget(own);
      return 'again';
    }
    return response.ok ? ((await response.json()) as PollAnswer) : null;
  } catch {
    return null;
  }
}
