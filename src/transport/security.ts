/**
 * The checks of daemon.md, Security: the Host header (against DNS rebinding), cross-origin
 * mutations, the per-run token, and which files static serving may show.
 */
import { isIP } from 'node:net';
import { HttpError, query, type Request } from './http.js';

/** True for a Host header value daebug answers: localhost, an IP address, or the host it was bound to. */
export function isAllowedHost(hostHeader: string | undefined, boundHost: string): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d+$/, '');
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  // DNS rebinding needs a name that resolves to us; addresses and localhost cannot be rebound.
  return bare === 'localhost' || bare.endsWith('.localhost') || isIP(bare) !== 0 || bare === boundHost.toLowerCase();
}

/** Refuses requests with a foreign Host header. */
export function checkHost(req: Request, boundHost: string): void {
  if (!isAllowedHost(req.headers.host, boundHost)) {
    throw new HttpError(403, 'ERR_HOST', `refused: Host ${JSON.stringify(req.headers.host ?? '')} is not this daemon's`);
  }
}

/** Refuses a mutation sent by a page of another origin that does not carry the token. */
export function checkOrigin(req: Request, boundHost: string, token: string): void {
  const origin = req.headers.origin;
  if (!origin || req.method === 'GET' || req.method === 'HEAD' || hasToken(req, token)) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new HttpError(403, 'ERR_ORIGIN', 'refused: malformed Origin');
  }
  if (host !== req.headers.host || !isAllowedHost(host, boundHost)) throw new HttpError(403, 'ERR_ORIGIN', `refused: cross-origin request from ${origin}`);
}

function hasToken(req: Request, token: string): boolean {
  return query(req, 't') === token || req.headers['x-daebug-token'] === token;
}

/** Requires the run's token (query `t` or header `x-daebug-token`). */
export function requireToken(req: Request, token: string): void {
  if (!hasToken(req, token)) throw new HttpError(401, 'ERR_TOKEN', 'missing or wrong daebug token: reload the page served by this daemon');
}

/** True for a path segment static serving never shows: dotfiles (.git, .env, ...), keys and certificates. */
export function isHiddenName(segment: string): boolean {
  return segment.startsWith('.') || /\.(pem|key)$/.test(comparableName(segment));
}

const DAEMON_NAMES = new Set(['daebug.md', 'daebug', '.daebug']);

/**
 * True for a name that, at the root, is the daemon's: the registry `daebug.md`, the logs under
 * `daebug/` (readable only through the token-checked log API) and its state under `.daebug/`.
 */
export function isDaemonName(name: string): boolean {
  return DAEMON_NAMES.has(comparableName(name));
}

/**
 * A name as the most lenient file systems match it: case-insensitive (macOS, Windows), without the
 * trailing dots and spaces and the `:stream` suffix Windows ignores, so `DAEBUG.MD.` is `daebug.md`.
 */
function comparableName(name: string): string {
  return name.replace(/:.*$/s, '').replace(/[. ]+$/, '').toLowerCase();
}
