/**
 * Which port daebug listens on: derived from the root folder's name exactly as the earlier daebug did
 * (so bookmarks keep working), overridable with PORT and --port; when the port is taken by a daebug
 * for the same root, that daebug is asked to stop; when taken by anything else, `<name>1` ... `<name>19`
 * are tried.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SHUTDOWN_LINE } from '../protocol/registry.js';

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

/** What answers on a port. */
export type PortOwner = { kind: 'free' } | { kind: 'daebug'; root: string } | { kind: 'other' };

/** Asks `/-daebug/health` on a port who is there. */
export async function portOwner(host: string, port: number): Promise<PortOwner> {
  const address = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  try {
    const response = await fetch(`http://${address}:${port}/-daebug/health`, { signal: AbortSignal.timeout(1500) });
    const health = (await response.json().catch(() => null)) as { root?: unknown } | null;
    if (response.ok && health && typeof health.root === 'string') return { kind: 'daebug', root: health.root };
    return { kind: 'other' };
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    return code === 'ECONNREFUSED' ? { kind: 'free' } : { kind: 'other' };
  }
}

/** Asks the daebug serving `root` to stop (through its registry) and waits up to `waitMs` for its port. */
export async function takeOver(root: string, host: string, port: number, waitMs = 3000): Promise<boolean> {
  await appendFile(join(root, 'daebug.md'), `\n${SHUTDOWN_LINE}\n`);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if ((await portOwner(host, port)).kind === 'free') return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
