/**
 * Once a second (`sweepMs`): realm states change with time (idle → unresponsive → gone), so the
 * registry is rewritten when one does; realms idle for half an hour are forgotten; test runs that no
 * realm took, or whose realm went silent, fail; replies whose log was deleted and did not come back
 * are discarded with a warning.
 */
import type { DaemonContext } from './daemon-context.js';
import type { RealmState } from '../protocol/registry.js';
import { realmState, type Realm } from './realms.js';
import type { Replies } from './replies.js';
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
    private readonly replies: Replies,
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
      const previous = this.lastStates.get(realm.key);
      if (realm.connected && this.lastStates.get(realm.key) !== state) {
        if (this.lastStates.has(realm.key)) log({ level: 'info', event: 'realm-state', message: `${realm.name} is ${state}`, realm: realm.name });
        this.lastStates.set(realm.key, state);
        this.context.scheduleRegistry();
      }
      this.releaseStuck(realm, now, state, previous);
      const idleFor = now - realm.lastSeen;
      if (realm.connected && idleFor >= timing.dropMs && !realm.running && realm.queue.length === 0) {
        realms.remove(realm.key);
        this.lastStates.delete(realm.key);
        this.context.scheduleRegistry();
      }
    }
    this.testRuns.sweep(now, (key) => realms.ensure(key), (realm) => realm.closedAt !== null && realmState(realm, now, timing) === 'gone');
    this.replies.expire(now);
  }

  /**
   * Nothing waits forever: a closed page's running job fails, and requests for a realm that closed,
   * stopped answering, or never connected get a notice in place of their marker. A blocked realm's
   * running job is left to its timeout, which says why. A realm whose thread stopped answering gets
   * `not responding` in its marker at once.
   */
  private releaseStuck(realm: Realm, now: number, state: RealmState, previous: string | undefined): void {
    if (state === 'not responding' && realm.running && previous !== state) this.scheduler.tick(realm, realm.running);
    // A worker its page terminated is gone as surely as a closed tab.
    const closed = (realm.closedAt !== null && state === 'gone') || state === 'terminated';
    if (closed && realm.running) this.scheduler.finish(realm, realm.running, { kind: 'error', error: `Error: ${realm.name} was closed while this ran (its tab closed or went to another site)` });
    const why = this.whyStuck(realm, now, state, closed);
    // Requests queued when it closed go at once; later ones wait for a page to come back under the name, as for any realm.
    const queuedWhenClosed = (acceptedAt: number) => closed && acceptedAt <= (realm.closedAt ?? now) + this.context.timing.closeGraceMs;
    const stuck = realm.queue.filter((job) => why !== null && (queuedWhenClosed(job.acceptedAt) || now - job.acceptedAt >= this.context.timing.unresponsiveMs));
    if (why !== null && stuck.length > 0) this.scheduler.drop(realm, stuck, `${why} Append the request again once it is back, or in the log of a connected realm (see daebug.md).`);
  }

  /** Why a realm's queued requests will not run, or null while they may. */
  private whyStuck(realm: Realm, now: number, state: RealmState, closed: boolean): string | null {
    const { timing } = this.context;
    if (state === 'terminated') return `not run: ${realm.name} was terminated by its page.`;
    if (closed) return `not run: ${realm.name} was closed (its tab closed or went to another site) and no page came back under its name within ${timing.closeGraceMs / 1000} s.`;
    if (!realm.connected) return `not run: no realm named ${realm.name} connected within ${timing.unresponsiveMs / 1000} s.`;
    if (state === 'exited') return `not run: ${realm.name} has exited and did not start again within ${timing.unresponsiveMs / 1000} s.`;
    const silent = now - realm.lastSeen >= timing.unresponsiveMs;
    if (state === 'unresponsive' || state === 'gone' || (state === 'hung' && silent)) return `not run: ${realm.name} has not answered for ${Math.round((now - realm.lastSeen) / 1000)} s (a blocked thread, or a tab the browser put to sleep).`;
    return null;
  }
}
