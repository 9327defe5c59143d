// The built CLI as a child process, stopped when its test ends whatever happened; and ports that are
// free right now, so that no test needs a particular port of the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import { candidatePorts } from '../../src/cli/port.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

/** A running `daebug` process. */
export interface CliProcess {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves with the exit code (null when killed by a signal it did not handle). */
  exit: Promise<number | null>;
}

/**
 * Starts the built CLI with `args` (colour off, PORT unset unless given); when the test ends it is sent
 * SIGTERM, then SIGKILL after 5 s, and waited for, so a failed assertion never leaves a daemon behind.
 */
export function startCli(t: TestContext, args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', PORT: '', ...options.env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(killer);
  });
  return { child, out: () => out, err: () => err, exit };
}

/** Runs the built CLI to its end (stopped with the test if it is still running then). */
export async function runCli(t: TestContext, args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number | null; out: string; err: string }> {
  const running = startCli(t, args, options);
  const code = await running.exit;
  return { code, out: running.out(), err: running.err() };
}

/** True when nothing listens on 127.0.0.1:`port`, shown by listening there for a moment. */
export function isPortFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port that the system just found free on 127.0.0.1. */
export function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A folder name `<prefix>-<random>` whose first `count` derived ports are free right now. */
export async function nameWithFreePorts(prefix: string, count = 1): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const name = `${prefix}-${randomBytes(4).toString('hex')}`;
    const free = await Promise.all(candidatePorts(name).slice(0, count).map(isPortFree));
    if (free.every(Boolean)) return name;
  }
  throw new Error(`no folder name starting with ${prefix} has ${count} free derived ports: is the machine out of ports 8100-9099?`);
}
