/**
 * The realm API: long-polls for jobs, results, events and heartbeats, translated into calls of the
 * daemon's realm API. Every call needs the run's token.
 */
import type { ServerResponse } from 'node:http';
import type { RealmApi, RealmCallResult } from '../../daemon/daemon.js';
import type { RealmKind } from '../../protocol/registry.js';
import { readJson } from '../body.js';
import { HttpError, param, query, sendJson, type Request } from '../http.js';
import { requireToken } from '../security.js';
import { diagnosticMessage, eventsMessage, heartbeatMessage, realmName, resultMessage } from '../validate.js';

/** What the routes need from the rest of daebug. */
export interface RealmRoutesContext {
  token: string;
  /** The daemon's realm API, or null while the daemon is still starting. */
  realmApi: () => RealmApi | null;
}

const KINDS = new Set<RealmKind>(['page', 'worker', 'node']);
// Pages served by other servers may load the client too; the token, not the origin, guards these calls.
const CORS = { 'access-control-allow-origin': '*' };

function api(context: RealmRoutesContext, req: Request): RealmApi {
  requireToken(req, context.token);
  const realmApi = context.realmApi();
  if (!realmApi) throw new HttpError(503, 'ERR_STARTING', 'daebug is starting; poll again');
  return realmApi;
}

function answer(res: ServerResponse, result: RealmCallResult): void {
  if (result.ok) return sendJson(res, 200, { ok: true }, CORS);
  const status = result.code === 'ERR_WRONG_JOB' ? 409 : 404;
  sendJson(res, status, { ok: false, code: result.code, error: result.message }, CORS);
}

/** GET /-daebug/realms/:realm/poll?kind=&url= */
export function pollRoute(context: RealmRoutesContext) {
  return async function poll(req: Request, res: ServerResponse) {
    const realmApi = api(context, req);
    const name = realmName(param(req, 'realm'), 'the realm in the path');
    const kind = (query(req, 'kind') ?? 'page') as RealmKind;
    if (!KINDS.has(kind)) throw new HttpError(400, 'ERR_BAD_REALM', 'kind must be page, worker or node');
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const pollAnswer = await realmApi.poll({ name, kind, url: query(req, 'url') ?? '' }, abort.signal);
    if (!res.destroyed) sendJson(res, 200, pollAnswer, CORS);
  };
}

/** POST /-daebug/realms/:realm/jobs/:jobId/result */
export function resultRoute(context: RealmRoutesContext) {
  return async function result(req: Request, res: ServerResponse) {
    const realmApi = api(context, req);
    const message = resultMessage(await readJson(req), param(req, 'jobId'));
    answer(res, await realmApi.result(param(req, 'realm'), message));
  };
}

/** POST /-daebug/realms/:realm/events */
export function eventsRoute(context: RealmRoutesContext) {
  return async function events(req: Request, res: ServerResponse) {
    const realmApi = api(context, req);
    answer(res, realmApi.events(param(req, 'realm'), eventsMessage(await readJson(req))));
  };
}

/** POST /-daebug/realms/:realm/heartbeat */
export function heartbeatRoute(context: RealmRoutesContext) {
  return async function heartbeat(req: Request, res: ServerResponse) {
    const realmApi = api(context, req);
    answer(res, realmApi.heartbeat(param(req, 'realm'), heartbeatMessage(await readJson(req))));
  };
}

/** POST /-daebug/realms/:realm/diagnostics */
export function diagnosticRoute(context: RealmRoutesContext) {
  return async function diagnostic(req: Request, res: ServerResponse) {
    const realmApi = api(context, req);
    answer(res, realmApi.diagnostic(param(req, 'realm'), diagnosticMessage(await readJson(req, 64 * 1024))));
  };
}
