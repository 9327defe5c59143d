/**
 * A dev server's answer as daebug passes it on: its head rewritten for daebug's origin (a redirect to
 * the dev server comes back to daebug, cookies lose a Domain the browser would refuse here, no
 * hop-by-hop headers), its body streamed as it comes; a page gets daebug's client, with a nonce in
 * its CSP, and is decoded first when the dev server compressed it anyway.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';
import { allowClient, allowClientInMeta, type ClientSources } from './csp.js';
import { isWorkerScriptRequest } from './worker-script.js';

/** What passing an answer on needs. */
export interface AnswerContext {
  target: URL;
  /** The client injected into a page, with the nonce its tags carry. */
  inject(html: string, nonce: string): string;
  /** The worker client added to one of the app's worker scripts (worker-script.ts). */
  injectWorker(source: string): string;
  /** What daebug cannot do for a page (one sentence), with the path it was first seen on. */
  problem(text: string, path: string): void;
}

/** Headers of one connection, not of the answer (RFC 9110, 7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];
/** Where a browser may show the answer as a page; everything else (fetch, scripts, images) is passed on as it is. */
const PAGE_DESTINATIONS = new Set(['document', 'iframe', 'frame']);
/** The content types a browser runs as a worker script. */
const JAVASCRIPT = /^\s*(text|application)\/(x-)?(javascript|ecmascript)\b/i;
const DECODERS: Record<string, (body: Buffer) => Promise<Buffer>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  br: promisify(brotliDecompress),
  // Servers send zlib-wrapped deflate as the standard says, or raw deflate as some always have.
  deflate: (body) => promisify(inflate)(body).catch(() => promisify(inflateRaw)(body)),
  identity: async (body) => body,
};

/**
 * True for a request whose HTML answer daebug makes a realm: a GET that a browser will show as a page.
 * A request without Sec-Fetch-Dest (curl, older browsers) counts, as every page daebug serves does.
 */
export function isPageRequest(req: IncomingMessage): boolean {
  const destination = req.headers['sec-fetch-dest'];
  return req.method === 'GET' && (destination === undefined || PAGE_DESTINATIONS.has(String(destination)));
}

/**
 * Prepares a page request, or a worker's script request: the dev server is asked for an uncompressed,
 * complete answer (no 304 for a page the browser cached with an earlier run's token and nonce, or a
 * worker script cached without daebug's client).
 */
export function preparePageRequest(req: IncomingMessage): void {
  req.headers['accept-encoding'] = 'identity';
  delete req.headers['if-none-match'];
  delete req.headers['if-modified-since'];
}

/** Sends the dev server's answer on to the browser. */
export async function passAnswer(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse, context: AnswerContext): Promise<void> {
  const origin = `http://${req.headers.host ?? 'localhost'}`;
  const headers = answerHead(proxyRes.headers, context.target, origin);
  const status = proxyRes.statusCode ?? 502;
  const isHtml = /^\s*text\/html\b/i.test(String(proxyRes.headers['content-type'] ?? ''));
  if (isHtml && isPageRequest(req) && status !== 204 && status !== 304) return sendPage(proxyRes, req, res, headers, { ...context, origin });
  if (status === 200 && isWorkerScriptRequest(req) && JAVASCRIPT.test(String(proxyRes.headers['content-type'] ?? ''))) return sendWorkerScript(proxyRes, res, headers, context);
  // The length and validators of a page's HEAD describe the page without daebug's client.
  if (isHtml && req.method === 'HEAD') for (const name of ['content-length', 'etag', 'last-modified']) delete headers[name];
  res.writeHead(status, proxyRes.statusMessage, headers);
  // A streamed answer (server-sent events, a chunked body) shows its head at once, as it would directly.
  if (headers['content-length'] === undefined) res.flushHeaders();
  // pipe, not stream.pipeline: pipeline's AbortController costs an AbortError per answer, a tenth of
  // daebug's time per small answer. A browser that goes away is handled by http-proxy-3 (it ends the
  // request to the dev server); a dev server that breaks off ends the browser's answer the same way.
  proxyRes.once('error', () => res.destroy());
  proxyRes.pipe(res);
}

/** The answer's headers for the browser, which talks to daebug's origin. */
function answerHead(incoming: IncomingHttpHeaders, target: URL, origin: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...incoming };
  for (const name of HOP_BY_HOP) delete headers[name];
  const location = incoming.location;
  if (location !== undefined) headers.location = ownLocation(location, target, origin);
  const cookies = incoming['set-cookie'];
  // The browser keeps a Domain-less cookie for the host it asked, daebug's; a dev server's Domain may be refused there.
  if (cookies) headers['set-cookie'] = cookies.map((cookie) => cookie.replace(/;\s*domain\s*=[^;]*/gi, ''));
  return headers;
}

