/**
 * What a page or worker asked the network for: fetch and XHR (wrapped, the app's calls behave as
 * before) and every other resource load (a PerformanceObserver of resource entries, whose
 * `responseStatus` Chromium gives, and element `error` events for loads that have no entry, such as
 * blocked ones). The recent requests are kept for `daebug.network()`; a failed one (a 4xx or 5xx
 * answer, a network error, a blocked load) is reported at once as a `network` event. daebug's own
 * requests are left out.
 */
import { API_PREFIX } from '../protocol/routes.js';

/** One request, as `daebug.network()` lists it. */
export interface NetworkEntry {
  /** Epoch milliseconds when it started. */
  at: number;
  method: string;
  url: string;
  /** The answer's status; null when there was none (a network error, a blocked load). */
  status: number | null;
  /** Why there was no answer, or why a load failed despite one. */
  error?: string;
  /** fetch, xhr, or the resource's initiator (script, link, img, css, ...). */
  kind: string;
  ms: number;
  /** Bytes of the body as sent, when known. */
  size?: number;
}

/** The requests seen so far. */
export interface NetworkLog {
  /** The most recent requests, oldest first. */
  entries(): readonly NetworkEntry[];
}

const KEPT = 500;
/** Resource entries of these initiators come from the wrappers, which know more (method, network errors). */
const WRAPPED = new Set(['fetch', 'xmlhttprequest']);

/** Starts watching the network of `scope`; `failed` gets each failed request as it ends. */
export function observeNetwork(scope: typeof globalThis, failed: (entry: NetworkEntry) => void, report: (message: string) => void): NetworkLog {
  const entries: NetworkEntry[] = [];
  const listed = new WeakSet<NetworkEntry>();
  const add = (entry: NetworkEntry) => {
    if (entry.url.includes(API_PREFIX) || isBrowsersOwn(entry)) return;
    // A load listed as answered that then fails (an image that does not decode) is reported, not listed twice.
    if (listed.has(entry)) return void (isFailure(entry) && failed(entry));
    listed.add(entry);
    entries.push(entry);
    if (entries.length > KEPT) entries.splice(0, entries.length - KEPT);
    if (isFailure(entry)) failed(entry);
  };
  for (const install of [wrapFetch, wrapXhr, watchResources]) {
    try {
      install(scope, add);
    } catch (error) {
      report(`cannot watch the network (${install.name}): ${String(error)}`);
    }
  }
  return { entries: () => entries };
}

/**
 * True for a request the browser makes on its own, not the app: the `/favicon.ico` it asks for when a
 * page names no icon (a 404 there would be noise in every page's log). An icon the page names is the
 * app's (`link`) and is reported.
 */
