/**
 * A realm's link to one worker it started (an app's worker, or daebug's helper): it takes the worker's
 * hello off the app's channel, then talks over the port the hello carried. It connects the worker
 * with its own secret when the worker asks (a worker holds no token), pings it, and tells the daemon
 * when it stops answering, answers again, or is terminated.
 */
import { WORKER_HELLO, type ConnectAnswer, type WorkerHealth, type WorkerPortMessage } from '../protocol/messages.js';
import type { Connected } from './realm.js';

const PING_MS = 2_000;
/** A worker that answers no ping for this long is hung. */
export const HANG_MS = 10_000;

/** Who the worker is and what to do when it hangs. */
export interface WorkerLinkOptions {
  /** The realm that started it; it connects the worker with its own secret. */
  parent: Connected;
  /** The worker's realm name, read when it connects (its parent's name may have changed since it started). */
  name(): string;
  /** Its script's URL (`blob:` for a Blob), for the registry. */
  script: string;
  /** daebug's own helper worker. */
  helper?: boolean;
  /** It answered no ping for HANG_MS; `reason` says so. */
  onHung(reason: string): void;
}

/** A linked worker. */
export interface WorkerLink {
  /** The name the daemon connected it under, once it has. */
  readonly name: string | null;
  /** True once the worker said hello: its script loaded daebug's client. */
  readonly linked: boolean;
  /** The worker ended: no more pings; with a reason, the daemon hears it was terminated, and why. */
  end(reason?: string): void;
  /** Tells the daemon about the worker's health. */
  report(state: WorkerHealth, reason?: string): void;
}

/** True for a worker realm's hello (see messages.ts); nothing an app sends looks like it. */
function isHello(event: MessageEvent): boolean {
  try {
    return event.ports.length === 1 && (event.data as { daebugWorker?: unknown } | null)?.daebugWorker === WORKER_HELLO;
  } catch {
    return false;
  }
}

/** Links `worker`: call it right after the worker is made, so the hello listener runs before any of the app's. */
export function linkWorker(worker: Worker, options: WorkerLinkOptions): WorkerLink {
  const { parent } = options;
  let port: MessagePort | null = null;
  let connectedName: string | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  let lastPong = 0;
  let hung = false;
  let ended = false;
  let sequence = 0;

  const send = (message: WorkerPortMessage) => port?.postMessage(message);
  const report = (state: WorkerHealth, reason?: string) => {
    if (connectedName) void parent.call('heartbeat', { worker: { name: connectedName, state, ...(reason ? { reason } : {}) } });
  };
  const giveCredentials = async () => {
    const body = { name: options.name(), url: options.script, ...(options.helper ? { helper: true } : {}) };
    let response = await parent.call('connectWorker', body);
    // The parent's own secret was stale (the daemon restarted): the call made it connect again.
    if (response?.status === 401) response = await parent.call('connectWorker', body);
    if (!response?.ok) return send({ type: 'no-credentials', error: `cannot connect the worker (${response?.status ?? 'daemon unreachable'})` });
    const answer = (await response.json()) as ConnectAnswer;
    connectedName = answer.realm;
    send({ type: 'credentials', name: answer.realm, secret: answer.secret, origin: parent.origin() });
  };
  const ping = () => {
    if (!hung && Date.now() - lastPong > HANG_MS) {
      hung = true;
      options.onHung(`no answer to pings for ${HANG_MS / 1000} s`);
    }
    if (!ended) send({ type: 'ping', id: ++sequence });
  };
  const onPortMessage = (event: MessageEvent) => {
    const message = event.data as WorkerPortMessage;
    if (message.type === 'renew') void giveCredentials().catch((error) => parent.report(`cannot connect the worker: ${String(error)}`));
    if (message.type !== 'pong') return;
    lastPong = Date.now();
    if (hung) {
      hung = false;
      report('alive');
    }
  };
  const onHello = (event: MessageEvent) => {
    if (!isHello(event)) return;
    // The app's own listeners on this worker never see daebug's hello.
    event.stopImmediatePropagation();
    worker.removeEventListener('message', onHello);
    if (ended) return;
    port = event.ports[0]!;
    port.onmessage = onPortMessage;
    lastPong = Date.now();
    timer = setInterval(ping, PING_MS);
  };
  worker.addEventListener('message', onHello);

  return {
    get name() {
      return connectedName;
    },
    get linked() {
      return port !== null;
    },
    end(reason) {
      if (ended) return;
      ended = true;
      if (timer) clearInterval(timer);
      port?.close();
      if (reason) report('terminated', reason);
    },
    report,
  };
}
