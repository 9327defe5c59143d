/**
 * Runs a job in a Node process. The daemon prepared the request (src/code/prepare-code.ts: last
 * expression value, top-level await, declarations that persist as globals) exactly as for pages; here
 * it becomes an async function compiled in the process's own context, in sloppy mode, with:
 *
 * - `require`, made at the app's folder, in ESM apps as in CommonJS ones;
 * - `import()` (the daemon turned it into `__daebugImport()`), resolved against the app's folder:
 *   compiled code would resolve it against daebug's own module;
 * - the names the app handed over with `expose()`, looked up before globals.
 */
import { createRequire, isBuiltin } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInThisContext } from 'node:vm';
import { NODE_IMPORT } from '../protocol/messages.js';
import { exposedNames } from './exposed.js';

/** Runs a prepared job body and resolves with its value (rejects with what it threw). */
export type JobRunner = (body: string, label: string) => Promise<unknown>;

/** A runner whose `require` and `import()` resolve from `appDir`. */
export function createJobRunner(appDir: string): JobRunner {
  // createRequire takes a file; it need not exist.
  const require = createRequire(join(appDir, 'daebug-request.js'));
  const importFromApp = (specifier: unknown) => import(appSpecifier(String(specifier), appDir, require));
  return (body, label) => {
    // `with` is sloppy-mode only, as the prepared body is: exposed names come before globals, and an
    // assignment to one of them changes what the app handed over.
    const source = `(async function (require, ${NODE_IMPORT}, __daebugExposed) { with (__daebugExposed) {\n${body}\n} })`;
    // The body's first line is line 3, as in a browser realm's compiled job (the daemon maps it into the fence).
    const compiled = runInThisContext(source, { filename: label, lineOffset: 1 }) as (require: NodeJS.Require, load: typeof importFromApp, exposed: object) => Promise<unknown>;
    return compiled(require, importFromApp, exposedNames());
  };
}

/**
 * What `import(specifier)` loads for the app: a path against the app's folder; a bare package name as
 * `require.resolve` finds it from there (for a package with separate CommonJS and ESM entries, that is
 * the CommonJS one), else as it is; builtins and URLs as they are.
 */
function appSpecifier(specifier: string, appDir: string, require: NodeJS.Require): string {
  if (/^[a-z][a-z\d+.-]*:/i.test(specifier) || isBuiltin(specifier)) return specifier;
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..' || isAbsolute(specifier)) {
    return pathToFileURL(resolve(appDir, specifier)).href;
  }
  try {
    return pathToFileURL(require.resolve(specifier)).href;
  } catch {
    return specifier;
  }
}
