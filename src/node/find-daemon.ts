/**
 * Where a Node process finds the daebug of its folder, and why it trusts it (docs/security.md):
 *
 * - the project's own `.daebug/`: the first one up from the current folder (then up from the script's
 *   folder), never one further up, so a `.daebug/` planted in a shared parent like `/tmp` is not
 *   reached from a project that has its own;
 * - `.daebug/`, its `daemon.json` and `token` are this user's and writable by nobody else, and are
 *   real folders and files (no symlinks); `daemon.json` names that very folder, a live process and a
 *   loopback address;
 * - the daemon on that address proves it holds the token (`tokenProof` of a fresh nonce, answered by
 *   `/-daebug/health`) before the process sends it anything: a process that took the port of a killed
 *   daemon learns nothing and runs nothing.
 *
 * A `.daebug/` that fails a check is refused with the reason, said once on stderr.
 */
import { lstat, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { namesLiveProcess, readDaemonFile, readToolToken } from '../daemon/daemon-file.js';
import { provesToken } from '../daemon/secrets.js';
// Past the store's entry point (as daemon-file.ts): the index would bundle the whole store into every Node realm.
import { STATE_DIR_NAME, notOwnOnly } from '../store/state-dir.js';
import { send } from './http.js';

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

/** The daemon of the project, none, or one this process will not trust (why). */
export type FoundDaemon = { kind: 'found'; daemon: DaemonAddress } | { kind: 'none' } | { kind: 'refused'; reason: string };

/** The daemon serving the project folder above `starts` (in that order), checked as the module comment says. */
export async function findDaemon(starts: readonly string[]): Promise<FoundDaemon> {
  const seen = new Set<string>();
  for (const start of starts) {
    for (let folder = start; !seen.has(folder); folder = dirname(folder)) {
      seen.add(folder);
      const state = await lstat(join(folder, STATE_DIR_NAME)).catch(() => null);
      if (state === null) continue;
      // The project's own `.daebug/`: the search ends here, whatever it holds.
      return daemonOf(folder);
    }
  }
  return { kind: 'none' };
}

async function daemonOf(folder: string): Promise<FoundDaemon> {
  const dir = join(folder, STATE_DIR_NAME);
  const untrusted = (await notOwnFile(dir, 'folder')) ?? (await notOwnFile(join(dir, 'daemon.json'), 'file')) ?? (await notOwnFile(join(dir, 'token'), 'file'));
  if (untrusted === 'missing') return { kind: 'none' };
  if (untrusted !== null) return { kind: 'refused', reason: untrusted };
  const info = await readDaemonFile(folder);
  if (!info || !namesLiveProcess(info)) return { kind: 'none' };
  // A `.daebug/` copied along with a folder names the folder it came from.
  const [named, here] = await Promise.all([realpath(info.root).catch(() => info.root), realpath(folder).catch(() => folder)]);
  if (named !== here) return { kind: 'none' };
  const hostname = loopbackHost(info.host);
  if (hostname === null) return { kind: 'refused', reason: `${dir}/daemon.json names the host ${JSON.stringify(info.host)}; a Node process connects only to a daebug on loopback` };
  const token = await readToolToken(folder);
  if (!token) return { kind: 'none' };
  const daemon = { root: join(folder), hostname, port: info.port, token };
  const proven = await provesToken(token, (path) => send(daemon, 'GET', path, {}, undefined, 5_000));
  return proven ? { kind: 'found', daemon } : { kind: 'refused', reason: `the process on port ${info.port} that ${dir}/daemon.json names did not prove it holds the token of ${dir}/token; nothing was sent to it` };
}

/** Why `path` is not this user's own real folder or file, writable by nobody else; 'missing' when it does not exist; null when it is. */
async function notOwnFile(path: string, kind: 'folder' | 'file'): Promise<string | null> {
  const stats = await lstat(path).catch(() => null);
  if (stats === null) return 'missing';
  if (kind === 'folder' ? !stats.isDirectory() : !stats.isFile()) return `${path} is not a ${kind} of its own (a symlink, or another kind of file)`;
  return notOwnOnly(path, stats);
}

/** The loopback host to reach a daemon listening on `host`, or null when it listens elsewhere. */
function loopbackHost(host: string): string | null {
  if (host === '0.0.0.0' || host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return host === '0.0.0.0' ? '127.0.0.1' : host;
  if (host === '::' || host === '::1') return '::1';
  return null;
}

