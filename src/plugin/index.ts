/**
 * daebug as a build-tool plugin (unplugin): in dev mode it joins the daebug of the project root or
 * starts one, and puts the client into every page; in a production build it does nothing.
 *
 * Vite: daebug's routes (`/-daebug/*`) are forwarded by the dev server's own proxy to the daemon, and
 * `transformIndexHtml` puts the client into each page as daebug does into pages it serves, so the
 * page, its worker and the daemon talk on the dev server's origin (no CORS, hot reload untouched).
 * webpack, Rspack, Rollup and esbuild have no HTML step of their own: the plugin adds an import to
 * each entry whose module adds the client's script tag, loaded from the daemon's own port (a page on
 * another loopback origin, see "Script tag" in the README).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createUnplugin, type UnpluginFactory } from 'unplugin';
import type { DaemonLogEntry } from '../daemon/contract.js';
import { packageRoot } from '../package-root.js';
import { API_PREFIX, FORWARDED_FOR_HEADER, ROUTES } from '../protocol/routes.js';
import { injectIntoHtml } from '../transport/inject.js';
import { MODULE_IMPORTS, WORKER_CLIENT } from '../transport/server.js';
import { daemonForRoot, type RootDaemon } from './daemon-for-root.js';

/** What the plugin can be told. */
export interface DaebugPluginOptions {
  /** The folder whose `daebug.md` and `daebug/` the agent reads (default: the current folder). */
  root?: string;
  /** Forces the plugin on or off (default: on in dev mode, off in production builds). */
  enabled?: boolean;
  /** Where the daemon's lines go (default: the console, prefixed with `daebug`). */
  onLog?: (entry: DaemonLogEntry) => void;
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

export const unpluginFactory: UnpluginFactory<DaebugPluginOptions | undefined> = (options = {}) => {
  const root = resolve(options.root ?? process.cwd());
  const log = options.onLog ?? consoleLog;
  let enabled = options.enabled ?? process.env.NODE_ENV !== 'production';
  let daemon: Promise<RootDaemon> | null = null;
  const entries = new Set<string>();
  const ensureDaemon = () => (daemon ??= daemonForRoot(root, version(), log));
  const stop = async () => {
    const running = daemon;
    daemon = null;
    await (await running?.catch(() => null))?.stop();
  };

  return {
    name: 'daebug',
    enforce: 'pre',
    resolveId(id, _importer, meta) {
      if (id === CLIENT_MODULE) return RESOLVED_CLIENT_MODULE;
      // The worker client a worker script imports (workerWithClient) is the daemon's, behind the dev server's proxy.
      if (enabled && id.startsWith(API_PREFIX)) return { id, external: true };
      if (enabled && meta?.isEntry) entries.add(id);
      return null;
    },
    loadInclude: (id) => id === RESOLVED_CLIENT_MODULE,
    async load(id) {
      if (id !== RESOLVED_CLIENT_MODULE) return null;
      return enabled ? clientLoader(await ensureDaemon()) : '';
    },
    transformInclude: (id) => enabled && [...entries].some((entry) => id === entry || id.endsWith(entry.replace(/^\.\//, ''))),
    transform(code) {
      return `import ${JSON.stringify(CLIENT_MODULE)};\n${code}`;
    },
    buildEnd() {
      // A build that is not watched ends here; a watched one (webpack --watch, rollup -w) keeps the daemon.
      if (!(this as { meta?: { watchMode?: boolean } }).meta?.watchMode) return stop();
    },
    vite: {
      // The dev server only: not `vite build`, not `vite preview` (which serves a build as it is).
      apply: (_config, env) => env.command === 'serve' && !env.isPreview,
      async config() {
        // Vite's dev server forwards daebug's routes to the daemon; the page never leaves its origin.
        const running = await ensureDaemon();
        // Each request carries who the dev server forwards it for: the daemon answers a caller beyond
        // loopback (Vite started with --host) as an exposed daemon does (security.ts).
        const forwardedFor = (proxyReq: { setHeader(name: string, value: string): void }, req: { socket: { remoteAddress?: string } }) => proxyReq.setHeader(FORWARDED_FOR_HEADER, req.socket.remoteAddress ?? '');
        const configure = (proxy: { on(event: 'proxyReq' | 'proxyReqWs', listener: typeof forwardedFor): void }) => {
          proxy.on('proxyReq', forwardedFor);
          proxy.on('proxyReqWs', forwardedFor);
        };
        return { server: { proxy: { [API_PREFIX]: { target: running.url, changeOrigin: false, ws: true, configure } } } };
      },
      configureServer(server) {
        server.httpServer?.once('close', () => void stop());
      },
      async transformIndexHtml(html) {
        const running = await ensureDaemon();
        return injectIntoHtml(html, { clientUrl: `${ROUTES.client.path}?t=${encodeURIComponent(running.pageToken)}`, imports: MODULE_IMPORTS });
      },
      // Vite injects through its HTML step; the entry import is for bundlers without one. Worker
      // scripts Vite serves as workers get daebug's worker client, as the ones daebug serves do.
      transform: (code, id) => workerWithClient(code, id),
    },
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
