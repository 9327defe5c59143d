/**
 * `daebug/node`: makes a Node process a realm of the daebug serving its folder. Loaded by
 * `node --import daebug/node app.js` (or `--require daebug/node`), by `npx daebug node app.js`, or by
 * the app itself with `import { expose } from 'daebug/node'`. Only the main thread connects, and only
 * once per process, however many copies of this module load (ESM and CommonJS builds, a preloaded
 * copy and the app's own).
 */
import { isMainThread } from 'node:worker_threads';
import { startNodeRealm } from './realm.js';

export { expose } from './exposed.js';

const STARTED = Symbol.for('daebug.node.started');

function startOnce(): void {
  const holder = globalThis as unknown as Record<symbol, boolean | undefined>;
  if (!isMainThread || holder[STARTED]) return;
  holder[STARTED] = true;
  try {
    startNodeRealm();
  } catch (error) {
    console.error(`daebug: could not attach to this process: ${String(error)}`);
  }
}

startOnce();
