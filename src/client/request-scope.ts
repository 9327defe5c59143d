/**
 * The names a request has besides the realm's globals: the console utilities (console-utilities.ts)
 * and `daebug`, the helpers of daebug itself. They are parameters of the request's function, so the
 * page's globals are never touched. Each helper lives in its own module and is added to `helpers`.
 */
import { consoleUtilities } from './console-utilities.js';

/** A request's own names and their values, in the same order. */
export interface RequestScope {
  params: string[];
  values: unknown[];
}

/** The scope of a request in `scope`, with `helpers` as the members of `daebug`. */
export function requestScope(scope: typeof globalThis, helpers: Record<string, unknown>): RequestScope {
  const names: Record<string, unknown> = { ...consoleUtilities(scope), daebug: Object.freeze({ ...helpers }) };
  return { params: Object.keys(names), values: Object.values(names) };
}
