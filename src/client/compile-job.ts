/**
 * A job's prepared code as a function to call: the body of an async function in the global scope, in
 * sloppy mode. A page whose Content-Security-Policy forbids building code from text ('unsafe-eval') still
 * lets through scripts with the nonce daebug put on its client tag (and into the policy, for pages it
 * passes on with --proxy): there a script with that nonce builds the same function.
 */

type AsyncFunctionConstructor = new (parameter: string, body: string) => (daebug: unknown) => Promise<unknown>;
const AsyncFunction = (async function () {}).constructor as AsyncFunctionConstructor;

let sequence = 0;

/** The job's code as a function; throws the browser's EvalError when neither way is allowed. */
export function compileJob(body: string, nonce: string | undefined): (daebug: unknown) => Promise<unknown> {
  try {
    return new AsyncFunction('daebug', body);
  } catch (error) {
    if (!(error instanceof EvalError) || !nonce || typeof document === 'undefined') throw error;
    return compileInScript(body, nonce, error);
  }
}

function compileInScript(body: string, nonce: string, refused: EvalError): (daebug: unknown) => Promise<unknown> {
  const key = `__daebugJob${++sequence}`;
  const holder = globalThis as unknown as Record<string, unknown>;
  const script = document.createElement('script');
  script.nonce = nonce;
  script.text = `globalThis[${JSON.stringify(key)}] = async function (daebug) {\n${body}\n};`;
  (document.head ?? document.documentElement).appendChild(script);
  script.remove();
  const compiled = holder[key];
  delete holder[key];
  if (typeof compiled !== 'function') throw refused;
  return compiled as (daebug: unknown) => Promise<unknown>;
}
