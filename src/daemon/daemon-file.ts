/**
 * `.daebug/daemon.json` says which daemon serves a root, and `.daebug/token` holds that daemon's token
 * for local tools (mode 0600: only the owner reads it). Written at start, removed at a clean stop; a
 * file left by a killed daemon is recognised as stale by asking the daemon it names for its health.
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
// Past the store's entry point: a Node realm reads this file, and the index would bundle the whole store into it.
import { ensureStateDir, stateDir } from '../store/state-dir.js';

/** What `.daebug/daemon.json` says. */
export interface DaemonInfo {
  pid: number;
  root: string;
  host: string;
  port: number;
  url: string;
  version: string;
  /** ISO time of the start. */
  startedAt: string;
  /** The command line that started it, to start it again. */
  command: string;
}

const INFO_FILE = 'daemon.json';
const TOKEN_FILE = 'token';

/** Writes `daemon.json` and the token file, each complete or not at all. */
export async function writeDaemonFile(root: string, info: DaemonInfo, toolToken: string): Promise<void> {
  const dir = await ensureStateDir(root);
  await writeWhole(join(dir, TOKEN_FILE), `${toolToken}\n`, 0o600);
  await writeWhole(join(dir, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`, 0o644);
}

/** Removes both files if they still name the daemon with process id `pid`. */
export async function removeDaemonFile(root: string, pid: number): Promise<void> {
  const info = await readDaemonFile(root);
  if (info?.pid !== pid) return;
  await unlink(join(stateDir(root), INFO_FILE)).catch(() => {});
  await unlink(join(stateDir(root), TOKEN_FILE)).catch(() => {});
}

/** What `daemon.json` says, or null when it is missing or malformed. */
export async function readDaemonFile(root: string): Promise<DaemonInfo | null> {
  const text = await readFile(join(stateDir(root), INFO_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const info = JSON.parse(text) as Partial<DaemonInfo>;
    if (typeof info.port !== 'number' || typeof info.host !== 'string' || typeof info.pid !== 'number' || typeof info.root !== 'string') return null;
    return info as DaemonInfo;
  } catch {
    return null;
  }
}

/**
 * False when the process `daemon.json` names is gone, so the file is stale without asking its port
 * (a port may be slow to answer, or taken by someone else since). True also for a process of another
 * user, which this one may not signal.
 */
export function namesLiveProcess(info: DaemonInfo): boolean {
  return processIsAlive(info.pid);
}

/** True while process `pid` exists on this machine (also one of another user, which this one may not signal). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The daemon's token from `.daebug/token`, or null. */
export async function readToolToken(root: string): Promise<string | null> {
  const text = await readFile(join(stateDir(root), TOKEN_FILE), 'utf8').catch(() => null);
  return text?.trim() || null;
}

async function writeWhole(path: string, text: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, { mode });
  await rename(temp, path);
}
