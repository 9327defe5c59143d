/**
 * Once a second (`sweepMs`): realm states change with time (idle → unresponsive → gone), so the
 * registry is rewritten when one does; realms idle for half an hour are forgotten; test runs that no
 * realm took, or whose realm went silent, fail; replies whose log was deleted and did not come back
 * are discarded with a warning.
 */
import type { DaemonContext } from './daemon-context.js';
import { realmState } from './realms.js';
import type { Scheduler } from './scheduler.js';
import type { TestRunQueue } from './test-run-queue.js';

export class Housekeeping {
  /** The state each connected realm was last seen in, to log and show changes. */
  private readonly lastStates = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly context: DaemonContext,
    private readonly scheduler: Scheduler,
    private readonly testRuns: TestRunQueue,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(), this.context.timing.sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private sweep(): void {
    const { realms, timing, log } = this.context;
    const now = Date.now();
    for (const realm of realms.all()) {
      const state = realmState(realm, now, timing);
      if (realm.connected && this.lastStates.get(realm.key) !== state) {
        if (this.lastStates.has(realm.key)) log({ level: 'info', event: 'realm-state', message: `${realm.name} is ${state}`, realm: realm.name });
        this.lastStates.set(realm.key, state);
        this.context.scheduleRegistry();
      }
      const idleFor = now - realm.lastSeen;
      if (realm.connected && idleFor >= timing.dropMs && !realm.running && realm.queue.length === 0) {
        realms.remove(realm.key);
        this.lastStates.delete(realm.key);
        this.context.scheduleRegistry();
      }
    }
    this.testRuns.sweep(now, (key) => realms.ensure(key));
    this.scheduler.expireOrphans(now);
  }
}
