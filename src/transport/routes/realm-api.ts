/**
 * The realm API: connecting, long-polls for jobs, results, events and heartbeats, translated into
 * calls of the daemon's realm API. The guard (security.ts) has checked the credential already: the
 * page token for a connect, the realm's own secret for everything under `/-daebug/realms/<realm>/`.
 */
import type { ServerResponse } from 'node:http';
import type { RealmApi, RealmCallResult, ConnectResult } from '../../daemon/contract.js';
import { readJson } from '../body.js';
import { HttpError, param, sendJson, type Request } from '../http.js';
import { SECRET_HEADER } from '../../protocol/routes.js';
import { connectMessage, diagnosticMessage, eventsMessage, heartbeatMessage, nodeConnectMessage, nodeExitMessage, resultMessage } from '../validate.js';

/** What the routes need from the rest of daebug. */
export interface RealmRoutesContext {
  /** The daemon's realm API, or null while the daemon is still starting. */
  realmApi: () => RealmApi | null;
}

/** Messages from realms are small; a result with its events may be large, up to the body limit. */
const SMALL_BODY_BYTES = 64 * 1024;

const STATUS: Record<Exclude<RealmCallResult, { ok: true }>['code'], number> = {
  ERR_WRONG_JOB: 409,
  ERR_REALM_TAKEN: 409,
  ERR_UNKNOWN_REALM: 404,
  ERR_BAD_REALM: 400,
  ERR_NOT_YOURS: 403,
  ERR_STOPPING: 503,
  ERR_TOO_MANY_REALMS: 503,
  ERR_TOO_MANY_LOGS: 429,
};

function api(context: RealmRoutesContext): RealmApi {
  const realmApi = context.realmApi();
  if (!realmApi) throw new HttpError(503, 'ERR_STARTING', 'daebug is starting; try again');
  return realmApi;
}

function answer(res: ServerResponse, result: RealmCallResult | ConnectResult): void {
  if (result.ok) return sendJson(res, 200, result);
  sendJson(res, STATUS[result.code], { ok: false, code: result.code, error: result.message });
}

/** POST /-daebug/connect {name, url, secret?}: a page becomes a realm. */
export function connectRoute(context: RealmRoutesContext) {
  return async function connect(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    const message = connectMessage(await readJson(req, SMALL_BODY_BYTES));
    answer(res, realmApi.connect({ name: message.name, kind: 'page', url: message.url }, message.secret));
  };
}

/** POST /-daebug/realms/:realm/workers {name, url, secret?, helper?}: a page connects one of its workers (url: its script). */
export function connectWorkerRoute(context: RealmRoutesContext) {
  return async function connectWorker(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    const message = connectMessage(await readJson(req, SMALL_BODY_BYTES));
    answer(res, realmApi.connectWorker(param(req, 'realm'), { name: message.name, kind: 'worker', url: message.url, ...(message.helper ? { helper: true } : {}) }, message.secret));
  };
}

/** GET /-daebug/realms/:realm/poll */
export function pollRoute(context: RealmRoutesContext) {
  return async function poll(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const pollAnswer = await realmApi.poll(param(req, 'realm'), abort.signal);
    if (!res.destroyed) sendJson(res, 200, pollAnswer);
  };
}

/** POST /-daebug/realms/:realm/jobs/:jobId/result */
export function resultRoute(context: RealmRoutesContext) {
  return async function result(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    const message = resultMessage(await readJson(req), param(req, 'jobId'));
    answer(res, await realmApi.result(param(req, 'realm'), message));
  };
}

/** POST /-daebug/realms/:realm/events */
export function eventsRoute(context: RealmRoutesContext) {
  return async function events(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    answer(res, await realmApi.events(param(req, 'realm'), eventsMessage(await readJson(req))));
  };
}

/** POST /-daebug/realms/:realm/heartbeat */
export function heartbeatRoute(context: RealmRoutesContext) {
  return async function heartbeat(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    answer(res, realmApi.heartbeat(param(req, 'realm'), heartbeatMessage(await readJson(req, SMALL_BODY_BYTES))));
  };
}

/** POST /-daebug/realms/:realm/screenshot {selector?}: the PNG's path relative to the log, or why there is none. */
export function screenshotRoute(context: RealmRoutesContext) {
  return async function screenshot(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    const body = (await readJson(req, SMALL_BODY_BYTES)) as { selector?: unknown } | null;
    const selector = typeof body?.selector === 'string' && body.selector.length <= 1000 ? body.selector : null;
    sendJson(res, 200, await realmApi.screenshot(param(req, 'realm'), selector));
  };
}

/** POST /-daebug/realms/:realm/diagnostics */
export function diagnosticRoute(context: RealmRoutesContext) {
  return async function diagnostic(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    answer(res, realmApi.diagnostic(param(req, 'realm'), diagnosticMessage(await readJson(req, SMALL_BODY_BYTES))));
  };
}

/** POST /-daebug/node {name, pid, command, reconnect}: a Node process (with the daemon's token) becomes a realm. */
export function connectNodeRoute(context: RealmRoutesContext) {
  return async function connectNode(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    answer(res, realmApi.connectNode(nodeConnectMessage(await readJson(req, SMALL_BODY_BYTES))));
  };
}

/**
 * POST /-daebug/realms/:realm/exit: a Node process sends the head of this request when it connects
 * and its body (the exit code, and what it captured last) as it exits. A request that closes without
 * a whole body is a process that died without running its exit handlers.
 */
export function nodeExitRoute(context: RealmRoutesContext) {
  return async function nodeExit(req: Request, res: ServerResponse) {
    const realmApi = api(context);
    const realm = param(req, 'realm');
    const secret = req.headers[SECRET_HEADER] as string | undefined;
    let body: unknown = null;
    try {
      body = await readJson(req, SMALL_BODY_BYTES);
    } catch (error) {
      // Closed before its body was whole: the process is gone, no one reads an answer.
      if (!req.complete) return realmApi.nodeExit(realm, secret, null);
      throw error;
    }
    realmApi.nodeExit(realm, secret, nodeExitMessage(body));
    if (!res.destroyed) sendJson(res, 200, { ok: true });
  };
}
