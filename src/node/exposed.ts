/**
 * The names an app hands to the agent with `expose({ app, db })`. They live on one object reached by
 * a global symbol, so every copy of daebug/node in the process shares them: the ESM and CommonJS
 * builds, and the copy `npx daebug node` preloads beside the one the app imports.
 */

const KEY = Symbol.for('daebug.node.exposed');

/** The shared object of exposed names (made on first use). */
export function exposedNames(): Record<string, unknown> {
  const holder = globalThis as unknown as Record<symbol, Record<string, unknown> | undefined>;
  holder[KEY] ??= Object.create(null) as Record<string, unknown>;
  return holder[KEY];
}

/** Makes `names` visible to the agent's requests in this process; later calls add to (and replace) earlier ones. */
export function expose(names: Record<string, unknown>): void {
  Object.assign(exposedNames(), names);
}
