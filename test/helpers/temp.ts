// Temporary project folders for tests that touch the real file system.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh folder under the OS temp dir, removed after `cleanup` (if any) when the tests of the file end. */
export function tempRoot(cleanup?: () => Promise<unknown>): string {
  const root = mkdtempSync(join(tmpdir(), 'daebug-test-'));
  after(async () => {
    await cleanup?.();
    rmSync(root, { recursive: true, force: true });
  });
  return root;
}

/**
 * Resolves once `check` returns true, polling every few milliseconds; rejects after `timeoutMs`. A
 * check that throws ENOENT is "not yet": the daemon's write takes a log away for microseconds.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const holds = async () => {
    try {
      return await check();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  };
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits a fixed time; used only to show that something does not happen. */
export function quietPeriod(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A log's text, '' when it does not exist. A log that a daemon's write has taken away for the
 * microseconds between its rename and its link (see placeVersion) is read again a moment later.
 */
export function readText(path: string): string {
  for (let attempt = 0; ; attempt++) {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (attempt >= 20) return '';
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
