/**
 * The code daebug serves to realms (built by tsup into dist/client) and the small admin page.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Daemon } from '../../daemon/contract.js';
import { HttpError, sendJson, sendText, type Request } from '../http.js';
import { packageRoot } from '../../package-root.js';
import { routePath } from '../../protocol/routes.js';

/**
 * Serves `dist/client/<file>`, kept in memory while its modification time stays (a rebuild needs no
 * restart). Browsers may keep it but ask again each time (`no-cache` with an ETag): a reload gets a
 * 304 and the script its compiled code from the browser's cache.
 */
export function assetRoute(file: string) {
  const path = join(packageRoot(), 'dist', 'client', file);
  let kept: { mtimeMs: number; body: Buffer; etag: string } | null = null;
  return function asset(req: Request, res: ServerResponse) {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      throw new HttpError(500, 'ERR_NOT_BUILT', `${path} is missing: run npm run build`);
    }
    if (kept?.mtimeMs !== mtimeMs) {
      const body = readFileSync(path);
      kept = { mtimeMs, body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
    }
    const headers = { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache', etag: kept.etag };
    if (req.headers['if-none-match'] === kept.etag) return void res.writeHead(304, headers).end();
    res.writeHead(200, { ...headers, 'content-length': kept.body.length });
    res.end(kept.body);
  };
}

/** GET /-daebug/: realms and jobs in flight, refreshed every two seconds. */
export function adminRoute(daemon: () => Daemon | null, root: string) {
  return function admin(_req: Request, res: ServerResponse) {
    const health = daemon()?.health();
    const rows = health ? `<li>${health.realms} realms connected</li><li>${health.jobsRunning} jobs running, ${health.jobsQueued} queued</li><li>up ${Math.round(health.uptimeMs / 1000)} s</li>` : '<li>starting</li>';
    const html = `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>daebug</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
<h1>👾 daebug</h1><p>Serving <code>${escapeHtml(root)}</code>.</p><ul>${rows}</ul>
<p>The registry, <a href="${routePath('registry')}">daebug.md</a>:</p><pre id="registry"></pre>
<script>fetch(${JSON.stringify(routePath('registry'))} + location.search).then((r) => r.text()).then((t) => { document.getElementById('registry').textContent = t; });</script>`;
    sendText(res, 200, html, 'text/html; charset=utf-8');
  };
}

function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * GET /-daebug/token: the page token, for a page loaded from an earlier daemon run whose token is
 * stale. Same-origin only (no CORS header; `cross-origin-resource-policy: same-origin`), and not
 * offered beyond loopback. It only lets a page connect: anything a realm does needs its own secret.
 */
export function pageTokenRoute(token: string) {
  return function pageToken(_req: Request, res: ServerResponse) {
    sendJson(res, 200, { token });
  };
}
