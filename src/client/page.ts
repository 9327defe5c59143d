/**
 * The page client, injected into every HTML page daebug serves, and loaded by a script tag in pages
 * served elsewhere (`<script src="http://localhost:<port>/-daebug/client.js">` on a dev server). It
 * names the realm and connects it with the page token from its own script URL, or, without one, asks
 * the daemon for it (the daemon answers loopback origins and those given with --allow-origin, and
 * tells others why not); the name and the realm's secret are kept in sessionStorage, so a reload keeps
 * the name and the log. Every worker the page starts becomes a realm (worker-hook.ts), and so does
 * daebug's helper worker `<name>-webworker`, which it restarts when it stops answering pings. A page
 * that has the client twice runs it once.
 */
import type { ConnectAnswer } from '../protocol/messages.js';
import { ROUTES, TOKEN_HEADER, routePath } from '../protocol/routes.js';
import { startRealm, type Connected, type Credentials } from './realm.js';
import { hookWorkers } from './worker-hook.js';
import { linkWorker } from './worker-link.js';

/** The helper worker waits at most this long for the page to load. */
const LOAD_WAIT_MS = 3_000;
/** The helper worker is `<page>-webworker`; no app worker gets that name. */
const HELPER = 'webworker';
// Before the app can replace them (worker-hook.ts does): the helper is daebug's own, no app worker.
const OriginalWorker = globalThis.Worker;
const originalCreateObjectURL = URL.createObjectURL.bind(URL);
const WORDS = ['zen', 'oak', 'fox', 'sky', 'ivy', 'elm', 'bay', 'jet', 'owl', 'ray', 'sun', 'dew', 'fig', 'kit', 'log', 'max'];
const KEPT_KEY = 'daebug-realm';
// The page's console as it was before capture wraps it: what the client says to the user is not an event of the page.
const say = { error: console.error.bind(console), warn: console.warn.bind(console), debug: console.debug.bind(console) };

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
 * gets a new name; without a token, or with one of an earlier daemon run, the page asks for the
 * current one.
 */
function pageConnector(origin: string, firstToken: string): () => Promise<Credentials | null> {
  let token = firstToken;
  return async () => {
    if (!token) {
      const fresh = await currentToken(origin);
      if (!fresh) return null;
      token = fresh;
    }
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
        const fresh = await currentToken(origin);
        if (!fresh) return null;
        token = fresh;
      } else if (response.status === 403) {
        say.error(`daebug: ${await refusalOf(response)}`);
        return null;
      } else {
        throw new Error(`connect answered ${response.status}`);
      }
    }
    say.warn('daebug: this page could not connect after 5 attempts; reload it to try again');
    return null;
  };
}

/**
 * The daemon's current page token; null, once the console says why, when the daemon does not give it
 * to this page (a foreign origin, or a daemon beyond loopback). Rejects when the daemon is unreachable.
 */
async function currentToken(origin: string): Promise<string | null> {
  const response = await fetch(`${origin}${ROUTES.pageToken.path}`, { cache: 'no-store' });
  if (response.ok) return ((await response.json()) as { token: string }).token;
  if (response.status === 403) {
    say.error(`daebug: ${await refusalOf(response)}`);
    return null;
  }
  if (response.status === 404) {
    say.warn(`daebug: the daebug at ${origin} listens beyond loopback and gives its page token only with the pages it serves: reload a page it serves (a script tag needs daebug on loopback)`);
    return null;
  }
  throw new Error(`${ROUTES.pageToken.path} answered ${response.status}`);
}

/** Why the daemon refused: the text of its answer. */
async function refusalOf(response: Response): Promise<string> {
  const body = (await response.json().catch(() => null)) as { error?: unknown } | null;
  return typeof body?.error === 'string' ? body.error : `refused (${response.status})`;
}

/**
 * Starts daebug's helper worker realm, `<page>-webworker` (a clean worker for code that needs one, and
 * for test runs in a worker), and starts it again when it stops answering pings: it is daebug's own.
 * It is linked like the app's workers, and connected when it asks.
 */
