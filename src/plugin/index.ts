/**
 * daebug as a build-tool plugin (unplugin): in dev mode it joins the daebug of the project root or
 * starts one, and puts the client into every page; in a production build it does nothing.
 *
 * Vite: daebug's routes (`/-daebug/*`) are forwarded to the daemon by the plugin (forward.ts), and
 * `transformIndexHtml` puts the client into each page as daebug does into pages it serves, so the
 * page, its worker and the daemon talk on the dev server's origin (no CORS, hot reload untouched).
 * webpack, Rspack, Rollup and esbuild have no HTML step of their own: the plugin adds an import to
 * each entry whose module adds the client's script tag, loaded from the daemon's own port (a page on
 * another loopback origin, see "Script tag" in the README).
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { createUnplugin, type UnpluginFactory, type UnpluginOptions } from 'unplugin';
import type { DaemonLogEntry } from '../daemon/contract.js';
import { packageRoot } from '../package-root.js';
import { API_PREFIX, ROUTES } from '../protocol/routes.js';
import { injectIntoHtml } from '../transport/inject.js';
import { MODULE_IMPORTS, WORKER_CLIENT } from '../transport/server.js';
import { daemonForRoot, type OwnDaemonWords, type RootDaemon } from './daemon-for-root.js';
import { createForwarder } from './forward.js';

/** What the plugin can be told. */
export interface DaebugPluginOptions {
  /** The folder whose `daebug.md` and `daebug/` the agent reads (default: the current folder). */
  root?: string;
  /** Forces the plugin on or off (default: on in dev mode, off in production builds). */
  enabled?: boolean;
  /** Where the daemon's lines go (default: the console, prefixed with `daebug`). */
  onLog?: (entry: DaemonLogEntry) => void;
  /**
   * Vite: a page to open once the dev server listens (a path of the dev server, or a URL of this
   * machine) in the browser the daemon launches, whose pages can take screenshots: `--open`'s browser.
   * `{ target, headless }` opens it without a window.
   */
  open?: string | { target: string; headless?: boolean };
}

/** The module the entries of bundlers without an HTML step import. */
const CLIENT_MODULE = 'virtual:daebug-client';
const RESOLVED_CLIENT_MODULE = `\0${CLIENT_MODULE}`;

