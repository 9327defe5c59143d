/**
 * The read API: health, the registry and realm logs, for tools and the admin page. Who may read is
 * the guard's business (the `read` policy of src/protocol/routes.ts).
 */
import { readdir } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Daemon } from '../../daemon/contract.js';
import { folderProblem, readRealText } from '../../store/index.js';
import { PROOF_PARAM, isNonce, tokenProof } from '../../daemon/secrets.js';
import { logFileName } from '../../protocol/registry.js';
import { HttpError, param, sendJson, sendText, type Request } from '../http.js';

/** What the read routes need. */
export interface ReadRoutesContext {
  root: string;
  /** The daemon's token, to prove it holds it (`tokenProof`). */
  toolToken: string;
  port: () => number;
  version: string;
  daemon: () => Daemon | null;
  /** Where the pages are when they are not daebug's own: the plugin's dev server, or the one behind --proxy. */
  pages?: { devServer?: string; proxy?: string };
}

/** A symlink (or anything but a real file) where daebug's files are: it may point outside the root. */
function notReal(what: string): HttpError {
  return new HttpError(403, 'ERR_NOT_REAL_FILE', `${what} is a symlink or not a real file; daebug serves only real files inside the root`);
}

/** GET /-daebug/health */
export function healthRoute(context: ReadRoutesContext) {
  return function health(req: Request, res: ServerResponse) {
    const daemon = context.daemon();
    const counts = daemon?.health() ?? { realms: 0, jobsRunning: 0, jobsQueued: 0, uptimeMs: 0 };
    // A local tool or Node process checks the daemon holds the token of .daebug/token before it trusts it.
    const nonce = new URL(req.url ?? '/', 'http://x').searchParams.get(PROOF_PARAM);
    const proof = isNonce(nonce) ? { proof: tokenProof(context.toolToken, nonce) } : {};
    sendJson(res, 200, { ok: daemon !== null, version: context.version, root: context.root, port: context.port(), ...context.pages, ...counts, ...proof });
  };
}

/** GET /-daebug/registry */
export function registryRoute(context: ReadRoutesContext) {
  return async function registry(_req: Request, res: ServerResponse) {
    const read = await readRealText(join(context.root, 'daebug.md')).catch(() => null);
    if (read?.kind === 'not-real') throw notReal('daebug.md');
    if (read?.kind !== 'text') throw new HttpError(404, 'ERR_NOT_FOUND', 'daebug.md does not exist yet');
    sendText(res, 200, read.text, 'text/markdown; charset=utf-8');
  };
}

/** GET /-daebug/logs/:realm */
export function logRoute(context: ReadRoutesContext) {
  return async function log(req: Request, res: ServerResponse) {
    const wanted = `${logFileName(param(req, 'realm'))}.md`;
    const dir = join(context.root, 'daebug');
    if (await folderProblem(dir).catch(() => null)) throw notReal('daebug/');
    const names = await readdir(dir).catch(() => [] as string[]);
    const name = names.find((entry) => entry === wanted) ?? names.find((entry) => entry.toLowerCase() === wanted);
    const read = name ? await readRealText(join(dir, name)).catch(() => null) : null;
    if (read?.kind === 'not-real') throw notReal(`daebug/${name}`);
    if (read?.kind !== 'text') throw new HttpError(404, 'ERR_NOT_FOUND', `daebug/${wanted} does not exist`);
    sendText(res, 200, read.text, 'text/markdown; charset=utf-8');
  };
}
