/**
 * The project's own files. The request path is split at its slashes before anything is decoded, so an
 * encoded slash (`%2F`) stays inside a name; each segment is decoded once and checked (no `..`, no
 * dotfiles, keys or certificates, nothing of the daemon's), the path is resolved to its real path,
 * which must lie inside the real root and outside the daemon's files, and that very file is sent.
 * HTML pages get daebug's injection; nothing is cached, so a reload shows the latest code.
 */
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { lookup } from 'mrmime';
import { sendText, type Handler, type Request } from './http.js';
import { isDaemonName, isHiddenName } from './security.js';
import { isWorkerScriptRequest } from './worker-script.js';

/** What the daemon keeps at the root: the registry, the logs and its state. Never served. */
const DAEMON_ENTRIES = ['daebug.md', 'daebug', '.daebug'];

/** What the static handler changes in the files it sends. */
export interface StaticInjection {
  /** Rewrites each HTML page before it is sent. */
  html(html: string): string;
  /** Rewrites a dedicated worker's own script (worker-script.ts). */
  worker(source: string): string;
  /** Bare specifiers (such as `node:test`) and their URLs, for `?daebug-specifiers`. */
  specifiers?: Record<string, string>;
}

/**
 * Serves `root`; pages and the app's worker scripts get daebug's client. A script asked for with
 * `?daebug-specifiers` gets its bare specifiers (such as `node:test`) replaced by their URLs, for
 * realms without import maps (workers).
 */
export function createStaticHandler(root: string, injection: StaticInjection): Handler {
  const specifiers = injection.specifiers ?? {};
  return async function serveStatic(req: Request, res: ServerResponse) {
    // Set first, so that every answer of this handler carries it, refusals and errors included.
    res.setHeader('x-content-type-options', 'nosniff');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, `405 Method Not Allowed: ${req.method}`, undefined, { allow: 'GET, HEAD' });
    const segments = requestSegments(req.path);
    if (segments === 'malformed') return sendText(res, 400, `400 Bad Request: malformed URL encoding in ${req.path}`);
    const found = segments && (await servablePath(root, segments));
    const stats = found && (await stat(found).catch(() => null));
    if (!segments || !found || !stats) return sendNotFound(res, req.path);
    let file = found;
    if (stats.isDirectory()) {
      if (!req.path.endsWith('/')) return redirectToFolder(res, segments, req.url ?? '');
      const index = await servablePath(root, [...segments, 'index.html']);
      if (!index) return sendNotFound(res, req.path);
      file = index;
    }
    const handle = await openRegularFile(file);
    if (!handle) return sendNotFound(res, req.path);
    try {
      const headOnly = req.method === 'HEAD';
      if (/\.html?$/i.test(file)) return sendHtml(res, await handle.readFile('utf8'), injection.html, headOnly);
      if (/\.m?js$/i.test(file) && req.query['daebug-specifiers'] !== undefined) return sendWithSpecifiers(res, await handle.readFile('utf8'), specifiers, headOnly);
      if (/\.[mc]?js$/i.test(file) && isWorkerScriptRequest(req)) return sendScript(res, injection.worker(await handle.readFile('utf8')), false);
      return await sendStream(res, handle, file, headOnly);
    } finally {
      await handle.close();
    }
  };
}

/**
 * The decoded segments of a request path: empty segments dropped, `null` when a segment may not be
 * shown, `'malformed'` for broken percent-encoding.
 */
function requestSegments(path: string): string[] | null | 'malformed' {
  if (!path.startsWith('/')) return null;
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return 'malformed';
    }
    // No file name holds a slash, so `%2F` cannot name one; a backslash is a separator on Windows.
    if (/[/\\\0]/.test(segment) || isHiddenName(segment)) return null;
    segments.push(segment);
  }
  if (segments.length > 0 && isDaemonName(segments[0]!)) return null;
  return segments;
}

/**
 * The real path of `segments` under `root`, or null when it does not exist or resolves (through any
 * symlink) out of the real root or into the daemon's files.
 */
async function servablePath(root: string, segments: readonly string[]): Promise<string | null> {
  const resolve = (path: string) => realpath(path).catch(() => null);
  const [realRoot, real, ...reserved] = await Promise.all([realpath(root), resolve(join(root, ...segments)), ...DAEMON_ENTRIES.map((name) => resolve(join(root, name)))]);
  if (real === null || !isWithin(realRoot, real, false)) return null;
  const first = relative(realRoot, real).split(sep)[0] ?? '';
  if (isDaemonName(first)) return null;
  // The daemon's entries may be symlinks themselves, to a folder that has another name in the root.
  if (reserved.some((entry) => entry !== null && isWithin(entry, real, true))) return null;
  return real;
}

/** True when `path` is `folder` or inside it; `anyCase` for names a case-insensitive file system would match. */
function isWithin(folder: string, path: string, anyCase: boolean): boolean {
  const [base, target] = anyCase ? [folder.toLowerCase(), path.toLowerCase()] : [folder, path];
  return target === base || target.startsWith(base.endsWith(sep) ? base : base + sep);
}

/** The open file at `path` when it is a regular file (not a folder, device or pipe), else null. */
async function openRegularFile(path: string): Promise<FileHandle | null> {
  // Checked before opening too: opening a named pipe would wait for a writer.
  if (!(await stat(path).catch(() => null))?.isFile()) return null;
  const handle = await open(path, 'r').catch(() => null);
  if (handle && !(await handle.stat()).isFile()) {
    await handle.close();
    return null;
  }
  return handle;
}

function sendNotFound(res: ServerResponse, path: string): void {
  sendText(res, 404, `404 Not Found: ${path}`);
}

/** Redirects to the folder's path with a trailing slash, built from the checked segments: always `/name/...`, never `//host`. */
function redirectToFolder(res: ServerResponse, segments: readonly string[], url: string): void {
  const search = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  res.writeHead(301, { location: `/${segments.map(encodeURIComponent).join('/')}/${search}`, 'content-length': 0 });
  res.end();
}

function contentType(path: string): string {
  const type = lookup(extname(path).slice(1)) ?? 'application/octet-stream';
  return type.startsWith('text/') ? `${type}; charset=utf-8` : type;
}

async function sendStream(res: ServerResponse, handle: FileHandle, path: string, headOnly: boolean): Promise<void> {
  const { size } = await handle.stat();
  res.writeHead(200, { 'content-type': contentType(path), 'cache-control': 'no-store', 'content-length': size });
  if (headOnly) return void res.end();
  await pipeline(handle.createReadStream({ autoClose: false }), res);
}

function sendHtml(res: ServerResponse, html: string, inject: (html: string) => string, headOnly: boolean): void {
  const body = inject(html);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(headOnly ? undefined : body);
}

function sendWithSpecifiers(res: ServerResponse, source: string, specifiers: Record<string, string>, headOnly: boolean): void {
  sendScript(res, source.replace(/(["'])(node:[a-z/]+)\1/g, (literal, quote: string, specifier: string) => (specifiers[specifier] ? `${quote}${specifiers[specifier]}${quote}` : literal)), headOnly);
}

function sendScript(res: ServerResponse, body: string, headOnly: boolean): void {
  res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(headOnly ? undefined : body);
}
