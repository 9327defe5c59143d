/**
 * The random values that guard daebug's HTTP surface: the page token, the daemon's token and each
 * realm's secret. Compared in constant time, so a wrong guess teaches nothing about the right one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ROUTES } from '../protocol/routes.js';

/** A new unguessable value (128 bits, URL-safe). */
export function newSecret(): string {
  return randomBytes(16).toString('base64url');
}

/** True when `given` is `expected`; false for a missing or differently sized value. */
export function sameSecret(given: string | undefined | null, expected: string | null): boolean {
  if (typeof given !== 'string' || expected === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The query parameter of `/-daebug/health` that asks the daemon to prove it holds its token. */
export const PROOF_PARAM = 'nonce';

/**
 * What the daemon answers to a nonce: an HMAC-SHA256 of it keyed with the daemon's token (for a
 * nonce of 16 to 128 URL-safe characters). Whoever reads `.daebug/token` can check it before
 * sending the token or trusting the port; a process that took the port of a killed daemon cannot
 * make it.
 */
export function tokenProof(token: string, nonce: string): string {
  return createHmac('sha256', token).update(`daebug-proof:${nonce}`).digest('base64url');
}

/** True when `nonce` is what a proof may be asked for. */
export function isNonce(nonce: unknown): nonce is string {
  return typeof nonce === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(nonce);
}

/**
 * True when whoever answers `ask` (a GET of a path on the daemon's port, with its answer's status and
 * parsed body, or null when none came) proves it holds `token`: it answers a fresh nonce sent to
 * `/-daebug/health` with `tokenProof` of it.
 */
export async function provesToken(token: string, ask: (path: string) => Promise<{ status: number; body: unknown } | null>): Promise<boolean> {
  const nonce = newSecret();
  const answer = await ask(`${ROUTES.health.path}?${PROOF_PARAM}=${nonce}`).catch(() => null);
  const proof = (answer?.body as { proof?: unknown } | null | undefined)?.proof;
  return answer?.status === 200 && typeof proof === 'string' && sameSecret(proof, tokenProof(token, nonce));
}