function version(): string {
  return (JSON.parse(readFileSync(resolve(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function consoleLog(entry: DaemonLogEntry): void {
  // The dev server's own output is the agent's: daebug adds its warnings and its start, not every job.
  if (entry.level === 'warn' || entry.event === 'started') console.log(`daebug: ${entry.message}`);
}

/** The code that adds the client's script tag to the page, once (a page injected twice starts once). */
function clientLoader(daemon: RootDaemon): string {
  const src = new URL(`${ROUTES.client.path}?t=${encodeURIComponent(daemon.pageToken)}`, daemon.url).href;
  return [
    `if (typeof document !== 'undefined' && !document.querySelector('script[data-daebug]')) {`,
    `  const script = document.createElement('script');`,
    `  script.src = ${JSON.stringify(src)};`,
    `  script.dataset.daebug = '';`,
    `  document.head.appendChild(script);`,
    `}`,
    '',
  ].join('\n');
}

/**
 * A worker script as Vite's dev server serves it (`?worker_file&type=module|classic`: Vite's own mark
 * on `new Worker(new URL('./w.js', import.meta.url))` and `?worker` imports) with daebug's worker
 * client loaded first, on its first line; anything else, null. A worker started from a plain string
 * URL gets no mark, and is a realm only if its script loads the client itself (README).
 */
function workerWithClient(code: string, id: string): string | null {
  const type = /[?&]worker_file&type=(module|classic)(?:&|$)/.exec(id)?.[1];
  if (type === 'module') return `import ${JSON.stringify(WORKER_CLIENT.module)};${code}`;
  if (type === 'classic') return `importScripts(${JSON.stringify(WORKER_CLIENT.classic)});${code}`;
  return null;
}

/** True for `daebug.md`, `daebug/` and `.daebug/` of `root`, and anything in them. */
export function isDaebugFile(root: string, path: string): boolean {
  const [first = ''] = relative(root, resolve(root, path)).split(/[\\/]/, 1);
  return first === 'daebug.md' || first === 'daebug' || first === '.daebug';
}

/** How the dev server is started again, for the stopped registry: the npm script that ran it, else Vite itself. */
function devCommand(): string {
  const script = process.env.npm_lifecycle_event;
  return script && /^[\w:.-]+$/.test(script) ? `npm run ${script}` : 'npx vite';
}

/**
 * Ctrl-C and a closed terminal end a dev server without closing it (Vite stops itself on SIGTERM
 * only): the plugin's own daemon stops first, so the registry says so, then the signal does what it
 * would have done (unless something else of the process listens for it and decides). Returns the
 * function that takes the listeners off.
 */
function stopOnSignals(stop: (reason: string) => Promise<void>): () => void {
  const signals = ['SIGINT', 'SIGHUP'] as const;
  const forget = () => signals.forEach((signal) => process.off(signal, onSignal));
  const onSignal = (signal: NodeJS.Signals) => {
    forget();
    void stop(signal).finally(() => process.listenerCount(signal) === 0 && process.kill(process.pid, signal));
  };
  signals.forEach((signal) => process.once(signal, onSignal));
  return forget;
}

/** The daemon a plugin uses: started on first need (or when its dev server listens), stopped with the dev server or the build. */
interface PluginDaemon {
  ensure(): Promise<RootDaemon>;
  /** Starts it for a dev server at `devServer` (and opens `options.open`); one it started stops on Ctrl-C too. */
  startFor(devServer: string | undefined): void;
  stop(reason?: string): Promise<void>;
}

function pluginDaemon(root: string, log: (entry: DaemonLogEntry) => void, open: DaebugPluginOptions['open']): PluginDaemon {
  let daemon: Promise<RootDaemon> | null = null;
  let words: OwnDaemonWords = {};
  let forgetSignals = () => {};
  const handle: PluginDaemon = {
    ensure: () => (daemon ??= daemonForRoot(root, version(), log, words)),
    startFor(devServer) {
      words = { devServer, command: devCommand() };
      const starting = handle.ensure();
      // Listening from the start, not once the daemon has started: a Ctrl-C while it starts (its
      // daemon.json is written before the start returns) stops it as soon as it runs.
      forgetSignals();
      forgetSignals = stopOnSignals(handle.stop);
      const warn = (error: Error) => log({ level: 'warn', event: 'warning', message: error.message.split('\n')[0]! });
      starting.then((running) => {
        // A daebug it joined is not the plugin's to stop.
        if (!running.own && daemon === starting) forgetSignals();
        if (open === undefined) return;
        const { target, headless = false } = typeof open === 'string' ? { target: open } : open;
        running.open(target, { headless, browser: null }).then((url) => log({ level: 'info', event: 'started', message: `opened ${url} in Chromium; daebug.screenshot() works in its pages` }), warn);
      }, warn);
    },
    async stop(reason) {
      const running = daemon;
      daemon = null;
      forgetSignals();
      await (await running?.catch(() => null))?.stop(reason);
    },
  };
  return handle;
}

/** The plugin's hooks for Vite's dev server. */
function viteHooks(root: string, log: (entry: DaemonLogEntry) => void, daemon: PluginDaemon, serving: () => void): UnpluginOptions['vite'] {
  return {
    // The dev server only: not `vite build`, not `vite preview` (which serves a build as it is).
    apply: (_config, env) => env.command === 'serve' && !env.isPreview,
    configResolved: serving,
    // daebug's own files are no part of the app: a log written, a temp file or a backup would
    // otherwise reach Vite's watcher (and a plugin that reloads on any change) and reload the page.
    config: () => ({ server: { watch: { ignored: [(path: string) => isDaebugFile(root, path)] } } }),
    configureServer(server) {
      // daebug's routes go to the daemon before Vite's own middlewares see them (forward.ts).
      const forwarder = createForwarder(async () => (await daemon.ensure()).url, (message) => log({ level: 'warn', event: 'warning', message }));
      server.middlewares.use((req, res, next) => void (forwarder.web(req, res) || next()));
      server.httpServer?.on('upgrade', (req, socket, head) => forwarder.upgrade(req, socket, head));
      // Started once the dev server listens (a restarted server listens after the old one closed
      // and stopped its daemon), so the registry can name the dev server's URL.
      server.httpServer?.once('listening', () => daemon.startFor(server.resolvedUrls?.local[0]));
      server.httpServer?.once('close', () => forwarder.close());
    },
    // `server.close()` (Vite's own stop on SIGTERM, a restart, a test) awaits this.
    closeBundle: () => daemon.stop(),
    async transformIndexHtml(html) {
      const running = await daemon.ensure();
      return injectIntoHtml(html, { clientUrl: `${ROUTES.client.path}?t=${encodeURIComponent(running.pageToken)}`, imports: MODULE_IMPORTS });
    },
    // Vite injects through its HTML step; the entry import is for bundlers without one. Worker
    // scripts Vite serves as workers get daebug's worker client, as the ones daebug serves do.
    transform: (code, id) => workerWithClient(code, id),
  };
}

export const unpluginFactory: UnpluginFactory<DaebugPluginOptions | undefined> = (options = {}) => {
  const root = resolve(options.root ?? process.cwd());
  const log = options.onLog ?? consoleLog;
  let enabled = options.enabled ?? process.env.NODE_ENV !== 'production';
  const daemon = pluginDaemon(root, log, options.open);
  const entries = new Set<string>();
  const vite = { serving: false };

  return {
    name: 'daebug',
    enforce: 'pre',
    resolveId(id, _importer, meta) {
      if (id === CLIENT_MODULE) return RESOLVED_CLIENT_MODULE;
      // The worker client a worker script imports (workerWithClient) is the daemon's, behind the dev server.
      if (enabled && id.startsWith(API_PREFIX)) return { id, external: true };
      // A test file Vite serves to `--test` imports node:test and node:assert: daebug's own modules
      // (Vite would give the browser a stub that throws). Vite only: a bundle has no tests in it.
      if (enabled && vite.serving && Object.hasOwn(MODULE_IMPORTS, id)) return { id: MODULE_IMPORTS[id]!, external: true };
      if (enabled && meta?.isEntry) entries.add(id);
      return null;
    },
    loadInclude: (id) => id === RESOLVED_CLIENT_MODULE || id.startsWith(API_PREFIX),
    async load(id) {
      // Vite's dev server ignores `external` and warms up every static import of a module it serves:
      // the worker client's warm-up gets nothing (and prints no "Failed to load url"); the worker's
      // own request for it goes to the daemon before any transform (configureServer).
      if (id.startsWith(API_PREFIX)) return '';
      if (id !== RESOLVED_CLIENT_MODULE) return null;
      return enabled ? clientLoader(await daemon.ensure()) : '';
    },
    transformInclude: (id) => enabled && [...entries].some((entry) => id === entry || id.endsWith(entry.replace(/^\.\//, ''))),
    transform(code) {
      return `import ${JSON.stringify(CLIENT_MODULE)};\n${code}`;
    },
    buildEnd() {
      // A build that is not watched ends here; a watched one (webpack --watch, rollup -w) keeps the daemon.
      if (!(this as { meta?: { watchMode?: boolean } }).meta?.watchMode) return daemon.stop();
    },
    vite: viteHooks(root, log, daemon, () => (vite.serving = true)),
    webpack(compiler) {
      enabled = options.enabled ?? compiler.options.mode !== 'production';
    },
    rspack(compiler) {
      enabled = options.enabled ?? compiler.options.mode !== 'production';
    },
    esbuild: {
      setup(build) {
        enabled = options.enabled ?? (process.env.NODE_ENV !== 'production' && !build.initialOptions.minify);
      },
    },
  };
};

/** The plugin for every bundler unplugin knows. */
export const daebug = createUnplugin(unpluginFactory);
export default daebug;
