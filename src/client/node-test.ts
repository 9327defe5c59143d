/**
 * `node:test` for pages and workers, with the semantics of Node's own runner (as `node --test`
 * without `--test-only`): top-level tests and suites run in order, suites collect their children when
 * they are defined, hooks run around them, `skip` tests do not run, `todo` tests run but cannot fail
 * the run, a timed-out test is cancelled, a test with a failing subtest fails, and `only` is accepted
 * but, as in Node without `--test-only`, does not narrow the run. Served as /-daebug/node-test.js.
 */
import type { TestProgressEvent } from '../protocol/messages.js';
import { routePath } from '../protocol/routes.js';
import { renderError as renderAnyError } from './render-value.js';

/** Where this runner is served from, to tell its own stack frames apart. */
const RUNNER_PATH = routePath('nodeTest');

/** An error as the log shows it, without the runner's own stack frames. */
function renderError(error: unknown): string {
  return renderAnyError(error)
    .split('\n')
    .filter((line) => !isRunnerFrame(line))
    .join('\n');
}

/** True for a stack line of the runner's own: in its file, in the test frame's inline script (about:srcdoc), or anonymous. */
function isRunnerFrame(line: string): boolean {
  return /^\s+at /.test(line) && (line.includes(RUNNER_PATH) || line.includes('about:srcdoc') || line.endsWith('<anonymous>)'));
}

/** Options of a test or suite, as in Node. */
export interface TestOptions {
  skip?: boolean | string;
  todo?: boolean | string;
  only?: boolean;
  timeout?: number;
  concurrency?: number | boolean;
  signal?: AbortSignal;
}

type Done = (error?: unknown) => void;
type TestFn = (t: TestContext, done: Done) => unknown;
type SuiteFn = (s: SuiteContext) => unknown;
type HookFn = (t: TestContext | SuiteContext, done: Done) => unknown;

interface Hooks {
  before: HookFn[];
  after: HookFn[];
  beforeEach: HookFn[];
  afterEach: HookFn[];
}

interface Suite {
  kind: 'suite';
  name: string;
  options: TestOptions;
  children: Item[];
  hooks: Hooks;
  /** An error thrown while the suite collected its children. */
  error?: unknown;
}

interface Test {
  kind: 'test';
  name: string;
  options: TestOptions;
  fn?: TestFn;
}

type Item = Suite | Test;

/** What the test function receives. */
export interface TestContext {
  name: string;
  signal: AbortSignal;
  test(name?: string | TestOptions | TestFn, options?: TestOptions | TestFn, fn?: TestFn): Promise<void>;
  skip(message?: string): void;
  todo(message?: string): void;
  diagnostic(message: string): void;
  before(fn: HookFn): void;
  after(fn: HookFn): void;
  beforeEach(fn: HookFn): void;
  afterEach(fn: HookFn): void;
}

/** What a suite function receives. */
export interface SuiteContext {
  name: string;
  signal: AbortSignal;
}

/** Counts as Node's runner reports them. */
export interface Summary {
  tests: number;
  suites: number;
  pass: number;
  fail: number;
  cancelled: number;
  skipped: number;
  todo: number;
  durationMs: number;
}

const newHooks = (): Hooks => ({ before: [], after: [], beforeEach: [], afterEach: [] });
const newSuite = (name: string, options: TestOptions = {}): Suite => ({ kind: 'suite', name, options, children: [], hooks: newHooks() });

/** Where definitions go: the suite being collected (a file's root while it is imported). */
let collecting: Suite | null = null;
/** The root of definitions made outside any run: they run on their own, reported on the console. */
let looseRoot: Suite | null = null;

function parseArgs<F>(name: unknown, options: unknown, fn: unknown): { name: string; options: TestOptions; fn?: F } {
  const args = [name, options, fn];
  const title = typeof args[0] === 'string' ? (args.shift() as string) : typeof args[0] === 'function' ? (args[0] as { name?: string }).name || '<anonymous>' : '<anonymous>';
  if (typeof args[0] !== 'object' || args[0] === null) args.unshift({});
  return { name: title, options: { ...(args[0] as TestOptions) }, fn: typeof args[1] === 'function' ? (args[1] as F) : undefined };
}

