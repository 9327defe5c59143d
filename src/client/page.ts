/**
 * The page client, injected into every HTML page daebug serves (and loadable by pages served
 * elsewhere). It names the realm and connects it with the page token from its own script URL; the
 * name and the realm's secret are kept in sessionStorage, so a reload keeps the name and the log. It
 * also starts the `<name>-webworker` realm, connects it with the page's own secret, and restarts it
 * when it stops answering pings.
 */
import type { ConnectAnswer } from '../protocol/messages.js';
import { ROUTES, TOKEN_HEADER, routePath } from '../protocol/routes.js';
import { startRealm, type Connected, type Credentials } from './realm.js';

const PING_MS = 2_000;
const HANG_MS = 10_000;
const WORDS = ['zen', 'oak', 'fox', 'sky', 'ivy', 'elm', 'bay', 'jet', 'owl', 'ray', 'sun', 'dew', 'fig', 'kit', 'log', 'max'];
const KEPT_KEY = 'daebug-realm';

/** The name (and secret) this tab had before a reload, or a new name. */
function keptRealm(): { name: string; secret?: string } {
  try {
    const kept = sessionStorage.getItem(KEPT_KEY);
    if (kept?.startsWith('{')) return JSON.parse(kept) as { name: string; secret?: string };
    // 0.1.0 kept the bare name.
    if (kept) return { name: kept };
  } catch {
    // Storage may be blocked (sandboxed frames); the page then gets a new name per load.
  }
  const fresh = { name: newName() };
  keep(fresh);
  return fresh;
}

function keep(realm: { name: string; secret?: string }): void {
  try {
    sessionStorage.setItem(KEPT_KEY, JSON.stringify(realm));
  } catch {
    // See keptRealm.
  }
}

function newName(): string {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(Math.random() * 100))}-${WORDS[Math.floor(Math.random() * WORDS.length)]}-${two(now.getHours())}${two(now.getMinutes())}-${two(now.getSeconds())}`;
}

/**
 * Connects the page: with the page token, under the kept name and secret. A name another tab holds
 * gets a new name; a token of an earlier daemon run is replaced by the current one (same origin only).
 */
function pageConnector(origin: string, firstToken: string): () => Promise<Credentials | null> {
  let token = firstToken;
  return async () => {
    let realm = keptRealm();
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await fetch(`${origin}${ROUTES.connect.path}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', [TOKEN_HEADER]: token },
        body: JSON.stringify({ name: realm.name, url: location.href, ...(realm.secret ? { secret: realm.secret } : {}) }),
      });
      if (response.ok) {
        const answer = (await response.json()) as ConnectAnswer;
        keep({ name: answer.realm, secret: answer.secret });
        return { name: answer.realm, secret: answer.secret };
      }
      if (response.status === 409) {
        realm = { name: newName() };
        keep(realm);
      } else if (response.status === 401) {
        const fresh = await fetch(`${origin}${ROUTES.pageToken.path}`, { cache: 'no-store' }).then((reply) => (reply.ok ? (reply.json() as Promise<{ token: string }>) : null)).catch(() => null);
        if (!fresh) return null;
        token = fresh.token;
      } else {
        throw new Error(`connect answered ${response.status}`);
      }
    }
    return null;
  };
}

/** Starts daebug's worker realm and keeps it alive; it asks the page for its secret (`renew`). */
function startWorker(origin: string, page: Connected, pageName: string, report: (message: string) => void): void {
  const workerName = `${pageName}-webworker`;
  const url = `${origin}${routePath('worker')}?name=${encodeURIComponent(workerName)}`;
  let worker: Worker | null = null;
  let lastPong = Date.now();
  let sequence = 0;

  const giveSecret = async (target: Worker) => {
    const body = { name: workerName, url: location.href };
    let response = await page.call('connectWorker', body);
    // The page's own secret was stale (the daemon restarted): the call made it connect again.
    if (response?.status === 401) response = await page.call('connectWorker', body);
    if (!response?.ok) return target.postMessage({ daebug: 'secret', error: `cannot connect the worker (${response?.status ?? 'daemon unreachable'})` });
    const answer = (await response.json()) as ConnectAnswer;
    target.postMessage({ daebug: 'secret', name: answer.realm, secret: answer.secret });
  };

  const launch = () => {
    try {
      const started = new Worker(url, { type: 'module', name: workerName });
      worker = started;
      lastPong = Date.now();
      started.addEventListener('message', (event: MessageEvent) => {
        const data = event.data as { daebug?: string } | null;
        if (data?.daebug === 'pong') lastPong = Date.now();
        else if (data?.daebug === 'renew') void giveSecret(started).catch((error) => report(`cannot connect the worker: ${String(error)}`));
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
      worker = null;
      const reason = `no answer to pings for ${HANG_MS / 1000} s`;
      // The daemon hears of the restart before the new worker connects under the same name.
      void page.call('heartbeat', { worker: { name: workerName, state: 'restarted', reason } }).finally(launch);
      return;
    }
    worker.postMessage({ daebug: 'ping', id: ++sequence });
  }, PING_MS);
}

function main(): void {
  const script = document.currentScript as HTMLScriptElement | null;
  const source = new URL(script?.src ?? routePath('client'), location.href);
  const token = source.searchParams.get('t') ?? '';
  const connect = pageConnector(source.origin, token);
  let name = keptRealm().name;
  let workerStarted = false;
  const page: Connected = startRealm(globalThis, {
    origin: source.origin,
    kind: 'page',
    nonce: script?.nonce || undefined,
    connect: async () => {
      const credentials = await connect();
      if (credentials) name = credentials.name;
      // The worker is named after the page, so it starts once the page knows its name.
      if (credentials && !workerStarted) {
        workerStarted = true;
        startWorker(source.origin, page, name, page.report);
      }
      return credentials;
    },
  });
  (globalThis as { __daebug?: unknown }).__daebug = {
    get realm() {
      return name;
    },
    get worker() {
      return `${name}-webworker`;
    },
  };
}

try {
  main();
} catch (error) {
  console.debug('daebug: the client could not start', error);
}
