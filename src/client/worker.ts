/**
 * The worker realm's bootstrap, in every worker daebug makes a realm: the app's own workers (the daemon
 * adds it to their scripts, or the page client wraps a Blob worker, see worker-hook.ts), and daebug's
 * helper worker `<page>-webworker`. Built twice: an ES module (`worker.js`, imported) and a classic
 * script (`worker-classic.js`, for `importScripts`).
 *
 * The app must not notice it: it says one thing on the app's channel, a hello carrying the port of a
 * `MessageChannel` of daebug's own, which the page client takes off before the app's listeners run;
 * everything else goes over that port (credentials, pings) or over HTTP to the daemon. It sets no
 * `onmessage`, changes no `self.name`, and adds only `__daebug` to the global scope, as in the page.
 * The worker holds no token: it asks its page for credentials, and the page connects it.
 */
import { WORKER_HELLO, type WorkerHello, type WorkerPortMessage } from '../protocol/messages.js';
import { routePath } from '../protocol/routes.js';
import { startRealm, type Credentials } from './realm.js';
import { hookWorkers } from './worker-hook.js';

/** True in the classic build (set by tsup): loaded by `importScripts`, maybe from another origin. */
declare const __DAEBUG_CLASSIC__: boolean;

function main(): void {
  const scope = globalThis as unknown as { __daebug?: unknown; postMessage?: (message: unknown, transfer: Transferable[]) => void; location: Location };
  // A shared worker has no page to talk to; a worker may load the client twice (a hand-written line and daebug's).
  if (scope.__daebug || typeof scope.postMessage !== 'function' || typeof MessageChannel !== 'function') return;
  let name = '';
  let origin = '';
  scope.__daebug = {
    get realm() {
      return name;
    },
  };
  const channel = new MessageChannel();
  const port = channel.port1;
  const waiting: { resolve: (credentials: Credentials) => void; reject: (error: Error) => void }[] = [];
  port.onmessage = (event: MessageEvent) => {
    const message = event.data as WorkerPortMessage;
    if (message.type === 'ping') port.postMessage({ type: 'pong', id: message.id } satisfies WorkerPortMessage);
    if (message.type !== 'credentials' && message.type !== 'no-credentials') return;
    if (message.type === 'credentials') ({ name, origin } = message);
    for (const { resolve, reject } of waiting.splice(0)) {
      // A page that could not connect the worker now is asked again after a back-off.
      if (message.type === 'credentials') resolve({ name: message.name, secret: message.secret });
      else reject(new Error(message.error));
    }
  };
  scope.postMessage({ daebugWorker: WORKER_HELLO } satisfies WorkerHello, [channel.port2]);
  const realm = startRealm(globalThis, {
    origin: () => origin,
    kind: 'worker',
    // A classic script from another origin has its errors muted, and so has code it compiles.
    compilerUrl: () => (__DAEBUG_CLASSIC__ && origin !== new URL(scope.location.href).origin ? `${origin}${routePath('evaluate')}` : undefined),
    connect: () =>
      new Promise<Credentials>((resolve, reject) => {
        waiting.push({ resolve, reject });
        port.postMessage({ type: 'renew' } satisfies WorkerPortMessage);
      }),
  });
  // The workers this worker starts are realms too, named after it.
  hookWorkers(globalThis, realm, () => name);
}

try {
  main();
} catch (error) {
  console.debug('daebug: the worker realm could not start', error);
}
