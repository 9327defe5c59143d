/**
 * The code daebug serves to realms (built by tsup into dist/client) and the small admin page.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Daemon } from '../../daemon/contract.js';
import { HttpError, sendJson, sendText, type Request } from '../http.js';
import { packageRoot } from '../../daemon/package-root.js';
import { routePath } from '../../protocol/routes.js';

/** Serves `dist/client/<file>`; read at each request so a rebuild needs no restart. */
export function assetRoute(file: string) {
  const path = join(packageRoot(), 'dist', 'client', file);
  return function asset(_req: Request, res: ServerResponse) {
    if (!existsSync(path)) throw new HttpError(500, 'ERR_NOT_BUILT', `${path} is missing: run npm run build`);
    sendText(res, 200, readFileSync(path, 'utf8'), 'text/javascript; charset=utf-8');
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
