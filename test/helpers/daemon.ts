// Drives a real daemon on a temp folder: real files, real watcher, realms through the in-process API.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { startDaemon, type Daemon, type DaemonLogEntry, type DaemonTiming } from '../../src/daemon/daemon.js';
import type { PollAnswer, RealmIdentity, WireEvent, WireOutcome } from '../../src/protocol/messages.js';
import { tempRoot, waitFor } from './temp.js';

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
};

export interface TestDaemon {
  root: string;
  daemon: Daemon;
  entries: DaemonLogEntry[];
  logPath(realm: string): string;
  read(realm: string): string;
  append(realm: string, text: string): void;
  /** Waits until the realm's log satisfies `check`; returns its text. */
  waitForLog(realm: string, check: (text: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
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
  const read = (realm: string) => (existsSync(logPath(realm)) ? readFileSync(logPath(realm), 'utf8') : '');
  return {
    root,
    daemon: daemon!,
    entries,
    logPath,
    read,
    append: (realm, text) => appendFileSync(logPath(realm), text),
    async waitForLog(realm, check, what, timeoutMs = 5000) {
      await waitFor(() => check(read(realm)), `${realm}.md: ${what}\n--- log now ---\n${read(realm)}`, timeoutMs);
      return read(realm);
    },
  };
}

/** What a fake realm does with a job. */
export type JobHandler = (code: string, jobId: string) => Promise<{ outcome: WireOutcome; events?: WireEvent[] }> | { outcome: WireOutcome; events?: WireEvent[] };

/** A realm that polls the daemon in-process and answers jobs with `handler`. */
export class FakeRealm {
  readonly identity: RealmIdentity;
  readonly jobs: { code: string; jobId: string }[] = [];
  private running = true;
  private readonly loop: Promise<void>;
  private readonly abort = new AbortController();

  constructor(
    private readonly daemon: Daemon,
    name: string,
    private readonly handler: JobHandler = (code) => ({ outcome: { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(code.length) } } }),
    kind: RealmIdentity['kind'] = 'page',
  ) {
    this.identity = { name, kind, url: 'http://localhost:0/' };
    this.loop = this.run();
    after(() => this.stop());
  }

  private async run(): Promise<void> {
    let daemonStopped = false;
    void this.daemon.stopped.then(() => (daemonStopped = true));
    while (this.running && !daemonStopped) {
      const answer: PollAnswer = await this.daemon.realmApi.poll(this.identity, this.abort.signal);
      if (answer.type !== 'job' || !this.running) {
        // A stopping daemon answers at once; yield so its shutdown can go on.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      this.jobs.push({ code: answer.code, jobId: answer.jobId });
      // Like the real client, keep polling while the job runs so a hung job cannot block the next.
      void this.answer(answer.code, answer.jobId);
    }
  }

  private async answer(code: string, jobId: string): Promise<void> {
    const started = Date.now();
    const { outcome, events = [] } = await this.handler(code, jobId);
    if (!this.running) return;
    await this.daemon.realmApi.result(this.identity.name, { type: 'result', jobId, outcome, durationMs: Date.now() - started, events });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }
}

/** A JSON value outcome. */
export const json = (value: unknown): { outcome: WireOutcome } => ({ outcome: { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(value, null, 2) } } });

/** A console.log event now. */
export const logEvent = (text: string): WireEvent => ({ source: 'console.log', time: Date.now(), lang: 'Text', text });
