/**
 * The parts of Node's `process` that the `assert` package reads, for browser bundles: no colours, no
 * deprecation switches, `nextTick` on the microtask queue.
 */
export const process = {
  env: {},
  stderr: {},
  nextTick: (callback: (...args: unknown[]) => void, ...args: unknown[]) => queueMicrotask(() => callback(...args)),
};
