/**
 * The daebug a build tool's dev server uses: the one already serving the project root (found as
 * `--test` finds it: `.daebug/daemon.json`, then the ports derived from the folder's name), or one
 * the plugin starts in its own process and stops with the dev server. One daemon only ever owns a
 * root's logs.
 */
import { basename } from 'node:path';
import { runningDaebug } from '../cli/running-daebug.js';
import { candidatePorts, portOwner } from '../cli/port.js';
import { serve, type Serving } from '../cli/serve.js';
import type { DaemonLogEntry } from '../daemon/contract.js';
import { askToOpen, type LaunchHow } from '../cli/open-browser.js';
import { ROUTES } from '../protocol/routes.js';

/** The daemon a dev server talks to. */
export interface RootDaemon {
  /** Its base URL on loopback, ending in `/`. */
  url: string;
  /** The token every page it serves gets (the client connects with it). */
  pageToken: string;
  /** True when the plugin started it: it stops with the dev server. */
  own: boolean;
  /** Stops a daemon it started (the registry says why), and leaves one it joined running. */
  stop(reason?: string): Promise<void>;
  /** Opens a page (a path of the dev server, or a URL of this machine) in the browser the daemon launches; resolves with the URL. */
  open(target: string, how: LaunchHow): Promise<string>;
}

/** How the plugin's own daemon describes itself: the dev server's URL and the command that starts it again. */
export interface OwnDaemonWords {
  devServer?: string;
  command?: string;
}

/** Finds the daebug serving `root`, or starts one; `log` gets the lines of one the plugin started. */
export async function daemonForRoot(root: string, version: string, log: (entry: DaemonLogEntry) => void, words: OwnDaemonWords = {}): Promise<RootDaemon> {
  const running = await runningDaebug(root, null);
  if (running.kind === 'unusable') throw new Error(`daebug: ${running.reason}`);
  if (running.kind === 'found') {
    const answer = await fetch(new URL(ROUTES.pageToken.path, running.base));
    if (!answer.ok) throw new Error(`daebug: the daebug at ${running.base} did not give its page token (${answer.status})`);
    const { token } = (await answer.json()) as { token: string };
    return { url: running.base, pageToken: token, own: false, stop: async () => {}, open: (target, how) => askToOpen(running.base, running.token, target, how) };
  }
  const serving = await startOwn(root, version, log, words);
  return { url: serving.url, pageToken: serving.pageToken, own: true, stop: (reason = 'the dev server stopped') => serving.stop(reason), open: serving.open };
}


async function startOwn(root: string, version: string, log: (entry: DaemonLogEntry) => void, words: OwnDaemonWords): Promise<Serving> {
  for (const port of candidatePorts(basename(root))) {
    if ((await portOwner('127.0.0.1', port)).kind !== 'free') continue;
    try {
      return await serve({ root, port, host: '127.0.0.1', version, onLog: log, command: words.command ?? `npx daebug --port ${port}`, devServer: words.devServer });
    } catch (error) {
      // Taken between the check and the listen: the next candidate.
      if ((error as { code?: string }).code !== 'ERR_PORT_TAKEN') throw error;
    }
  }
  throw new Error(`daebug: no free port for a daebug serving ${root}`);
}
