/**
 * Small HTTP helpers: errors with a status and a short code, JSON and text answers, and the one
 * wrapper every handler goes through so that nothing a client sends can crash the daemon.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An expected failure of a request, mapped to its status in one place; `headers` go with its answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A request as polka hands it over. */
export interface Request extends IncomingMessage {
  path: string;
  params: Record<string, string>;
  query: Record<string, string | string[] | undefined>;
}

/** A route handler; may be async. */
export type Handler = (req: Request, res: ServerResponse) => unknown;

/** Sends a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Sends a text answer. */
export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Wraps a handler: a thrown HttpError becomes its status, anything else a 500, never a crash. */
export function safe(handler: Handler, onUnexpected: (error: Error, req: Request) => void): Handler {
  return async function safeHandler(req, res) {
    try {
      await handler(req, res);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A body left unread (too large, say) must not be taken for the next request on this socket.
      const close: Record<string, string> = req.complete ? {} : { connection: 'close' };
      if (error instanceof HttpError) {
        sendJson(res, error.status, { ok: false, code: error.code, error: error.message }, { ...error.headers, ...close });
        return;
      }
      onUnexpected(error as Error, req);
      sendJson(res, 500, { ok: false, code: 'ERR_INTERNAL', error: 'internal error; see the daebug console' }, close);
    }
  };
}

/** A route parameter, URL-decoded. */
export function param(req: Request, name: string): string {
  const raw = req.params[name] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'ERR_BAD_PATH', `malformed ${name} in the path`);
  }
}

/** A query parameter as one string. */
export function query(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return Array.isArray(value) ? value[0] : value;
}
