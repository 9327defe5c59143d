/**
 * The `daebug` object a request sees (each job runs as `async function (daebug) { ... }`, so nothing
 * is added to the page's global scope): helpers whose answers are short Markdown, for an agent that
 * reads every byte. One function per helper; a helper added here is one more key in `createDaebugApi`.
 */
import { isFailure, shortUrl, type NetworkEntry, type NetworkLog } from './network.js';

/** What the helpers read from the realm. */
export interface DaebugApiParts {
  network: NetworkLog;
  /** The page's (or worker's) URL, to show URLs of its own origin as paths. */
  base(): string;
}

/** Which requests `daebug.network()` lists: a part of the URL, or `{ failed, url, limit }`. */
export type NetworkFilter = string | { failed?: boolean; url?: string; limit?: number } | undefined;

/** The object a request sees as `daebug`. */
export function createDaebugApi(parts: DaebugApiParts): Record<string, (...args: never[]) => unknown> {
  return {
    network: (filter?: NetworkFilter) => network(parts, filter),
  };
}

const DEFAULT_LIMIT = 30;

/**
 * `daebug.network()`: the recent requests (newest last) as a Markdown table of time, method, status,
 * URL, kind, duration and size; `daebug.network('api')` those whose URL holds `api`;
 * `daebug.network({ failed: true, limit: 10 })` the failed ones only.
 */
export function network(parts: DaebugApiParts, filter?: NetworkFilter): string {
  const options = typeof filter === 'string' ? { url: filter } : (filter ?? {});
  const limit = Math.max(1, Math.floor(options.limit ?? DEFAULT_LIMIT));
  const base = parts.base();
  const matching = parts.network.entries().filter((entry) => (!options.failed || isFailure(entry)) && (!options.url || entry.url.includes(options.url)));
  const what = [options.failed ? 'failed' : '', options.url ? `matching ${JSON.stringify(options.url)}` : ''].filter(Boolean).join(', ');
  if (matching.length === 0) return `no requests${what ? ` (${what})` : ''} seen yet`;
  const shown = matching.slice(-limit);
  const head = `${matching.length} request${matching.length === 1 ? '' : 's'}${what ? ` (${what})` : ''}${shown.length < matching.length ? `, the last ${shown.length}` : ''}, oldest first:`;
  const rows = shown.map((entry) => row(entry, base));
  return [head, '| at | method | status | url | kind | ms | size |', '| --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
}

function row(entry: NetworkEntry, base: string): string {
  const at = new Date(entry.at);
  const two = (n: number) => String(n).padStart(2, '0');
  const status = entry.status === null ? (entry.error ?? 'no answer') : entry.error && isFailure(entry) ? `${entry.status} ${entry.error}` : String(entry.status);
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
  return `| ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())} | ${entry.method} | ${cell(status)} | ${cell(shortUrl(entry.url, base))} | ${entry.kind} | ${entry.ms} | ${entry.size === undefined ? '' : size(entry.size)} |`;
}

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
