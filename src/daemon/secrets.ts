/**
 * The random values that guard daebug's HTTP surface: the page token, the daemon's token and each
 * realm's secret. Compared in constant time, so a wrong guess teaches nothing about the right one.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

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
