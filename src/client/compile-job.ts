/**
 * A job's prepared code as a function to call: the body of an async function in the global scope, in
 * sloppy mode, whose parameters are the request's own names (console utilities, `daebug`), so they are
 * in scope for the request without being globals of the page. A page whose Content-Security-Policy
 * forbids building code from text ('unsafe-eval') still lets through scripts with the nonce daebug
 * put on its client tag (and into the policy, for pages it passes on with --proxy): there a script
 * with that nonce builds the same function, with the same two lines above the body, so positions in
 * the body read the same either way (the daemon maps them back into the fence).
 */

/** A compiled job: call it with the values of its parameters. */
export type CompiledJob = (...values: unknown[]) => Promise<unknown>;

type AsyncFunctionConstructor = new (...paramsAndBody: string[]) => CompiledJob;
const AsyncFunction = (async function () {}).constructor as AsyncFunctionConstructor;

let sequence = 0;

/** The job's code as a function of `params`; throws the browser's EvalError when neither way is allowed. */
export function compileJob(body: string, params: readonly string[], nonce: string | undefined): CompiledJob {
  try {
    return new AsyncFunction(...params, body);
  } catch (error) {
    if (!(error instanceof EvalError) || !nonce || typeof document === 'undefined') throw error;
    return compileInScript(body, params, nonce, error);
  }
}

function compileInScript(body: string, params: readonly string[], nonce: string, refused: EvalError): CompiledJob {
  const key = `__daebugJob${++sequence}`;
  const holder = globalThis as unknown as Record<string, unknown>;
  const script = document.createElement('script');
  script.nonce = nonce;
  script.text = `globalThis[${JSON.stringify(key)}] = async function anonymous(${params.join(',')}\n) {\n${body}\n};`;
  (document.head ?? document.documentElement).appendChild(script);
  script.remove();
  const compiled = holder[key];
  delete holder[key];
  if (typeof compiled !== 'function') throw refused;
  return compiled as CompiledJob;
}
