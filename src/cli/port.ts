/**
 * Which port daebug listens on: derived from the root folder's name exactly as the earlier daebug did
 * (so bookmarks keep working), overridable with PORT and --port; when the port is taken by a daebug
 * for the same root, that daebug is asked to stop; when taken by anything else, `<name>1` ... `<name>19`
 * are tried. Who holds a port is asked through `/-daebug/health`, whose root names the folder served.
 */
import { appendFile, realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SHUTDOWN_LINE } from '../protocol/registry.js';
import { ROUTES } from '../protocol/routes.js';
import { httpGet } from './http-get.js';

/** The earlier daebug's port for a folder name: 8100 + |hash| mod 1000. */
export function derivePort(name: string): number {
  const lower = name.toLowerCase();
  let hash = 0;
  for (let index = 0; index < lower.length; index++) hash = (hash * 31 + lower.charCodeAt(index)) | 0;
  return 8100 + (Math.abs(hash) % 1000);
}

/** The ports to try for a folder name: its own, then those of `<name>1` ... `<name>19`. */
export function candidatePorts(name: string): number[] {
  return [derivePort(name), ...Array.from({ length: 19 }, (_, index) => derivePort(`${name}${index + 1}`))];
}

/** What answers on a port: nothing, a daebug (and whether it finished starting), another program, or something that does not answer in time. */
export type PortOwner = { kind: 'free' } | { kind: 'daebug'; root: string; ready: boolean } | { kind: 'other' } | { kind: 'silent' };

/** The address to reach a daebug listening on `host`: a wildcard is reached on loopback. */
export function reachableAddress(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Asks `/-daebug/health` on a port who is there. */
export async function portOwner(host: string, port: number, timeoutMs = 1500): Promise<PortOwner> {
  try {
    const answer = await httpGet(`http://${reachableAddress(host)}:${port}${ROUTES.health.path}`, {}, timeoutMs);
    const health = parseJson(answer.text) as { root?: unknown; ok?: unknown } | null;
    if (answer.status === 200 && health && typeof health.root === 'string') return { kind: 'daebug', root: health.root, ready: health.ok === true };
    return { kind: 'other' };
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return { kind: 'silent' };
    return (error as { code?: string }).code === 'ECONNREFUSED' ? { kind: 'free' } : { kind: 'other' };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Who holds a port, said in a message. */
export function describeOwner(owner: Exclude<PortOwner, { kind: 'free' }>): string {
  if (owner.kind === 'daebug') return `a daebug for ${owner.root}`;
  return owner.kind === 'silent' ? 'a program that does not answer' : 'another program';
}

/** True when `a` and `b` are the same folder, also when one is reached through a symlink (macOS's /tmp is one). */
export async function sameFolder(a: string, b: string): Promise<boolean> {
  const real = (path: string) => realpath(path).catch(() => resolve(path));
  return (await real(a)) === (await real(b));
}

/** True when the owner is a daebug serving `root`. */
export async function servesRoot(owner: PortOwner, root: string): Promise<boolean> {
  return owner.kind === 'daebug' && (await sameFolder(owner.root, root));
}

/** Asks the daebug serving `root` to stop (through its registry) and waits up to `waitMs` for its port. */
export async function takeOver(root: string, host: string, port: number, waitMs = 3000): Promise<boolean> {
  await appendFile(join(root, 'daebug.md'), `\n${SHUTDOWN_LINE}\n`);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if ((await portOwner(host, port)).kind === 'free') return true;
    await new Promise((done) => setTimeout(done, 100));
  }
  return false;
}
