/**
 * `daebug node [node options] app.js [args]`: runs the app in a Node child with daebug's realm
 * preloaded (`--import`, or `--require` on a Node without it), in the daebug that serves the current
 * folder, or one started here for as long as the app runs. Signals go on to the app; its exit code
 * (or the signal that ended it) is this command's.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../package-root.js';
import { daemonForRoot, type RootDaemon } from '../plugin/daemon-for-root.js';

/** The signals a terminal or a supervisor sends, passed on to the app. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The Node arguments that preload daebug's realm into the app. */
export function preloadArgs(): string[] {
  // From the package root: this module may be bundled into a chunk at any depth of dist/.
  const dist = join(packageRoot(), 'dist');
  if (process.allowedNodeEnvironmentFlags.has('--import')) return ['--import', pathToFileURL(join(dist, 'node.js')).href];
  return ['--require', join(dist, 'node.cjs')];
}

/** Runs the app to its end; resolves with the exit code this command should end with, or the signal to end by. */
export async function runNodeCommand(nodeArgs: readonly string[], version: string, err: (line: string) => void): Promise<number | NodeJS.Signals> {
  const root = process.cwd();
  let daemon: RootDaemon | null = null;
  try {
    daemon = await daemonForRoot(root, version, (entry) => {
      if (entry.level === 'warn') err(`daebug: ${entry.message}`);
    });
    if (daemon.own) err(`daebug: serving ${root} on ${daemon.url} while the app runs`);
  } catch (error) {
    // The app runs anyway; its realm says daebug is not running.
    err(`daebug: could not start daebug for ${root}: ${(error as Error).message}`);
  }
  const child = spawn(process.execPath, [...preloadArgs(), ...nodeArgs], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = FORWARDED.map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (error) => {
      err(`daebug: cannot start ${process.execPath}: ${error.message}`);
      resolve({ code: 1, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  for (const [signal, handler] of handlers) process.off(signal, handler);
  await daemon?.stop(ended.signal ? `the app ended by ${ended.signal}` : `the app exited with code ${ended.code}`);
  return ended.signal ?? ended.code ?? 1;
}
