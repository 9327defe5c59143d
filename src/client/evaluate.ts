/**
 * Compiles a job's code for a page whose client came from another origin as a plain script tag.
 * Code compiled by `Function` takes the error muting of the script that compiles it: compiled in such
 * a client, the agent's uncaught errors would read `Script error.` and its unhandled rejections would
 * not be reported at all. This module is always imported in CORS mode, so code compiled here reports
 * its errors in full.
 */

type CompiledJob = (...values: unknown[]) => Promise<unknown>;
type AsyncFunctionConstructor = new (...paramsAndBody: string[]) => CompiledJob;
const AsyncFunction = (async function () {}).constructor as AsyncFunctionConstructor;

/** The job's body as an async function of `params`, of this module's (unmuted) origin. */
export function compileJob(body: string, params: readonly string[] = []): CompiledJob {
  return new AsyncFunction(...params, body);
}
