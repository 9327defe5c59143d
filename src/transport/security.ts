/**
 * The checks of daemon.md, Security, applied in one place: the Host header (against DNS rebinding),
 * the Origin of browser requests, and each route's access policy (src/protocol/routes.ts). Also which
 * files static serving may show.
 */
import { isIP } from 'node:net';
import { SECRET_HEADER, TOKEN_HEADER, type RouteSpec } from '../protocol/routes.js';
import { sameSecret } from '../daemon/secrets.js';
import { HttpError, param, query, type Request } from './http.js';

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

/** What the guard checks credentials against. */
export interface GuardContext {
  boundHost: string;
  /** True when the daemon listens beyond loopback. */
  exposed: boolean;
  /** The token in every page daebug serves: it lets a page connect, nothing more. */
  pageToken: string;
  /** The daemon's token, for local tools (`.daebug/token`). */
  toolToken: string;
  /** True when `secret` is the one the connected realm `name` was given. */
  isRealmSecret(name: string, secret: string | undefined): boolean;
}

/**
 * Applies a route's policy to a request; throws the refusal. A browser request from another origin
 * is refused on every route that is not public, whatever it carries: tokens are for daebug's own
 * pages and for local tools, which send no foreign Origin.
 */
export function authorize(spec: RouteSpec, req: Request, context: GuardContext): void {
  if (spec.policy === 'public') return;
  const origin = req.headers.origin;
  if (origin !== undefined && !isSameOrigin(origin, req, context.boundHost)) throw new HttpError(403, 'ERR_ORIGIN', `refused: cross-origin request from ${origin.slice(0, 100)}`);
  const token = tokenOf(req);
  switch (spec.policy) {
    case 'page':
      if (!sameSecret(token, context.pageToken)) throw new HttpError(401, 'ERR_TOKEN', 'missing or wrong page token: reload the page served by this daemon');
      return;
    case 'tool':
      if (!sameSecret(token, context.toolToken)) throw new HttpError(401, 'ERR_TOKEN', "missing or wrong daemon token: local tools read it from .daebug/token");
      return;
    case 'read':
      if (context.exposed && !sameSecret(token, context.toolToken)) throw new HttpError(401, 'ERR_TOKEN', 'this daemon listens beyond loopback: reading needs the daemon token from .daebug/token');
      return;
    case 'realm': {
      const secret = header(req, SECRET_HEADER);
      if (!context.isRealmSecret(param(req, 'realm'), secret)) throw new HttpError(401, 'ERR_SECRET', 'missing or wrong realm secret: connect again');
      return;
    }
  }
}

function isSameOrigin(origin: string, req: Request, boundHost: string): boolean {
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  return host === req.headers.host && isAllowedHost(host, boundHost);
}

function tokenOf(req: Request): string | undefined {
  return header(req, TOKEN_HEADER) ?? query(req, 't');
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
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
