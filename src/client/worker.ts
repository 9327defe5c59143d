/**
 * The worker realm's bootstrap: a module worker started by the page client (for a page on another
 * origin, through a Blob URL of the page's that imports this module). It connects as
 * `<page>-webworker` with a secret the page asks the daemon for (the worker itself holds no token),
 * and answers the page's pings so a hung worker can be restarted.
 */
import { startRealm, type Credentials } from './realm.js';

function main(): void {
  const waiting: { resolve: (credentials: Credentials) => void; reject: (error: Error) => void }[] = [];
  self.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { daebug?: string; id?: number; name?: string; secret?: string; error?: string } | null;
    if (data?.daebug === 'ping') self.postMessage({ daebug: 'pong', id: data.id });
    if (data?.daebug !== 'secret') return;
    for (const { resolve, reject } of waiting.splice(0)) {
      // A page that could not connect the worker now is asked again after a back-off.
      if (data.name && data.secret) resolve({ name: data.name, secret: data.secret });
      else reject(new Error(data.error ?? 'the page gave no secret'));
    }
  });
  startRealm(globalThis, {
    // This module's own origin: a page on another origin starts the worker from a Blob URL that imports it.
    origin: new URL(import.meta.url).origin,
    kind: 'worker',
    connect: () =>
      new Promise<Credentials>((resolve, reject) => {
        waiting.push({ resolve, reject });
        self.postMessage({ daebug: 'renew' });
      }),
  });
}

try {
  main();
} catch (error) {
  console.debug('daebug: the worker realm could not start', error);
}
