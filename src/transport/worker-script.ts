/**
 * The app's worker scripts, as daebug serves or proxies them: the same script, with daebug's worker
 * client loaded before the app's first statement. The script keeps its URL, so `self.location`,
 * `import.meta.url`, relative imports and `importScripts` work as they did; the client is added on
 * the script's first line, so every other line keeps its number.
 *
 * A browser asks for a worker's own script the same way for classic and module workers, so the script
 * itself says which it is: one with `import`, `export`, `import.meta` or top-level `await` can only be
 * a module and gets a static import (evaluated before the app's own imports); one that parses as a
 * classic script may be either, and gets `importScripts` (synchronous, before the app's code), which
 * throws in a module worker, where a dynamic import loads the client instead, once the app's first
 * synchronous run is over. Directives stay first, so a `"use strict"` script stays strict.
 */
import type { IncomingMessage } from 'node:http';
import { parse, type Program } from 'acorn';

/** Where the two builds of the worker client are served. */
export interface WorkerClientPaths {
  /** The ES module, for module workers. */
  module: string;
  /** The classic script, for `importScripts`. */
  classic: string;
}

/** Scripts larger than this are not parsed (a second of the daemon's time): they get the prelude that fits both kinds. */
const MAX_PARSED_CHARS = 4 * 1024 * 1024;

/**
 * True for the request of a dedicated worker's own script: `Sec-Fetch-Dest: worker` with the
 * `same-origin` mode of a worker's top-level script (the static imports of a module worker are asked
 * for as `worker` too, but in `cors` mode). Shared workers are not realms (see docs/daemon.md).
 */
export function isWorkerScriptRequest(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.headers['sec-fetch-dest'] === 'worker' && req.headers['sec-fetch-mode'] === 'same-origin';
}

/** The worker script with daebug's worker client loaded first. */
export function injectIntoWorker(source: string, paths: WorkerClientPaths): string {
  const kind = scriptKind(source);
  const start = source.startsWith('#!') ? source.indexOf('\n') + 1 || source.length : 0;
  if (kind.type === 'module') return insert(source, start, `import ${JSON.stringify(paths.module)};`);
  const prelude = `try{importScripts(${JSON.stringify(paths.classic)})}catch{import(${JSON.stringify(paths.module)})}`;
  if (kind.type === 'unknown') return insert(source, start, `${prelude};`);
  // After the directive prologue, on its line: `"use strict"` must stay the first statement.
  return kind.afterDirectives === 0 ? insert(source, start, `${prelude};`) : insert(source, kind.afterDirectives, `;${prelude};`);
}

function insert(source: string, at: number, text: string): string {
  return source.slice(0, at) + text + source.slice(at);
}

type ScriptKind = { type: 'module' } | { type: 'either'; afterDirectives: number } | { type: 'unknown' };

/** Whether a script can only be a module, may be a classic script, or does not parse. */
function scriptKind(source: string): ScriptKind {
  if (source.length > MAX_PARSED_CHARS) return { type: 'unknown' };
  const program = tryParse(source, 'script');
  if (program) {
    let afterDirectives = 0;
    for (const statement of program.body) {
      if (statement.type !== 'ExpressionStatement' || typeof statement.directive !== 'string') break;
      afterDirectives = statement.end;
    }
    return { type: 'either', afterDirectives };
  }
  return tryParse(source, 'module') ? { type: 'module' } : { type: 'unknown' };
}

function tryParse(source: string, sourceType: 'script' | 'module'): Program | null {
  try {
    return parse(source, { ecmaVersion: 'latest', sourceType, allowHashBang: true });
  } catch {
    return null;
  }
}
