/**
 * The page client, injected into every HTML page daebug serves (and loadable by pages served
 * elsewhere). It names the realm (kept in sessionStorage, so a reload keeps the name and the log),
 * connects it, and starts the `<name>-webworker` realm, which it pings and restarts when it hangs.
 */
import { startRealm } from './realm.js';

const PING_MS = 2_000;
const HANG_MS = 10_000;
const WORDS = ['zen', 'oak', 'fox', 'sky', 'ivy', 'elm', 'bay', 'jet', 'owl', 'ray', 'sun', 'dew', 'fig', 'kit', 'log', 'max'];

function realmName(): string {
  const key = 'daebug-realm';
  try {
    const kept = sessionStorage.getItem(key);
    if (kept) return kept;
  } catch {
    // Storage may be blocked (sandboxed frames); the page then gets a new name per load.
  }
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  const name = `${two(Math.floor(Math.random() * 100))}-${WORDS[Math.floor(Math.random() * WORDS.length)]}-${two(now.getHours())}${two(now.getMinutes())}-${two(now.getSeconds())}`;
  try {
    sessionStorage.setItem(key, name);
  } catch {
    // See above.
  }
  return name;
}

function startWorker(origin: string, token: string, name: string, page: string, report: (message: string) => void): void {
  const workerName = `${name}-webworker`;
  const url = `${origin}/-daebug/worker.js?t=${token}&name=${encodeURIComponent(workerName)}&page=${encodeURIComponent(page)}`;
  let worker: Worker | null = null;
  let lastPong = Date.now();
  let sequence = 0;

  const launch = () => {
    try {
      worker = new Worker(url, { type: 'module', name: workerName });
      lastPong = Date.now();
      worker.addEventListener('message', (event: MessageEvent) => {
        if ((event.data as { daebug?: string } | null)?.daebug === 'pong') lastPong = Date.now();
      });
    } catch (error) {
      // Pages served by another origin cannot start a worker from daebug's; the page realm still works.
      report(`no worker realm for this page: ${String(error)}`);
      worker = null;
    }
  };

  launch();
  if (!worker) return;
  setInterval(() => {
    if (!worker) return;
    if (Date.now() - lastPong > HANG_MS) {
      worker.terminate();
      launch();
      const reason = `no answer to pings for ${HANG_MS / 1000} s`;
      void fetch(`${origin}/-daebug/realms/${encodeURIComponent(name)}/heartbeat?t=${token}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: JSON.stringify({ worker: { name: workerName, state: 'restarted', reason } }),
      }).catch(() => {});
      return;
    }
    worker.postMessage({ daebug: 'ping', id: ++sequence });
  }, PING_MS);
}

function main(): void {
  const script = document.currentScript as HTMLScriptElement | null;
  const source = new URL(script?.src ?? '/-daebug/client.js', location.href);
  const token = source.searchParams.get('t') ?? '';
  const name = realmName();
  const { report } = startRealm(globalThis, { origin: source.origin, token, name, kind: 'page', url: location.href });
  (globalThis as { __daebug?: unknown }).__daebug = { realm: name, worker: `${name}-webworker` };
  startWorker(source.origin, token, name, location.href, report);
}

try {
  main();
} catch (error) {
  console.debug('daebug: the client could not start', error);
}
