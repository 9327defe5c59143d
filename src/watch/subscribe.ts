/**
 * Turns native file events into one settled "this log may have changed" signal per file, for
 * `daebug.md` and `daebug/*.md` under the root.
 *
 * @parcel/watcher is the backbone: it sees the whole tree on every platform, including `daebug/`
 * appearing, vanishing and coming back. It holds events for a fixed 50 ms in native code, which would
 * be most of the save-to-answer budget, so a plain non-recursive `fs.watch` on `daebug/` (re-armed
 * whenever the folder appears) is the fast path, and another on the root sees `daebug.md`. All feed
 * the same signal; a duplicate costs the daemon one stat.
 */
import { watch, readdirSync, lstatSync, type FSWatcher } from 'node:fs';
import { join, dirname, basename } from 'node:path';

type ParcelWatcher = typeof import('@parcel/watcher');

/**
 * Folders whose changes never matter to daebug and are expensive to watch. `.daebug` holds the
 * daemon's own temp files and backups, written and removed with every change to a log.
 */
export const IGNORED_FOLDERS = ['.daebug', 'node_modules', '.git', '.hg', '.svn', '.cache', '.next', '.nuxt', 'coverage', '.turbo', '.parcel-cache'];

/** How to watch a root. */
export interface WatchOptions {
  root: string;
  /** Called with the absolute path of `daebug.md` or a `daebug/*.md` log that may have changed. */
  onChange: (path: string) => void;
  onWarning?: (message: string) => void;
  /** Signals for one file within this many milliseconds become one call. */
  settleMs?: number;
  /** Loads the native watcher; tests pass a failing loader to exercise the fallback. */
  loadNative?: () => Promise<ParcelWatcher>;
}

/** A running subscription. */
export interface LogWatcher {
  /** True when @parcel/watcher is running, false in the `fs.watch`-only fallback. */
  readonly native: boolean;
  close(): Promise<void>;
}

/**
 * 0: signals in the same turn of the event loop become one call (`setImmediate`); the two events of a
 * rename come 0.03 ms apart. A 2 ms timer here cost every request 2 ms.
 */
const DEFAULT_SETTLE_MS = 0;

/** Starts watching `root` for changes to daebug's files. */
export async function subscribeToLogs(options: WatchOptions): Promise<LogWatcher> {
  const root = options.root;
  const logDir = join(root, 'daebug');
  const registry = join(root, 'daebug.md');
  const warn = options.onWarning ?? (() => {});
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  /** Per file, how to cancel its waiting call. */
  const pending = new Map<string, () => void>();
  const known = new Set<string>();
  let closed = false;

  const signal = (path: string) => {
    if (closed || pending.has(path)) return;
    if (dirname(path) === logDir) known.add(path);
    pending.set(
      path,
      callSoon(() => {
        pending.delete(path);
        if (!closed) options.onChange(path);
      }, settleMs),
    );
  };

  const isLog = (path: string) => path === registry || (dirname(path) === logDir && path.endsWith('.md'));

  /** The folder appeared, vanished or was replaced: every log in it (and every log seen before) may have changed. */
  const signalFolder = () => {
    for (const path of known) signal(path);
    if (isRealFolder(logDir)) for (const name of safeReaddir(logDir)) if (name.endsWith('.md')) signal(join(logDir, name));
    // A watch on a removed folder stays open but silent, so always start a fresh one.
    rearmFastPath();
  };

  let fastPath: FSWatcher | null = null;
  const rearmFastPath = () => {
    fastPath?.close();
    fastPath = null;
    // A `daebug/` that is a symlink is not followed: its files are not logs (the daemon refuses them).
    if (closed || !isRealFolder(logDir)) return;
    try {
      const watcher = watch(logDir, { persistent: false }, (_event, name) => {
        if (name === null) signalFolder();
        else if (String(name).endsWith('.md')) signal(join(logDir, String(name)));
      });
      watcher.on('error', () => {
        if (fastPath === watcher) fastPath = null;
        watcher.close();
      });
      fastPath = watcher;
    } catch {
      // The folder vanished between the check and the watch; the next folder event re-arms.
    }
  };

  const onPath = (path: string) => {
    if (path === logDir) signalFolder();
    else if (isLog(path)) signal(path);
  };

  const backbone = await startBackbone(options, { onPath, onFolder: signalFolder, onRegistry: () => signal(registry) }, warn);
  rearmFastPath();

  return {
    native: backbone.native,
    async close() {
      closed = true;
      for (const cancel of pending.values()) cancel();
      pending.clear();
      fastPath?.close();
      fastPath = null;
      await backbone.stop();
    },
  };
}

/**
 * The backbone: @parcel/watcher on the root, which also sees `daebug/` appear, vanish and return;
 * and always a plain fs.watch on the root, which sees `daebug/` and `daebug.md` only (alone where
 * @parcel/watcher cannot start). @parcel/watcher folds what happens to one name within its 50 ms
 * batch: the daemon's exchange rename of `daebug.md` and an agent's append right after it came out as
 * no event at all, and the agent's %%SHUTDOWN%% went unread.
 */
async function startBackbone(options: WatchOptions, on: { onPath(path: string): void; onFolder(): void; onRegistry(): void }, warn: (message: string) => void): Promise<{ native: boolean; stop: () => Promise<void> }> {
  const root = options.root;
  const rootWatcher = watch(root, { persistent: false }, (_event, name) => {
    if (name === null) return on.onFolder();
    const path = join(root, String(name));
    if (basename(path) === 'daebug') on.onFolder();
    else if (path === join(root, 'daebug.md')) on.onRegistry();
  });
  rootWatcher.on('error', (watchError) => warn(`fs.watch on ${root}: ${watchError.message}`));
  try {
    const parcel = await (options.loadNative ?? (() => import('@parcel/watcher')))();
    const subscription = await parcel.subscribe(
      root,
      (error, events) => {
        if (error) warn(`file watcher: ${error.message}`);
        for (const event of events) on.onPath(event.path);
      },
      { ignore: IGNORED_FOLDERS },
    );
    return {
      native: true,
      stop: async () => {
        rootWatcher.close();
        // @parcel/watcher can fail to take off a watch the kernel already dropped (a folder removed
        // under it: "Unable to remove watcher: Invalid argument"); the daemon's stop goes on.
        await subscription.unsubscribe().catch((error: Error) => warn(`file watcher: ${error.message}`));
      },
    };
  } catch (error) {
    warn(`the native file watcher could not start (${(error as Error).message}); falling back to fs.watch`);
    return { native: false, stop: async () => rootWatcher.close() };
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** True when `path` is a folder itself, not a symlink to one. */
function isRealFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Calls `fire` after `ms` (0: later in this turn of the event loop); returns how to cancel it. */
function callSoon(fire: () => void, ms: number): () => void {
  if (ms > 0) {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  }
  const immediate = setImmediate(fire);
  return () => clearImmediate(immediate);
}
