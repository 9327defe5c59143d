/**
 * The test-run API: discover test files, start a run in a realm and stream its progress (NDJSON),
 * and the realm's side that streams progress in.
 */
import type { ServerResponse } from 'node:http';
import { DEFAULT_TIMING, type Daemon, type RealmApi } from '../../daemon/contract.js';
import { discoverTestFiles } from '../../daemon/test-discovery.js';
import type { TestProgressEvent } from '../../protocol/messages.js';
import { readJson } from '../body.js';
import { HttpError, param, sendJson, type Request } from '../http.js';
import { testProgressMessage } from '../validate.js';
import { originAndPath } from '../../protocol/safe-text.js';

/** What the routes need. */
export interface TestRoutesContext {
  root: string;
  daemon: () => Daemon | null;
}

/** At most this many files in one run; each a path on this server of at most 2,048 characters. */
const MAX_RUN_FILES = 10_000;
const MAX_PATH_CHARS = 2048;
/** The longest a test may run before it fails. */
const MAX_TEST_TIMEOUT_MS = 3_600_000;
/** A run's body: its file list. */
const MAX_RUN_BODY_BYTES = 2 * 1024 * 1024;

function daemonOf(context: TestRoutesContext): Daemon {
  const daemon = context.daemon();
  if (!daemon) throw new HttpError(503, 'ERR_STARTING', 'daebug is starting');
  return daemon;
}

function strings(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new HttpError(400, 'ERR_BAD_MESSAGE', `${what} must be an array of strings`);
  return value as string[];
}

/** GET /-daebug/realms: the connected realms, most recently active first; a page by origin and path only. */
export function realmsRoute(context: TestRoutesContext) {
  return function realms(_req: Request, res: ServerResponse) {
    sendJson(res, 200, daemonOf(context).realms().map((realm) => ({ ...realm, url: originAndPath(realm.url) })));
  };
}

/**
 * True for a path on this server (`/tests/a.test.js`): never another origin, a `data:` or
 * `javascript:` URL, or a protocol-relative `//host/...`, which a page would import and run.
 */
export function isServerPath(file: string): boolean {
  if (file.length === 0 || file.length > MAX_PATH_CHARS || !file.startsWith('/') || /[\\\u0000-\u001f\u007f]/.test(file)) return false;
  const base = 'http://daebug.invalid';
  try {
    return new URL(file, base).origin === base && !file.startsWith('//');
  } catch {
    return false;
  }
}

/**
 * POST /-daebug/open {target, headless, browser}: `--open` joining this daebug; answers the URL
 * opened, 400 with the reason for a target refused, 503 when no browser could be launched.
 */
export function openRoute(open: ((target: string, how: { headless: boolean; browser: string | null }) => Promise<string>) | undefined) {
  return async function openPage(req: Request, res: ServerResponse) {
    const body = (await readJson(req)) as { target?: unknown; headless?: unknown; browser?: unknown } | null;
    if (typeof body?.target !== 'string' || typeof body.headless !== 'boolean' || !(body.browser === null || typeof body.browser === 'string')) throw new HttpError(400, 'ERR_BAD_MESSAGE', 'target (a string), headless (a boolean) and browser (a path or null) are needed');
    if (!open) throw new HttpError(503, 'ERR_NO_BROWSER', 'this daebug launches no browser');
    const opened = await open(body.target, { headless: body.headless, browser: body.browser }).then(
      (url) => ({ url }),
      (error: Error & { code?: string }) => {
        throw new HttpError(error.code === 'ERR_OPEN_REFUSED' ? 400 : 503, error.code === 'ERR_OPEN_REFUSED' ? 'ERR_OPEN_REFUSED' : 'ERR_NO_BROWSER', error.message.split('\n')[0]!);
      },
    );
    sendJson(res, 200, opened);
  };
}

/** POST /-daebug/tests/discover {patterns?}: test files under the root, `capped` when there were more than listed; 400 for a refused pattern. */
export function discoverRoute(context: TestRoutesContext) {
  return async function discover(req: Request, res: ServerResponse) {
    const body = (await readJson(req)) as { patterns?: unknown } | null;
    const found = await discoverTestFiles(context.root, strings(body?.patterns, 'patterns'));
    if (!found.ok) throw new HttpError(400, found.code, found.error);
    sendJson(res, 200, { files: found.files, capped: found.capped });
  };
}

/** POST /-daebug/tests/run {realm, files, timeoutMs}: streams the run's events as NDJSON until `end`. */
export function runRoute(context: TestRoutesContext) {
  return async function runTests(req: Request, res: ServerResponse) {
    const body = (await readJson(req, MAX_RUN_BODY_BYTES)) as { realm?: unknown; files?: unknown; timeoutMs?: unknown } | null;
    if (typeof body?.realm !== 'string') throw new HttpError(400, 'ERR_BAD_MESSAGE', 'realm must be a string');
    const files = strings(body.files, 'files');
    if (files.length === 0) throw new HttpError(400, 'ERR_BAD_MESSAGE', 'no files to run');
    if (files.length > MAX_RUN_FILES) throw new HttpError(400, 'ERR_BAD_MESSAGE', `at most ${MAX_RUN_FILES} files per run`);
    const foreign = files.find((file) => !isServerPath(file));
    if (foreign !== undefined) throw new HttpError(400, 'ERR_BAD_MESSAGE', `${JSON.stringify(foreign.slice(0, 100))} is not a path on this server (/dir/file.test.js)`);
    const timeoutMs = typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? Math.min(body.timeoutMs, MAX_TEST_TIMEOUT_MS) : DEFAULT_TIMING.timeoutMs;
    const handle = daemonOf(context).runTests(body.realm, files, timeoutMs);
    if (!handle.ok) throw new HttpError(handle.code === 'ERR_BUSY' ? 429 : 400, handle.code, handle.message);
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    res.write(JSON.stringify({ kind: 'accepted', runId: handle.runId }) + '\n');
    await new Promise<void>((resolve) => {
      const unsubscribe = handle.subscribe((event: TestProgressEvent) => {
        res.write(JSON.stringify(event) + '\n');
        if (event.kind === 'end') {
          unsubscribe();
          res.end();
          resolve();
        }
      });
      res.once('close', () => {
        unsubscribe();
        // A caller that gave up before the realm took the run leaves nothing queued behind.
        handle.cancel();
        resolve();
      });
    });
  };
}

/** POST /-daebug/realms/:realm/tests/progress {runId, events} */
export function progressRoute(context: { realmApi: () => RealmApi | null }) {
  return async function testProgress(req: Request, res: ServerResponse) {
    const realmApi = context.realmApi();
    if (!realmApi) throw new HttpError(503, 'ERR_STARTING', 'daebug is starting');
    const result = await realmApi.testProgress(param(req, 'realm'), testProgressMessage(await readJson(req)));
    sendJson(res, result.ok ? 200 : 409, result);
  };
}