function isBrowsersOwn(entry: NetworkEntry): boolean {
  return entry.kind === 'other' && /^[a-z]+:\/\/[^/]+\/favicon\.ico(?:[?#]|$)/i.test(entry.url);
}

/** True for a 4xx or 5xx answer, no answer, or a load that failed; an abort is the app's choice. */
export function isFailure(entry: NetworkEntry): boolean {
  return entry.error !== 'aborted' && (entry.status === null || entry.status >= 400 || entry.error !== undefined);
}

type Add = (entry: NetworkEntry) => void;

/** A wrapper that looks like the function it wraps: its name, length and source text. */
function disguise<T extends (...args: never[]) => unknown>(wrapper: T, original: T): T {
  Object.defineProperty(wrapper, 'length', { value: original.length });
  Object.defineProperty(wrapper, 'name', { value: original.name });
  Object.defineProperty(wrapper, 'toString', { value: () => Function.prototype.toString.call(original), writable: true, configurable: true });
  return wrapper;
}

function absolute(url: string): string {
  try {
    return new URL(url, location.href).href;
  } catch {
    return url;
  }
}

function bodySize(headers: Headers): number | undefined {
  const length = headers.get('content-length');
  return length === null ? undefined : Number(length);
}

/** Wraps `fetch`: the app gets the same answer or the same error, and no body is read. */
function wrapFetch(scope: typeof globalThis, add: Add): void {
  const original = scope.fetch;
  if (typeof original !== 'function') return;
  const wrapped = function fetch(this: unknown, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    // eslint-disable-next-line prefer-rest-params
    const answer = Reflect.apply(original, this, arguments) as Promise<Response>;
    let method = 'GET';
    let url = '';
    try {
      const request = typeof Request === 'function' && input instanceof Request ? input : null;
      method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
      url = absolute(request ? request.url : String(input));
    } catch {
      return answer;
    }
    if (url.includes(API_PREFIX)) return answer;
    const at = Date.now();
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    return answer.then(
      (response) => {
        add({ at, method, url, status: response.status, kind: 'fetch', ms: ms(), size: bodySize(response.headers) });
        return response;
      },
      (error: unknown) => {
        const aborted = (error as { name?: unknown } | null)?.name === 'AbortError';
        add({ at, method, url, status: null, error: aborted ? 'aborted' : String((error as { message?: unknown } | null)?.message ?? error), kind: 'fetch', ms: ms() });
        throw error;
      },
    );
  };
  scope.fetch = disguise(wrapped as typeof fetch, original);
}

/** Wraps `XMLHttpRequest` `open` and `send`, listening for the request's end beside the app. */
function wrapXhr(scope: typeof globalThis, add: Add): void {
  const proto = (scope as { XMLHttpRequest?: typeof XMLHttpRequest }).XMLHttpRequest?.prototype;
  if (!proto) return;
  const requests = new WeakMap<XMLHttpRequest, { method: string; url: string }>();
  // Named apart from the wrappers, which carry the names `open` and `send` for stack traces.
  const { open: originalOpen, send: originalSend } = proto;
  proto.open = disguise(function open(this: XMLHttpRequest, method: string, url: string | URL): void {
    try {
      requests.set(this, { method: String(method).toUpperCase(), url: absolute(String(url)) });
    } catch {
      requests.delete(this);
    }
    // eslint-disable-next-line prefer-rest-params
    return Reflect.apply(originalOpen, this, arguments) as void;
  } as typeof originalOpen, originalOpen);
  proto.send = disguise(function send(this: XMLHttpRequest): void {
    const request = requests.get(this);
    if (request && !request.url.includes(API_PREFIX)) {
      const at = Date.now();
      const started = performance.now();
      let aborted = false;
      this.addEventListener('abort', () => (aborted = true));
      this.addEventListener('loadend', () => {
        const status = this.status === 0 ? null : this.status;
        add({ ...request, at, status, kind: 'xhr', ms: Math.round(performance.now() - started), ...(aborted ? { error: 'aborted' } : status === null ? { error: 'network error' } : {}) });
      });
    }
    // eslint-disable-next-line prefer-rest-params
    return Reflect.apply(originalSend, this, arguments) as void;
  } as typeof originalSend, originalSend);
}

/** Every other load: resource entries (with their status in Chromium), and failed element loads. */
function watchResources(scope: typeof globalThis, add: Add): void {
  const seen = new WeakMap<PerformanceEntry, NetworkEntry | null>();
  const fromEntry = (entry: PerformanceResourceTiming, error?: string): NetworkEntry => {
    const status = (entry as { responseStatus?: number }).responseStatus;
    const size = entry.encodedBodySize || undefined;
    return { at: performance.timeOrigin + entry.startTime, method: 'GET', url: entry.name, status: status ? status : null, kind: entry.initiatorType || 'other', ms: Math.round(entry.duration), ...(size ? { size } : {}), ...(error ? { error } : {}) };
  };
  if (typeof PerformanceObserver === 'function' && PerformanceObserver.supportedEntryTypes?.includes('resource')) {
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as PerformanceResourceTiming[]) {
        if (seen.has(entry) || WRAPPED.has(entry.initiatorType)) continue;
        // Without a status (another browser, or a cross-origin answer without Timing-Allow-Origin) a failure shows as an error event.
        const status = (entry as { responseStatus?: number }).responseStatus;
        const request = status ? fromEntry(entry) : null;
        seen.set(entry, request);
        if (request) add(request);
      }
    });
    observer.observe({ type: 'resource', buffered: true });
  }
  // Resource errors do not bubble: they are seen on their way down.
  scope.addEventListener(
    'error',
    (event) => {
      const target = event.target as { tagName?: string; src?: string; href?: string } | null;
      if (!target || target === (scope as unknown) || typeof target.tagName !== 'string') return;
      const url = target.src || target.href;
      if (typeof url !== 'string' || url === '') return;
      const entry = performance.getEntriesByName(url, 'resource').at(-1) as PerformanceResourceTiming | undefined;
      const kind = target.tagName.toLowerCase();
      const known = entry && seen.get(entry);
      if (known) {
        if (known.status !== null && known.status >= 400) return;
        known.error = 'load failed';
        return add(known);
      }
      if (entry) seen.set(entry, null);
      const fromIt = entry ? fromEntry(entry, 'load failed') : { at: Date.now(), method: 'GET', url: absolute(url), status: null, kind, ms: 0, error: 'load failed (blocked or no answer)' };
      add({ ...fromIt, kind, ...(fromIt.status !== null && fromIt.status >= 400 ? { error: undefined } : {}) });
    },
    true,
  );
}

/** One request as one short line: `GET /missing.js → 404 (script, 3ms)`. */
export function describeRequest(entry: NetworkEntry, base: string): string {
  const outcome = entry.status === null ? entry.error ?? 'no answer' : entry.error ? `${entry.status}, ${entry.error}` : String(entry.status);
  return `${entry.method} ${shortUrl(entry.url, base)} → ${outcome} (${entry.kind}, ${entry.ms}ms)`;
}

/** The URL without the page's origin when it is the same, cut to 200 characters. */
export function shortUrl(url: string, base: string): string {
  let short = url;
  try {
    const parsed = new URL(url);
    if (parsed.origin === new URL(base).origin) short = parsed.pathname + parsed.search;
  } catch {
    short = url;
  }
  return short.length > 200 ? `${short.slice(0, 199)}…` : short;
}
