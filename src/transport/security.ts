/**
 * The checks of daemon.md, Security, applied in one place: the Host header (against DNS rebinding),
 * the Origin of browser requests and the CORS headers that answer allowed ones, and each route's
 * access policy (src/protocol/routes.ts). Also which files static serving may show.
 */
import { isIP } from 'node:net';
import { FORWARDED_FOR_HEADER, PAGE_HEADERS, SECRET_HEADER, TOKEN_HEADER, type RouteSpec } from '../protocol/routes.js';
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

/**
 * True when the request is answered as an exposed daemon answers: the daemon listens beyond loopback,
 * or a dev server forwarded the request for a caller beyond loopback (`x-daebug-forwarded-for`, set by
 * the plugin's proxy; a caller on loopback that sends it only restricts itself).
 */
export function isExposedRequest(req: Request, context: Pick<GuardContext, 'exposed'>): boolean {
  if (context.exposed) return true;
  const forwarded = header(req, FORWARDED_FOR_HEADER);
  return forwarded !== undefined && !isLoopbackAddress(forwarded);
}

/** True for an IP address of this machine's loopback (IPv4, IPv6, or IPv4 mapped into IPv6). */
export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^::ffff:/i, '');
  return bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** What the guard checks credentials and origins against. */
export interface GuardContext {
  boundHost: string;
  /** True when the daemon listens beyond loopback. */
  exposed: boolean;
  /** The token in every page daebug serves: it lets a page connect, nothing more. */
  pageToken: string;
  /** The daemon's token, for local tools (`.daebug/token`). */
  toolToken: string;
  /** Origins given with `--allow-origin`, as browsers send them (`http://example.test:8080`). */
  allowedOrigins: ReadonlySet<string>;
  /** True when `secret` is the one the connected realm `name` was given. */
  isRealmSecret(name: string, secret: string | undefined): boolean;
  /** Told of every request refused for its origin (a browser page on a foreign origin). */
  onForeignOrigin(origin: string): void;
}

/**
 * Where a request comes from, as far as the browser says: no Origin header (a tool, or a same-origin
 * GET), this daemon's own origin, a loopback origin, an origin given with `--allow-origin`, or any
 * other (`foreign`, `null` included).
 */
export type OriginKind = 'none' | 'same' | 'loopback' | 'allowed' | 'foreign';

/** The kind of the request's Origin. */
export function originKind(req: Request, context: GuardContext): OriginKind {
  const origin = header(req, 'origin');
  if (origin === undefined) return 'none';
  if (isSameOrigin(origin, req, context.boundHost)) return 'same';
  if (context.allowedOrigins.has(origin)) return 'allowed';
  return isLoopbackOrigin(origin) ? 'loopback' : 'foreign';
}

/**
 * True for an origin served from this machine's loopback: http(s) on `localhost`, `*.localhost`,
 * `127.x.x.x` or `[::1]`, any port. Names only: a DNS name that merely resolves to 127.0.0.1
 * (`localtest.me`) is not one, since whoever owns its zone could point it anywhere.
 */
export function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // Browsers send an origin serialized; anything else (a path, another spelling of an address) is not one.
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin) return false;
  const host = url.hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The origin as `--allow-origin` takes it, normalized as browsers send it; null when it is not an http(s) origin. */
export function parseAllowedOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return null;
  return url.origin;
}

/**
 * Applies a route's policy to a request and returns the headers its answer carries (CORS, for pages
 * on other allowed origins); throws the refusal, with the headers a refused page needs to read why.
 * A browser request from a foreign origin is refused on every route that is not public, whatever it
 * carries; one from another allowed origin only reaches the routes pages use (`crossOrigin`): the
 * tool and read routes answer their own origin and local tools, which send no Origin.
 */
