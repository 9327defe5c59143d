/**
 * The worker realm's bootstrap: a module worker started by the page client. It connects as
 * `<page>-webworker` and answers the page's pings so a hung worker can be restarted.
 */
import { startRealm } from './realm.js';

function main(): void {
  const params = new URL(self.location.href).searchParams;
  const name = params.get('name') ?? 'webworker';
  startRealm(globalThis, { origin: self.location.origin, token: params.get('t') ?? '', name, kind: 'worker', url: params.get('page') ?? self.location.href });
  self.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { daebug?: string; id?: number } | null;
    if (data?.daebug === 'ping') self.postMessage({ daebug: 'pong', id: data.id });
  });
}

try {
  main();
} catch (error) {
  console.debug('daebug: the worker realm could not start', error);
}
