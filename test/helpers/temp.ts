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

/** Resolves once `check` returns true, polling every few milliseconds; rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits a fixed time; used only to show that something does not happen. */
export function quietPeriod(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A log's text, '' when it does not exist (yet). */
export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}