function target(): Suite {
  if (collecting) return collecting;
  if (!looseRoot) {
    const root = (looseRoot = newSuite('<root>'));
    setTimeout(() => {
      looseRoot = null;
      void runSuite(root, [], { onEvent: logToConsole }, []);
    }, 0);
  }
  return looseRoot;
}

type Define<O> = ((name?: unknown, options?: unknown, fn?: unknown) => O) & {
  skip: (name?: unknown, options?: unknown, fn?: unknown) => O;
  todo: (name?: unknown, options?: unknown, fn?: unknown) => O;
  only: (name?: unknown, options?: unknown, fn?: unknown) => O;
};

function withVariants<O>(define: (name: unknown, options: unknown, fn: unknown, extra: TestOptions) => O): Define<O> {
  const base = ((name?: unknown, options?: unknown, fn?: unknown) => define(name, options, fn, {})) as Define<O>;
  base.skip = (name, options, fn) => define(name, options, fn, { skip: true });
  base.todo = (name, options, fn) => define(name, options, fn, { todo: true });
  base.only = (name, options, fn) => define(name, options, fn, { only: true });
  return base;
}

/** Defines a test. Inside a suite it is collected; at the top of a file it runs in order. */
export const test = withVariants<Promise<void>>((name, options, fn, extra) => {
  const parsed = parseArgs<TestFn>(name, options, fn);
  target().children.push({ kind: 'test', name: parsed.name, options: { ...parsed.options, ...extra }, fn: parsed.fn });
  return Promise.resolve();
});
export const it = test;

/** Defines a suite: its function runs now and collects the tests and hooks inside it. */
export const describe = withVariants<Promise<void>>((name, options, fn, extra) => {
  const parsed = parseArgs<SuiteFn>(name, options, fn);
  const suite = newSuite(parsed.name, { ...parsed.options, ...extra });
  const parent = target();
  parent.children.push(suite);
  const previous = collecting;
  collecting = suite;
  try {
    const result = parsed.fn?.({ name: suite.name, signal: new AbortController().signal });
    if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).catch((error) => (suite.error = error));
  } catch (error) {
    suite.error = error;
  } finally {
    collecting = previous;
  }
  return Promise.resolve();
});
export const suite = describe;

/** Runs once before the tests of the current suite (or file). */
export function before(fn: HookFn): void {
  target().hooks.before.push(fn);
}
/** Runs once after the tests of the current suite (or file). */
export function after(fn: HookFn): void {
  target().hooks.after.push(fn);
}
/** Runs before each test of the current suite (or file), nested suites included. */
export function beforeEach(fn: HookFn): void {
  target().hooks.beforeEach.push(fn);
}
/** Runs after each test of the current suite (or file), nested suites included. */
export function afterEach(fn: HookFn): void {
  target().hooks.afterEach.push(fn);
}

/** How a run reports. */
export interface RunOptions {
  files?: string[];
  /** Default per-test timeout in milliseconds (Node's default is none). */
  timeout?: number;
  onEvent?: (event: TestProgressEvent) => void;
}

interface Reporter {
  onEvent: (event: TestProgressEvent) => void;
  timeout?: number;
}