/** A Location that names the dev server, as the same path on daebug; any other stays as it is. */
function ownLocation(location: string, target: URL, origin: string): string {
  if (!/^([a-z][a-z\d+.-]*:)?\/\//i.test(location)) return location;
  let url: URL;
  try {
    url = new URL(location, target);
  } catch {
    return location;
  }
  const sameHost = url.host === target.host || (isLoopbackName(url.hostname) && isLoopbackName(target.hostname) && url.port === target.port);
  return url.protocol === target.protocol && sameHost ? origin + url.pathname + url.search + url.hash : location;
}

/** True for a host name or address of this machine. */
export function isLoopbackName(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare.endsWith('.localhost') || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/**
 * A page is read whole (pages are small; a streamed page shows once it is complete), decoded,
 * injected and sent with its new length. Bytes are handled as latin1, one character per byte, so a
 * page in any ASCII-compatible charset keeps every byte daebug does not touch.
 */
async function sendPage(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, context: AnswerContext & { origin: string }): Promise<void> {
  const path = req.url ?? '/';
  const { raw, decoded, encodings } = await readDecoded(proxyRes, headers);
  if (decoded === null) {
    context.problem(`it sent a page encoded as ${encodings.join(', ')}, which daebug cannot decode, so that page has no daebug client`, path);
    res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
    return void res.end(raw);
  }
  const sources: ClientSources = { nonce: randomBytes(16).toString('base64'), origin: context.origin };
  const problems = new Set<string>();
  for (const name of ['content-security-policy', 'content-security-policy-report-only']) {
    const policy = headers[name];
    if (policy === undefined) continue;
    const allowed = allowClient(Array.isArray(policy) ? policy.join(', ') : String(policy), sources);
    headers[name] = allowed.policy;
    if (name === 'content-security-policy') for (const problem of allowed.problems) problems.add(problem);
  }
  const withMeta = allowClientInMeta(decoded.toString('latin1'), sources);
  for (const problem of withMeta.problems) problems.add(problem);
  for (const problem of problems) context.problem(problem, path);
  // The page carries this run's token and nonce: a cached copy would not connect after a restart.
  sendRewritten(proxyRes, res, headers, Buffer.from(context.inject(withMeta.html, sources.nonce), 'latin1'));
}

/**
 * One of the app's worker scripts, with daebug's worker client added (read whole, like a page). A
 * script that cannot be decoded is passed on as it came, and its worker is no realm. Scripts are
 * UTF-8 (a worker script has no charset of its own to declare otherwise).
 */
async function sendWorkerScript(proxyRes: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, context: AnswerContext): Promise<void> {
  const { raw, decoded } = await readDecoded(proxyRes, headers);
  if (decoded === null) {
    res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
    return void res.end(raw);
  }
  sendRewritten(proxyRes, res, headers, Buffer.from(context.injectWorker(decoded.toString('utf8')), 'utf8'));
}

/** The answer, whole and read: its body decoded (null when daebug cannot), and the encodings it named. */
async function readDecoded(proxyRes: IncomingMessage, headers: OutgoingHttpHeaders): Promise<{ raw: Buffer; decoded: Buffer | null; encodings: string[] }> {
  const chunks: Buffer[] = [];
  for await (const chunk of proxyRes) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const encodings = String(headers['content-encoding'] ?? 'identity').toLowerCase().split(',').map((name) => name.trim()).filter(Boolean);
  return { raw, decoded: await decodeBody(raw, encodings), encodings };
}

/** Sends a body daebug changed: uncompressed, with its new length, never cached (it is not the dev server's any more). */
function sendRewritten(proxyRes: IncomingMessage, res: ServerResponse, headers: OutgoingHttpHeaders, body: Buffer): void {
  for (const name of ['content-encoding', 'content-length', 'etag', 'last-modified', 'content-md5', 'digest']) delete headers[name];
  headers['cache-control'] = 'no-store';
  headers['content-length'] = body.length;
  res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
  res.end(body);
}

/** The body with its encodings undone (last applied, first undone); null for one daebug cannot decode or a corrupt body. */
async function decodeBody(body: Buffer, encodings: readonly string[]): Promise<Buffer | null> {
  let decoded = body;
  for (const encoding of [...encodings].reverse()) {
    const decoder = DECODERS[encoding];
    if (!decoder) return null;
    try {
      decoded = await decoder(decoded);
    } catch {
      return null;
    }
  }
  return decoded;
}
