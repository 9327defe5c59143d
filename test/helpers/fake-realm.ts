// A realm that speaks the in-process realm API, for tests and child daemons. No node:test imports,
// so child processes can use it too.
import type { Daemon } from '../../src/daemon/daemon.js';
import type { PollAnswer, RealmIdentity, WireEvent, WireOutcome } from '../../src/protocol/messages.js';

/** What a fake realm does with a job. */
export type JobHandler = (code: string, jobId: string) => Promise<{ outcome: WireOutcome; events?: WireEvent[] }> | { outcome: WireOutcome; events?: WireEvent[] };

/** A realm that connects and polls the daemon in-process and answers jobs with `handler`. */
export class FakeRealm {
  readonly identity: RealmIdentity;
  readonly jobs: { code: string; jobId: string }[] = [];
  /** What it was given when it connected. */
  readonly secret: string;
  private running = true;
  private readonly loop: Promise<void>;
  private readonly abort = new AbortController();

  /** `parent`: the name of a connected page; the realm then connects as that page's worker. */
  constructor(
    private readonly daemon: Daemon,
    name: string,
    private readonly handler: JobHandler = (code) => ({ outcome: { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(code.length) } } }),
    kind: RealmIdentity['kind'] = 'page',
    parent?: string,
  ) {
    this.identity = { name, kind, url: 'http://localhost:0/' };
    const connected = parent ? daemon.realmApi.connectWorker(parent, this.identity) : daemon.realmApi.connect(this.identity);
    if (!connected.ok) throw new Error(`${name} could not connect: ${connected.message}`);
    this.secret = connected.secret;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let daemonStopped = false;
    void this.daemon.stopped.then(() => (daemonStopped = true));
    while (this.running && !daemonStopped) {
      const answer: PollAnswer = await this.daemon.realmApi.poll(this.identity.name, this.abort.signal);
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