function startHelperWorker(page: Connected, pageName: string, report: (message: string) => void): void {
  const workerName = `${pageName}-${HELPER}`;
  const script = `${page.origin()}${routePath('worker')}`;
  // Browsers start a worker only from the page's own origin: a page on another one starts it from a
  // Blob URL of its own, whose module imports daebug's (a module import may cross origins, with CORS).
  const url = page.origin() === location.origin ? script : originalCreateObjectURL(new Blob([`import ${JSON.stringify(script)};\n`], { type: 'text/javascript' }));
  const launch = () => {
    let worker: Worker;
    try {
      worker = new OriginalWorker(url, { type: 'module', name: workerName });
    } catch (error) {
      // A content security policy may forbid the worker; the page realm still works.
      return report(`no helper worker for this page: ${String(error)}`);
    }
    const link = linkWorker(worker, {
      parent: page,
      name: () => workerName,
      script: '',
      helper: true,
      onHung: (reason) => {
        link.end();
        worker.terminate();
        // The daemon hears of the restart before the new worker connects under the same name.
        void page.call('heartbeat', { worker: { name: workerName, state: 'restarted', reason } }).finally(launch);
      },
    });
    worker.addEventListener('error', (event) => {
      if (link.linked) return;
      // Its script did not load (a content security policy, or no CORS answer): restarting would not help.
      report(`no helper worker for this page: ${script} did not start (${(event as ErrorEvent).message || 'a load error'})`);
      link.end();
      worker.terminate();
    });
  };
  launch();
}

/** The script element this client came from (a module script has no `currentScript`). */
function ownScript(): HTMLScriptElement | null {
  return (document.currentScript as HTMLScriptElement | null) ?? document.querySelector<HTMLScriptElement>(`script[src*="${ROUTES.client.path}"]`);
}

/** Runs `work` once the page has loaded, or after `LOAD_WAIT_MS` for a page whose load never ends (a resource that hangs). */
function afterLoad(work: () => void): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    work();
  };
  if (document.readyState === 'complete') return void setTimeout(once, 0);
  addEventListener('load', () => setTimeout(once, 0), { once: true });
  setTimeout(once, LOAD_WAIT_MS);
}

function main(): void {
  const scope = globalThis as { __daebug?: unknown };
  // A script tag and an injection (by daebug or a plugin) may both bring the client: the first one runs.
  if (scope.__daebug) {
    say.debug('daebug: the client is on this page twice; this copy does nothing');
    return;
  }
  let name = keptRealm().name;
  scope.__daebug = {
    get realm() {
      return name;
    },
    get worker() {
      return `${name}-${HELPER}`;
    },
  };
  const script = ownScript();
  const source = new URL(script?.src ?? routePath('client'), location.href);
  const token = source.searchParams.get('t') ?? '';
  const connect = pageConnector(source.origin, token);
  // A classic script from another origin, loaded without CORS, has its errors muted by the browser.
  const muted = source.origin !== location.origin && script !== null && script.crossOrigin === null && script.type !== 'module';
  let workerStarted = false;
  const page: Connected = startRealm(globalThis, {
    origin: () => source.origin,
    kind: 'page',
    nonce: script?.nonce || undefined,
    ...(muted ? { compilerUrl: () => `${source.origin}${routePath('evaluate')}` } : {}),
    connect: async () => {
      const credentials = await connect();
      if (credentials) name = credentials.name;
      // The worker is named after the page, so it starts once the page knows its name, and once the
      // page has loaded: its script and its connection would compete with the page's own.
      if (credentials && !workerStarted) {
        workerStarted = true;
        afterLoad(() => startHelperWorker(page, name, page.report));
      }
      return credentials;
    },
  });
  // Before the page's own scripts run: every worker they start is a realm of its own.
  hookWorkers(globalThis, page, () => name, [HELPER]);
}

try {
  main();
} catch (error) {
  console.debug('daebug: the client could not start', error);
}