/** Runs test files in order, each imported fresh; resolves with Node-style counts. */
export async function run(options: RunOptions = {}): Promise<Summary> {
  const reporter: Reporter = { onEvent: options.onEvent ?? logToConsole, timeout: options.timeout };
  const summary: Summary = { tests: 0, suites: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0, durationMs: 0 };
  const started = now();
  const count = (event: TestProgressEvent) => {
    if (event.kind === 'pass') summary.pass++;
    else if (event.kind === 'fail') (event.cancelled ? summary.cancelled++ : summary.fail++);
    else if (event.kind === 'skip') summary.skipped++;
    else if (event.kind === 'todo') summary.todo++;
    else if (event.kind === 'suite') summary.suites++;
    if (event.kind === 'pass' || event.kind === 'fail' || event.kind === 'skip' || event.kind === 'todo') summary.tests++;
    reporter.onEvent(event);
  };
  const files = options.files ?? [];
  reporter.onEvent({ kind: 'plan', total: 0, files });
  const runId = Math.random().toString(36).slice(2);
  for (const file of files) {
    const root = newSuite(file);
    collecting = root;
    try {
      // A srcdoc frame's location is about:srcdoc; its base URL is the page's.
      const base = new URL((globalThis as { document?: { baseURI: string } }).document?.baseURI ?? globalThis.location?.href);
      const url = new URL(file, base);
      // Test files are this origin's own: never a script from elsewhere or a data: URL.
      if (url.origin !== base.origin) throw new Error(`refused: ${file} is not a file of ${base.origin}`);
      url.searchParams.set('daebug-run', runId);
      await import(/* @vite-ignore */ url.href);
    } catch (error) {
      collecting = null;
      count({ kind: 'fail', path: [file], durationMs: 0, error: `cannot import ${file}:\n${renderError(error)}` });
      continue;
    }
    collecting = null;
    await runSuite(root, [], { ...reporter, onEvent: count }, []);
  }
  summary.durationMs = now() - started;
  reporter.onEvent({ kind: 'end', durationMs: summary.durationMs });
  return summary;
}

async function runSuite(suite: Suite, path: string[], reporter: Reporter, inherited: { beforeEach: HookFn[]; afterEach: HookFn[] }[]): Promise<void> {
  const context = { name: suite.name, signal: new AbortController().signal };
  const levels = [...inherited, { beforeEach: suite.hooks.beforeEach, afterEach: suite.hooks.afterEach }];
  const before = await runHooks(suite.hooks.before, context);
  for (const child of suite.children) {
    const childPath = [...path, child.name];
    if (child.kind === 'suite') {
      reporter.onEvent({ kind: 'suite', path: childPath });
      if (child.options.skip || child.options.todo) continue;
      if (child.error !== undefined) {
        reporter.onEvent({ kind: 'fail', path: childPath, durationMs: 0, error: renderError(child.error) });
        continue;
      }
      await runSuite(child, childPath, reporter, levels);
      continue;
    }
    if (before !== null) {
      // Node cancels the tests of a suite whose before hook failed.
      reporter.onEvent({ kind: 'fail', path: childPath, durationMs: 0, error: `a before hook failed:\n${renderError(before)}`, cancelled: true });
      continue;
    }
    await runTest(child, childPath, reporter, levels);
  }
  await runHooks(suite.hooks.after, context);
}

