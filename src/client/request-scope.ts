/**
 * The names a request has besides the realm's globals: the console utilities (console-utilities.ts)
 * and `daebug`, the helpers of daebug itself. They are parameters of the request's function, so the
 * page's globals are never touched. Each helper lives in its own module and is added to `helpers`.
 */
import { consoleUtilities } from './console-utilities.js';
import type { CompiledJob } from './compile-job.js';
import { outline } from './outline.js';
import { screenshotHelper, type ScreenshotCall } from './screenshot.js';
import { REQUEST_SOURCE_PREFIX } from '../protocol/messages.js';

/** A request's own names and their values, in the same order. */
export interface RequestScope {
  params: string[];
  values: unknown[];
}

/** The members of `daebug` in a realm's requests: `outline` where there is a document, `screenshot`. */
export function realmHelpers(screenshot: ScreenshotCall): Record<string, unknown> {
  return { ...(typeof document !== 'undefined' ? { outline } : {}), screenshot: screenshotHelper(screenshot) };
}

/**
 * Compiles and runs a job's body once with the request's own names in scope. Named
 * `daebug-request-<job id>`, so the daemon finds the job's frames in a stack and shows them in the fence.
 */
export async function runRequest(scope: typeof globalThis, jobId: string, body: string, helpers: Record<string, unknown>, compile: (body: string, params: readonly string[]) => Promise<CompiledJob>): Promise<unknown> {
  const request = requestScope(scope, helpers);
  const job = await compile(`${body}\n//# sourceURL=${REQUEST_SOURCE_PREFIX}${jobId}`, request.params);
  return job(...request.values);
}

/** The scope of a request in `scope`, with `helpers` as the members of `daebug`. */
export function requestScope(scope: typeof globalThis, helpers: Record<string, unknown>): RequestScope {
  const names: Record<string, unknown> = { ...consoleUtilities(scope), daebug: Object.freeze({ ...helpers }) };
  return { params: Object.keys(names), values: Object.values(names) };
}
