// A daemon in a child process (test/daemon/child-daemon.ts) that a test can kill, and what its realm ran.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after } from 'node:test';
import { waitFor } from './temp.js';

const CHILD = new URL('../daemon/child-daemon.ts', import.meta.url).pathname;

/** Children still running when a test fails are killed, so a failure cannot hang the run. */
const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** Starts a child daemon on `root`; its realm appends each code it runs to `runs` when given. */
export async function startChild(root: string, runs?: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root, ...(runs ? [runs] : [])], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  await waitFor(() => out.includes('ready') || child.exitCode !== null, 'the child daemon to start', 15_000);
  assert.equal(child.exitCode, null, 'the child daemon is running');
  return child;
}

/** Resolves with the child's exit code once it has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

/** How many times the child realms ran each code (the runs file, one JSON string a line). */
export function runCounts(runs: string): Map<string, number> {
  const counts = new Map<string, number>();
  let text = '';
  try {
    text = readFileSync(runs, 'utf8');
  } catch {
    return counts;
  }
  for (const line of text.split('\n').filter(Boolean)) {
    const code = (JSON.parse(line) as string).trim();
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  return counts;
}
