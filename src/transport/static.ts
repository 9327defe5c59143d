/**
 * The project's own files. Every path is decoded and checked here first (no `..`, no dotfiles, keys
 * or certificates, no symlink out of the root); HTML pages are read and get daebug's injection; all
 * other files are streamed by sirv with its MIME table, uncached so a reload shows the latest code.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join, relative, sep } from 'node:path';
import sirv from 'sirv';
import { HttpError, sendText, type Handler, type Request } from './http.js';
import { isDaemonName, isHiddenName } from './security.js';

/** What the daemon keeps at the root: the registry, the logs and its state. Never served. */
const DAEMON_ENTRIES = ['daebug.md', 'daebug', '.daebug'];

/**
 * Serves `root`; `inject` rewrites each HTML page before it is sent. A script asked for with
 * `?daebug-specifiers` gets its bare `specifiers` (such as `node:test`) replaced by their URLs, for
 * realms without import maps (workers).
 */
export function createStaticHandler(root: string, inject: (html: string) => string, specifiers: Record<string, string> = {}): Handler {
  const files = sirv(root, { dev: true, dotfiles: false, extensions: [] });
  let realRoot: Promise<string> | null = null;

  return async function serveStatic(req: Request, res: ServerResponse) {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'ERR_METHOD', `${req.method} is not served here`);
    const decoded = decodePath(req.path);
    const segments = decoded.split('/').filter(Boolean);
    if (segments.some((segment) => segment === '..' || isHiddenName(segment))) throw notFound();
    if (segments.length > 0 && isDaemonName(segments[0]!)) throw notFound();
    const absolute = join(root, ...segments);
    if (absolute !== root && !absolute.startsWith(root.endsWith(sep) ? root : root + sep)) throw notFound();
    realRoot ??= realpath(root);
    const real = await realpath(absolute).catch(() => null);
    const base = await realRoot;
    if (real === null || (real !== base && !real.startsWith(base + sep))) throw notFound();
    if (await isDaemonOwned(root, base, real)) throw notFound();
    const stats = await stat(real);
    if (stats.isDirectory()) {
      if (!req.path.endsWith('/')) {
        const search = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
        res.writeHead(301, { location: `${req.path}/${search}` });
        res.end();
        return;
      }
      return sendHtml(res, join(real, 'index.html'), inject, req.method === 'HEAD');
    }
    if (/\.html?$/i.test(real)) return sendHtml(res, real, inject, req.method === 'HEAD');
    if (/\.m?js$/i.test(real) && req.query['daebug-specifiers'] !== undefined) return sendWithSpecifiers(res, real, specifiers);
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      files(req, res, () => {
        sendText(res, 404, 'not found');
        resolve();
      });
    });
  };
}

/** True when `real` is (through any symlink) the daemon's registry, a log, or in its state folder. */
async function isDaemonOwned(root: string, realRoot: string, real: string): Promise<boolean> {
  if (isDaemonName(relative(realRoot, real).split(sep)[0] ?? '')) return true;
  // The daemon's entries may be symlinks themselves, to a folder that has another name in the root.
  const reserved = await Promise.all(DAEMON_ENTRIES.map((name) => realpath(join(root, name)).catch(() => null)));
  return reserved.some((entry) => entry !== null && (real.toLowerCase() === entry.toLowerCase() || real.toLowerCase().startsWith(entry.toLowerCase() + sep)));
}

function decodePath(path: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new HttpError(400, 'ERR_BAD_PATH', 'malformed URL encoding');
  }
  if (decoded.includes('\0') || decoded.includes('\\')) throw notFound();
  return decoded;
}

function notFound(): HttpError {
  return new HttpError(404, 'ERR_NOT_FOUND', 'not found');
}

async function sendHtml(res: ServerResponse, path: string, inject: (html: string) => string, headOnly: boolean): Promise<void> {
  const html = await readFile(path, 'utf8').catch(() => null);
  if (html === null) throw notFound();
  const body = inject(html);
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(headOnly ? undefined : body);
}

async function sendWithSpecifiers(res: ServerResponse, path: string, specifiers: Record<string, string>): Promise<void> {
  const source = await readFile(path, 'utf8');
  const body = source.replace(/(["'])(node:[a-z/]+)\1/g, (literal, quote: string, specifier: string) => (specifiers[specifier] ? `${quote}${specifiers[specifier]}${quote}` : literal));
  res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
