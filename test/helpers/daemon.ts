// Drives a real daemon on a temp folder: real files, real watcher, realms through the in-process API.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon, type DaemonLogEntry, type DaemonTiming } from '../../src/daemon/daemon.js';
import type { WireEvent, WireOutcome } from '../../src/protocol/messages.js';

export { FakeRealm, type JobHandler } from './fake-realm.js';
import { readText, tempRoot, waitFor } from './temp.js';

/** Short durations so tests run in well under a second each. */
export const FAST: Partial<DaemonTiming> = {
  timeoutMs: 2_000,
  tickMs: 200,
  pollMs: 1_000,
  noteQuietMs: 150,
  backgroundMs: 150,
  streamMs: 100,
  registryMinIntervalMs: 50,
  keepOrphanResultMs: 1_500,
  sweepMs: 50,
  backupGraceMs: 300,
};

export interface TestDaemon {
  root: string;
  daemon: Daemon;
  entries: DaemonLogEntry[];
  logPath(realm: string): string;
  read(realm: string): string;
  append(realm: string, text: string): void;
  /** Waits until the realm's log satisfies `check`; returns its text. */
  waitForLog(realm: string, check: (text: string) => boolean, what: string, timeoutMs?: number, intervalMs?: number): Promise<string>;
}

/** Starts a daemon on a fresh temp folder (with `daebug/` unless told otherwise); stopped after the test file. */
export async function startTestDaemon(timing: Partial<DaemonTiming> = {}, setup?: (root: string) => void, withLogDir = true): Promise<TestDaemon> {
  let daemon: Daemon | undefined;
  const root = tempRoot(() => daemon?.stop('test finished') ?? Promise.resolve());
  if (withLogDir) mkdirSync(join(root, 'daebug'));
  setup?.(root);
  const entries: DaemonLogEntry[] = [];
  daemon = await startDaemon({ root, url: 'http://localhost:0/', timing: { ...FAST, ...timing }, onLog: (entry) => entries.push(entry) });
  const logPath = (realm: string) => join(root, 'daebug', `${realm}.md`);
  const read = (realm: string) => readText(logPath(realm));
  return {
    root,
    daemon: daemon!,
    entries,
    logPath,
    read,
    append: (realm, text) => appendFileSync(logPath(realm), text),
    async waitForLog(realm, check, what, timeoutMs = 5000, intervalMs = 5) {
      await waitFor(() => check(read(realm)), `${realm}.md: ${what}`, timeoutMs, intervalMs).catch((error: Error) => {
        throw new Error(`${error.message}\n--- the log now ---\n${read(realm).slice(-4000)}`);
      });
      return read(realm);
    },
  };
}

/** A JSON value outcome. */
export const json = (value: unknown): { outcome: WireOutcome } => ({ outcome: { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(value, null, 2) } } });

/** A console.log event now. */
export const logEvent = (text: string): WireEvent => ({ source: 'console.log', time: Date.now(), lang: 'Text', text });