async function runTest(test: Test, path: string[], reporter: Reporter, levels: { beforeEach: HookFn[]; afterEach: HookFn[] }[]): Promise<void> {
  if (test.options.skip) {
    reporter.onEvent({ kind: 'skip', path, durationMs: 0, ...(typeof test.options.skip === 'string' ? { reason: test.options.skip } : {}) });
    return;
  }
  reporter.onEvent({ kind: 'start', path });
  const started = now();
  const abort = new AbortController();
  let marked: { kind: 'skip' | 'todo'; reason?: string } | null = test.options.todo ? { kind: 'todo', ...(typeof test.options.todo === 'string' ? { reason: test.options.todo } : {}) } : null;
  const subtests: Promise<boolean>[] = [];
  const ownHooks = newHooks();
  const context: TestContext = {
    name: test.name,
    signal: abort.signal,
    test(name, options, fn) {
      const parsed = parseArgs<TestFn>(name, options, fn);
      const child: Test = { kind: 'test', name: parsed.name, options: parsed.options, fn: parsed.fn };
      const previous = subtests[subtests.length - 1] ?? Promise.resolve(true);
      const outcome = previous.then(() => runSubtest(child, [...path, child.name], reporter, [...levels, { beforeEach: ownHooks.beforeEach, afterEach: ownHooks.afterEach }]));
      subtests.push(outcome);
      return outcome.then(() => undefined);
    },
    skip(message) {
      marked = { kind: 'skip', ...(message ? { reason: message } : {}) };
    },
    todo(message) {
      marked = { kind: 'todo', ...(message ? { reason: message } : {}) };
    },
    diagnostic() {},
    before: (fn) => ownHooks.before.push(fn),
    after: (fn) => ownHooks.after.push(fn),
    beforeEach: (fn) => ownHooks.beforeEach.push(fn),
    afterEach: (fn) => ownHooks.afterEach.push(fn),
  };
  let error: unknown = null;
  let cancelled = false;
  try {
    for (const level of levels) for (const hook of level.beforeEach) await callWithDone(hook, context);
    if (test.fn) {
      const timeout = test.options.timeout ?? reporter.timeout;
      await withTimeout(callWithDone(test.fn, context), timeout, () => {
        cancelled = true;
        abort.abort();
      });
    }
    const results = await Promise.all(subtests);
    const failed = results.filter((ok) => !ok).length;
    if (failed > 0) error = new Error(`${failed} subtest${failed > 1 ? 's' : ''} failed`);
  } catch (thrown) {
    error = thrown;
  }
  try {
    for (const level of [...levels].reverse()) for (const hook of level.afterEach) await callWithDone(hook, context);
  } catch (thrown) {
    error ??= thrown;
  }
  const durationMs = now() - started;
  const mark = marked as { kind: 'skip' | 'todo'; reason?: string } | null;
  if (mark) {
    reporter.onEvent({ kind: mark.kind, path, durationMs, ...(mark.reason ? { reason: mark.reason } : {}) });
    return;
  }
  if (error !== null) reporter.onEvent({ kind: 'fail', path, durationMs, error: renderError(error), ...(cancelled ? { cancelled: true } : {}) });
  else reporter.onEvent({ kind: 'pass', path, durationMs });
}

/** Runs a subtest and tells its parent whether it passed (skips and todos do not fail a parent). */
async function runSubtest(test: Test, path: string[], reporter: Reporter, levels: { beforeEach: HookFn[]; afterEach: HookFn[] }[]): Promise<boolean> {
  let passed = true;
  await runTest(test, path, { ...reporter, onEvent: (event) => {
    if (event.kind === 'fail' && event.path === path) passed = false;
    reporter.onEvent(event);
  } }, levels);
  return passed;
}

async function runHooks(hooks: HookFn[], context: TestContext | SuiteContext): Promise<unknown> {
  try {
    for (const hook of hooks) await callWithDone(hook, context);
    return null;
  } catch (error) {
    return error ?? new Error('hook failed');
  }
}

/** Calls a function that may return a promise or take a `done` callback, as Node's runner does. */
function callWithDone(fn: (context: never, done: Done) => unknown, context: unknown): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done: Done = (error) => (error ? reject(error) : resolve());
    let result: unknown;
    try {
      result = (fn as (context: unknown, done: Done) => unknown)(context, done);
    } catch (error) {
      reject(error);
      return;
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(() => resolve(), reject);
    else if (fn.length < 2) resolve();
  });
}

function withTimeout(work: Promise<void>, timeout: number | undefined, onTimeout: () => void): Promise<void> {
  if (!timeout || !Number.isFinite(timeout)) return work;
  let timer: ReturnType<typeof setTimeout>;
  const expired = new Promise<void>((_resolve, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`test timed out after ${timeout}ms`));
    }, timeout);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/** Without a daemon run, results go to the console like Node's spec reporter, briefly. */
function logToConsole(event: TestProgressEvent): void {
  if (event.kind === 'pass') console.log(`✔ ${event.path.join(' > ')} (${Math.round(event.durationMs)}ms)`);
  else if (event.kind === 'fail') console.error(`✖ ${event.path.join(' > ')}\n${event.error}`);
  else if (event.kind === 'skip' || event.kind === 'todo') console.log(`﹣ ${event.path.join(' > ')} # ${event.kind.toUpperCase()}`);
}
