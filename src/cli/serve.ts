/**
 * Starts daebug on a folder: the HTTP server first (so the daemon knows its URL), then the daemon,
 * then `.daebug/daemon.json` and `.daebug/token` so local tools find it. Used by the CLI and by the
 * end-to-end tests.
 */
import { startDaemon, type Daemon, type DaemonLogEntry, type DaemonTiming } from '../daemon/daemon.js';
import { removeDaemonFile, writeDaemonFile } from '../daemon/daemon-file.js';
import { newSecret } from '../daemon/secrets.js';
import { createLaunchedBrowser, openTarget, type LaunchHow } from './open-browser.js';
import { startServer, type RunningServer } from '../transport/server.js';

/** What to serve and how. */
export interface ServeOptions {
  root: string;
  port: number;
  host: string;
  version: string;
  timing?: Partial<DaemonTiming>;
  onLog: (entry: DaemonLogEntry) => void;
  /** The command line that started it, recorded in `.daebug/daemon.json` and in the stopped registry. */
  command?: string;
  /** Origins besides loopback ones whose pages may connect (`--allow-origin`). */
  allowedOrigins?: readonly string[];
  /** With `--proxy`: the dev server to pass every request outside `/-daebug/` to. */
  proxy?: URL;
  /** With the build-tool plugin: the dev server's URL, named in the registry as where pages open. */
  devServer?: string;
  /** The output budget of each reply block (`--max-output`). */
  maxOutputBytes?: number;
  /** How long a request may take to arrive whole (see `ServerOptions.requestTimeoutMs`). */
  requestTimeoutMs?: number;
}

/** A running daebug. */
export interface Serving {
  daemon: Daemon;
  server: RunningServer;
  url: string;
  /** In every page it serves: lets a page connect. */
  pageToken: string;
  /** For local tools: test runs, realm lists, and reads when exposed. */
  toolToken: string;
  /** Stops the daemon and resolves once the server is closed and the daemon file removed. */
  stop(reason: string): Promise<void>;
  /** Resolves with the stop's reason once everything is closed, whoever stopped the daemon. */
  closed: Promise<string>;
  /**
   * Opens `target` (a path of the pages' server, or a URL of this machine: `openTarget`) in the
   * browser this daebug launches, whose pages can take screenshots; resolves with the URL opened.
   */
  open(target: string, how: LaunchHow): Promise<string>;
}

/** Starts the server and the daemon; the server closes and the daemon file goes when the daemon stops. */
export async function serve(options: ServeOptions): Promise<Serving> {
  const pageToken = newSecret();
  const toolToken = newSecret();
  const launched = createLaunchedBrowser();
  let daemon: Daemon | null = null;
  const open = async (target: string, how: LaunchHow) => {
    const chosen = openTarget(target, options.devServer ?? server.url);
    if ('refused' in chosen) throw Object.assign(new Error(chosen.refused), { code: 'ERR_OPEN_REFUSED' });
    await launched.open(chosen.url, how);
    return chosen.url;
  };
  const server = await startServer({
    root: options.root,
    host: options.host,
    port: options.port,
    pageToken,
    toolToken,
    version: options.version,
    daemon: () => daemon,
    onError: (error, where) => options.onLog({ level: 'warn', event: 'warning', message: `${where}: ${error.stack ?? error.message}` }),
    allowedOrigins: options.allowedOrigins,
    onWarning: (message) => options.onLog({ level: 'warn', event: 'warning', message }),
    proxy: options.proxy,
    say: (level, message) => options.onLog({ level, event: 'proxy', message }),
    requestTimeoutMs: options.requestTimeoutMs,
    devServer: options.devServer,
    open,
  });
  let running: Daemon | null = null;
  try {
    running = await startDaemon({ root: options.root, url: server.url, timing: options.timing, onLog: options.onLog, command: options.command, proxy: options.proxy?.origin, devServer: options.devServer, maxOutputBytes: options.maxOutputBytes, camera: launched.camera });
    await writeDaemonFile(options.root, { pid: process.pid, root: options.root, host: options.host, port: server.port, url: server.url, version: options.version, startedAt: new Date().toISOString(), command: options.command ?? 'npx daebug' }, toolToken);
  } catch (error) {
    await running?.stop(`could not start: ${(error as Error).message}`);
    await server.close();
    await launched.close();
    throw error;
  }
  // Health says ok only from here on: a tool that sees it finds the token file written.
  daemon = running;
  const closed = running.stopped.then(async (reason) => {
    await removeDaemonFile(options.root, process.pid);
    await server.close();
    await launched.close();
    return reason;
  });
  const stop = async (reason: string) => {
    await running.stop(reason);
    await closed;
  };
  return { daemon: running, server, url: server.url, pageToken, toolToken, stop, closed, open };
}
