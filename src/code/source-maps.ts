/**
 * Source maps of the scripts realms run, so a frame in `vendor.min.js:1:104` reads as `src/cart.ts:12:5`.
 * A script is read from disk when this daemon serves it from the root, else fetched from where the page
 * got it (only from loopback origins and the dev server given with --proxy: the daemon fetches nothing
 * a page could point elsewhere); its map is inline (`data:` URL) or linked by `//# sourceMappingURL=`.
 * Maps are read with @jridgewell/trace-mapping and kept for a few seconds (dev servers rebuild).
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import type { ScriptPosition } from './stack-text.js';

/** Where scripts come from. */
export interface SourceMapOptions {
  root: string;
  /** The address this daemon serves on (its own origin is any loopback host on its port). */
  url?: string;
  /** With --proxy: the dev server, which serves what the daemon's own origin shows. */
  proxy?: string;
}

const KEEP_MS = 5_000;
const FETCH_TIMEOUT_MS = 2_000;
const MAX_BYTES = 32 * 1024 * 1024;
const MAX_KEPT = 200;
const LOOPBACK = /^(localhost|127\.0\.0\.1|\[::1\]|.+\.localhost)$/;

/** Original positions of script positions; null where a script has no usable map. */
export interface SourceMaps {
  locate(position: ScriptPosition): Promise<string | null>;
}

/** A source-map reader for the scripts of realms on this daemon. */
export function createSourceMaps(options: SourceMapOptions): SourceMaps {
  const kept = new Map<string, { at: number; map: Promise<TraceMap | null> }>();
  const port = options.url ? Number(new URL(options.url).port) || 80 : null;
  const mapOf = (scriptUrl: string) => {
    const entry = kept.get(scriptUrl);
    if (entry && Date.now() - entry.at < KEEP_MS) return entry.map;
    const map = loadMap(scriptUrl, { ...options, port }).catch(() => null);
    kept.set(scriptUrl, { at: Date.now(), map });
    if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value!);
    return map;
  };
  return {
    async locate({ url, line, column }) {
      const map = await mapOf(url);
      if (!map) return null;
      const original = originalPositionFor(map, { line, column: Math.max(0, column - 1) });
      if (original.source === null) return null;
      return `${shownSource(original.source, url, options.root)}:${original.line}:${original.column + 1}`;
    },
  };
}

/** Where scripts come from, with the daemon's own port. */
type Where = SourceMapOptions & { port: number | null };

async function loadMap(scriptUrl: string, options: Where): Promise<TraceMap | null> {
  const script = await readText(scriptUrl, options);
  if (script === null) return null;
  const link = [...script.slice(-100_000).matchAll(/\/\/[#@] sourceMappingURL=(\S+)/g)].pop()?.[1];
  if (!link) return null;
  let text: string | null;
  let mapUrl: string;
  if (link.startsWith('data:')) {
    const comma = link.indexOf(',');
    const data = link.slice(comma + 1);
    text = /;base64$/.test(link.slice(0, comma)) ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
    mapUrl = scriptUrl;
  } else {
    mapUrl = new URL(link, scriptUrl).href;
    text = await readText(mapUrl, options);
  }
  return text === null ? null : new TraceMap(text, mapUrl);
}

/** A script or map by URL: from disk when this daemon serves it from the root, else fetched where allowed. */
async function readText(url: string, options: Where): Promise<string | null> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  const own = LOOPBACK.test(parsed.hostname) && Number(parsed.port || 80) === options.port;
  if (own && !options.proxy) return readUnderRoot(decodeURIComponent(parsed.pathname), options.root);
  const target = own ? new URL(parsed.pathname + parsed.search, options.proxy) : parsed;
  const allowed = LOOPBACK.test(target.hostname) || (options.proxy !== undefined && target.origin === new URL(options.proxy).origin);
  if (!allowed) return null;
  const response = await fetch(target, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: '*/*' } });
  if (!response.ok || Number(response.headers.get('content-length') ?? 0) > MAX_BYTES) return null;
  return response.text();
}

async function readUnderRoot(path: string, root: string): Promise<string | null> {
  const file = resolve(root, `.${path}`);
  if (file !== root && !file.startsWith(root + sep)) return null;
  const info = await stat(file);
  if (!info.isFile() || info.size > MAX_BYTES) return null;
  return readFile(file, 'utf8');
}

/** A source as the agent opens it: a path under the root, or the URL's path on the script's origin. */
function shownSource(source: string, scriptUrl: string, root: string): string {
  if (source.startsWith('file://')) {
    const path = fileURLToPath(source);
    const under = relative(root, path);
    return under && !under.startsWith('..') && !isAbsolute(under) ? under.split(sep).join('/') : path;
  }
  try {
    const url = new URL(source);
    if (url.origin === new URL(scriptUrl).origin) return decodeURIComponent(url.pathname).replace(/^\//, '');
  } catch {
    // Not a URL (`webpack://` sources parse; anything else is shown as it is).
  }
  return source;
}
