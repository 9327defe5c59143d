/**
 * Where a Node process finds the daebug of its folder: the nearest `.daebug/daemon.json` up from the
 * current folder, then up from the script's folder, that names its own folder and a live process,
 * with the daemon's token beside it in `.daebug/token`. That file is readable only by the user who
 * started the daemon, so only that user's processes can connect (docs/security.md).
 */
import { realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { namesLiveProcess, readDaemonFile, readToolToken } from '../daemon/daemon-file.js';

/** A daemon a Node process can connect to. */
export interface DaemonAddress {
  /** The folder it serves. */
  root: string;
  /** Where it listens, as `http.request` takes it. */
  hostname: string;
  port: number;
  /** Its token for local tools, from `.daebug/token`. */
  token: string;
}

/** The daemon serving the nearest folder above any of `starts` (in that order), or null. */
export async function findDaemon(starts: readonly string[]): Promise<DaemonAddress | null> {
  const seen = new Set<string>();
  for (const start of starts) {
    for (let folder = start; !seen.has(folder); folder = dirname(folder)) {
      seen.add(folder);
      const found = await daemonOf(folder);
      if (found) return found;
    }
  }
  return null;
}

async function daemonOf(folder: string): Promise<DaemonAddress | null> {
  const info = await readDaemonFile(folder);
  if (!info || !namesLiveProcess(info)) return null;
  // A `.daebug/` copied along with a folder names the folder it came from.
  const [named, here] = await Promise.all([realpath(info.root).catch(() => info.root), realpath(folder).catch(() => folder)]);
  if (named !== here) return null;
  const token = await readToolToken(folder);
  if (!token) return null;
  const hostname = info.host === '0.0.0.0' ? '127.0.0.1' : info.host === '::' ? '::1' : info.host;
  return { root: join(folder), hostname, port: info.port, token };
}