export function authorize(spec: RouteSpec, req: Request, context: GuardContext): Record<string, string> {
  const kind = originKind(req, context);
  const origin = header(req, 'origin') ?? '';
  if (kind === 'foreign') context.onForeignOrigin(origin);
  const cors: Record<string, string> = spec.crossOrigin ? { vary: 'Origin', ...(kind === 'loopback' || kind === 'allowed' ? { 'access-control-allow-origin': origin } : {}) } : {};
  if (spec.policy === 'public') return cors;
  if (kind === 'foreign') {
    // A page must be able to tell its user why it cannot connect: the refusal is readable, nothing else is.
    const readable: Record<string, string> = spec.crossOrigin ? { vary: 'Origin', 'access-control-allow-origin': origin } : {};
    throw new HttpError(403, 'ERR_ORIGIN', spec.crossOrigin ? foreignPageMessage(origin) : `refused: cross-origin request from ${shown(origin)}`, readable);
  }
  if ((kind === 'loopback' || kind === 'allowed') && !spec.crossOrigin) {
    throw new HttpError(403, 'ERR_ORIGIN', `refused: cross-origin request from ${shown(origin)}; ${spec.path} is for local tools and daebug's own pages`);
  }
  const token = tokenOf(req);
  switch (spec.policy) {
    case 'origin':
      return cors;
    case 'page':
      if (!sameSecret(token, context.pageToken)) throw new HttpError(401, 'ERR_TOKEN', 'missing or wrong page token: reload the page served by this daemon', cors);
      return cors;
    case 'tool':
      if (!sameSecret(token, context.toolToken)) throw new HttpError(401, 'ERR_TOKEN', "missing or wrong daemon token: local tools read it from .daebug/token");
      return cors;
    case 'read':
      if (isExposedRequest(req, context) && !sameSecret(token, context.toolToken)) throw new HttpError(401, 'ERR_TOKEN', 'this daemon is reached from beyond loopback: reading needs the daemon token from .daebug/token');
      return cors;
    case 'realm': {
      const secret = header(req, SECRET_HEADER);
      if (!context.isRealmSecret(param(req, 'realm'), secret)) throw new HttpError(401, 'ERR_SECRET', 'missing or wrong realm secret: connect again', cors);
      return cors;
    }
  }
}

/**
 * Answers a CORS preflight for a route pages use: the methods and daebug's headers, to an allowed
 * origin only. Throws the refusal for a foreign one.
 */
export function preflight(spec: RouteSpec, req: Request, context: GuardContext): Record<string, string> {
  const kind = originKind(req, context);
  const origin = header(req, 'origin') ?? '';
  if (kind === 'foreign') {
    context.onForeignOrigin(origin);
    throw new HttpError(403, 'ERR_ORIGIN', foreignPageMessage(origin));
  }
  if (kind !== 'loopback' && kind !== 'allowed') return { vary: 'Origin' };
  return {
    vary: 'Origin',
    'access-control-allow-origin': origin,
    'access-control-allow-methods': spec.method,
    'access-control-allow-headers': PAGE_HEADERS.join(', '),
    // Chromium asks before a page on a public address calls a loopback one; an allowed origin may.
    ...(header(req, 'access-control-request-private-network') === 'true' ? { 'access-control-allow-private-network': 'true' } : {}),
    'access-control-max-age': '600',
  };
}

/** The refusal a page on a foreign origin reads in its console, and the daemon prints once. */
export function foreignPageMessage(origin: string): string {
  return `refused a page on ${shown(origin)}: daebug answers pages on loopback origins (localhost, 127.0.0.1, [::1], *.localhost) only; start daebug with --allow-origin ${shown(origin)} to let this one connect, then reload it`;
}

/**
 * Says once per origin that a page on it was refused, so a page that retries, or a site that probes,
 * costs one line each. At most `limit` origins are remembered; later ones are not reported.
 */
export function oncePerOrigin(say: (line: string) => void, limit = 100): (origin: string) => void {
  const told = new Set<string>();
  return (origin) => {
    if (told.has(origin) || told.size >= limit) return;
    told.add(origin);
    say(`refused a page on ${shown(origin)}: not a loopback origin (start daebug with --allow-origin ${shown(origin)} to let pages there connect)`);
  };
}

function shown(origin: string): string {
  return origin.length > 100 ? `${origin.slice(0, 100)}...` : origin;
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
