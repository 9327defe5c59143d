/**
 * Makes the workers a realm starts realms of their own. `Worker` is replaced by a Proxy of itself whose
 * only difference is that each worker is linked (worker-link.ts) as it is made, before the app gets it:
 * the same prototype, the same instances, the same arguments for a worker from a URL.
 *
 * Who loads daebug's client into the worker: for a script daebug serves or proxies, the daemon adds it
 * to the script (src/transport/worker-script.ts), keeping its URL. A worker from a Blob this realm made
 * (`URL.createObjectURL` is watched for that) is started from a Blob that loads the client first and
 * then the app's Blob: a module worker's Blob is the client's import followed by the app's code; a
 * classic worker's loads the client, then a copy of the app's Blob, with `importScripts`, so that its
 * `"use strict"` and line numbers stay. A worker whose script daebug never sees (a page attached by
 * script tag, whose dev server serves it) becomes a realm when its script loads the client itself.
 */
import { routePath } from '../protocol/routes.js';
import type { Connected } from './realm.js';
import { linkWorker, type WorkerLink } from './worker-link.js';

/** The copy of a classic worker's Blob is revoked after this: `importScripts` has read it long before. */
const BLOB_COPY_MS = 60_000;
/** The part of a worker's name after its parent's: at most this long. */
const MAX_BASE = 30;

/** What a realm's worker constructor has to do with the workers it starts. */
interface HookState {
  realm: Connected;
  parentName: () => string;
  /** How many workers of each base name this realm started. */
  counts: Map<string, number>;
  /** The Blobs behind this realm's live Blob URLs. */
  blobs: Map<string, Blob>;
  links: WeakMap<Worker, WorkerLink>;
  createObjectURL: (object: Blob | MediaSource) => string;
  revokeObjectURL: (url: string) => void;
}

/** A SharedWorker is no realm: the daemon is told once, and says why in the registry; the worker itself is untouched. */
function hookSharedWorkers(scope: typeof globalThis, realm: Connected): void {
  const Original = (scope as { SharedWorker?: typeof SharedWorker }).SharedWorker;
  if (typeof Original !== 'function') return;
  let told = false;
  (scope as { SharedWorker?: typeof SharedWorker }).SharedWorker = new Proxy(Original, {
    construct(target, args: unknown[], newTarget: Function) {
      if (!told) realm.sharedWorker();
      told = true;
      return Reflect.construct(target, args, newTarget) as SharedWorker;
    },
  });
}

/**
 * Hooks `scope.Worker` (and `terminate`, and Blob URLs): each worker the app starts is linked and named
 * `<parent>-<script name>` (`-2`, `-3` for more of the same script). `reserved` names are taken already.
 */
export function hookWorkers(scope: typeof globalThis, realm: Connected, parentName: () => string, reserved: readonly string[] = []): void {
  const Original = scope.Worker;
  if (typeof Original !== 'function' || typeof scope.URL?.createObjectURL !== 'function') return;
  const state: HookState = {
    realm,
    parentName,
    counts: new Map(reserved.map((name) => [name, 1])),
    blobs: new Map(),
    links: new WeakMap(),
    createObjectURL: scope.URL.createObjectURL.bind(scope.URL),
    revokeObjectURL: scope.URL.revokeObjectURL.bind(scope.URL),
  };
  watchBlobUrls(scope, state);
  scope.Worker = new Proxy(Original, {
    construct(target, args: unknown[], newTarget: Function) {
      const options = (args[1] ?? {}) as WorkerOptions;
      const script = scriptUrl(args[0], scope);
      const wrapped = script?.protocol === 'blob:' ? wrapBlob(script.href, options.type === 'module', state) : null;
      const worker = Reflect.construct(target, wrapped ? [wrapped.url, ...args.slice(1)] : args, newTarget) as Worker;
      if (wrapped) wrapped.started();
      if (script) {
        try {
          track(worker, script, options, state);
        } catch (error) {
          realm.report(`cannot follow a worker of this page: ${String(error)}`);
        }
      }
      return worker;
    },
  });
  hookSharedWorkers(scope, realm);
  const originalTerminate = Original.prototype.terminate;
  Original.prototype.terminate = function terminate(this: Worker): void {
    state.links.get(this)?.end('terminated by its page: worker.terminate()');
    originalTerminate.call(this);
  };
}

/** The worker's script as a URL; null when the app passed something the browser will refuse anyway. */
function scriptUrl(value: unknown, scope: typeof globalThis): URL | null {
  try {
    const url = new URL(String(value), scope.location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'blob:' ? url : null;
  } catch {
    return null;
  }
}

/** Links a worker the app made, under the next free name for its script. */
function track(worker: Worker, script: URL, options: WorkerOptions, state: HookState): void {
  const base = baseName(script, options);
  const count = (state.counts.get(base) ?? 0) + 1;
  state.counts.set(base, count);
  const suffix = count === 1 ? '' : `-${count}`;
  const link: WorkerLink = linkWorker(worker, {
    parent: state.realm,
    name: () => {
      const parent = state.parentName();
      return `${parent}-${base.slice(0, Math.max(1, 80 - parent.length - 1 - suffix.length))}${suffix}`;
    },
    script: script.protocol === 'blob:' ? 'blob:' : script.href,
    // The app's worker is the app's: daebug says it hangs, and never restarts it.
    onHung: (reason) => link.report('hung', reason),
  });
  state.links.set(worker, link);
}

/** `totals` for `/js/totals.worker.js`; a Blob worker is named by its `name` option, else `blob`. */
function baseName(script: URL, options: WorkerOptions): string {
  const file = script.protocol === 'blob:' ? (options.name ?? 'blob') : decodeURIComponent(script.pathname.split('/').pop() ?? '').replace(/\.(worker\.)?[cm]?[jt]s$/i, '');
  const name = file.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, MAX_BASE);
  return name || 'worker';
}

/** Records the Blob behind each Blob URL this realm makes, so a worker started from one can be wrapped. */
function watchBlobUrls(scope: typeof globalThis, state: HookState): void {
  scope.URL.createObjectURL = function createObjectURL(object: Blob | MediaSource) {
    const url = state.createObjectURL(object);
    if (object instanceof Blob) state.blobs.set(url, object);
    return url;
  };
  scope.URL.revokeObjectURL = function revokeObjectURL(url: string) {
    state.blobs.delete(String(url));
    return state.revokeObjectURL(url);
  };
}

/**
 * A Blob URL that loads daebug's worker client, then the app's Blob; null for a Blob this realm did
 * not make. `started()` is called once the worker holds its URL.
 */
function wrapBlob(href: string, module: boolean, state: HookState): { url: string; started(): void } | null {
  const blob = state.blobs.get(href);
  const origin = state.realm.origin();
  // A worker realm learns the daemon's origin when it connects; a Blob worker it starts before that is no realm.
  if (!blob || !origin) return null;
  const type = { type: 'text/javascript' };
  if (module) {
    // Static imports are evaluated first, so the client starts before the app's code; on the same line, so no line moves.
    const url = state.createObjectURL(new Blob([`import ${JSON.stringify(origin + routePath('worker'))};`, blob], type));
    return { url, started: () => state.revokeObjectURL(url) };
  }
  const copy = state.createObjectURL(blob);
  const url = state.createObjectURL(new Blob([`importScripts(${JSON.stringify(origin + routePath('workerClassic'))});importScripts(${JSON.stringify(copy)});`], type));
  return {
    url,
    started: () => {
      state.revokeObjectURL(url);
      setTimeout(() => state.revokeObjectURL(copy), BLOB_COPY_MS);
    },
  };
}
