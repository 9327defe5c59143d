/**
 * Starts daebug on a folder: the HTTP server first (so the daemon knows its URL), then the daemon.
 * Used by the CLI and by the end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { startDaemon, type Daemon, type DaemonLogEntry, type DaemonTiming } from '../daemon/daemon.js';
import { startServer, type RunningServer } from '../transport/server.js';

/** What to serve and how. */
export interface ServeOptions {
  root: string;
  port: number;
  host: string;
  version: string;
  timing?: Partial<DaemonTiming>;
  onLog: (entry: DaemonLogEntry) => void;
}

/** A running daebug. */
export interface Serving {
  daemon: Daemon;
  server: RunningServer;
  url: string;
  token: string;
}

/** Starts the server and the daemon; the server closes when the daemon stops. */
export async function serve(options: ServeOptions): Promise<Serving> {
  const token = randomBytes(16).toString('hex');
  let daemon: Daemon | null = null;
  const server = await startServer({
    root: options.root,
    host: options.host,
    port: options.port,
    token,
    version: options.version,
    daemon: () => daemon,
    onError: (error, where) => options.onLog({ level: 'warn', event: 'warning', message: `${where}: ${error.stack ?? error.message}` }),
  });
  try {
    daemon = await startDaemon({ root: options.root, url: server.url, timing: options.timing, onLog: options.onLog });
  } catch (error) {
    await server.close();
    throw error;
  }
  void daemon.stopped.then(() => server.close());
  return { daemon, server, url: server.url, token };
}
