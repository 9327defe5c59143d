/**
 * The calls realms make (the HTTP layer checked their credentials and shape): connecting, polling for
 * work, results, events, worker heartbeats, test progress and diagnostics. Jobs go to the scheduler
 * and test runs to their queue; a call from a realm that is not connected is refused.
 */
import type { NodeConnectMessage, NodeExitMessage, PollAnswer, RealmIdentity, WorkerHealth } from '../protocol/messages.js';
import { logFileName } from '../protocol/registry.js';
import { REALM_NAME_RULE, isRealmName, oneLine } from '../protocol/safe-text.js';
import type { ConnectResult, RealmApi, RealmCallResult, RealmRefusal } from './contract.js';
import type { DaemonContext } from './daemon-context.js';
import type { Realm } from './realms.js';
import type { RealmSections } from './realm-sections.js';
import { excerpt } from './replies.js';
import { toLogEvents, type Scheduler } from './scheduler.js';
import { processIsAlive } from './daemon-file.js';
import { newSecret, sameSecret } from './secrets.js';
import type { TestRunQueue } from './test-run-queue.js';
import { BUDGET_NOTICE } from './spill.js';
import { createAdmission } from './admission.js';
import { takeScreenshot, type Camera, type ScreenshotAnswer } from './screenshots.js';

const unknownRealm = (name: string): RealmRefusal => ({ ok: false, code: 'ERR_UNKNOWN_REALM', message: `no realm named ${name} is connected to this daemon` });

/** What the registry says once a page starts a SharedWorker. */
const SHARED_WORKER_NOTICE =
  "a page started a SharedWorker: shared workers are not realms (several pages share one, and daebug could only reach it on the app's own port); run its code in a dedicated worker or the page to debug it";

/** Longest client diagnostic shown on the daemon's console. */
const MAX_DIAGNOSTIC_CHARS = 2_000;
/** Events kept of one call (a result or a batch of events); the rest are dropped with a notice. */
export const MAX_EVENTS_PER_CALL = 500;
/** Of a call with more, this many of its first events are kept; the rest kept are its latest. */
const EVENTS_KEPT_FIRST = 10;

export class RealmCalls implements RealmApi {
  constructor(
    private readonly context: DaemonContext,
    private readonly scheduler: Scheduler,
    private readonly testRuns: TestRunQueue,
    private readonly sections: RealmSections,
    private readonly pages: { camera: Camera | null; logPathOf(realm: Realm): string },
    private readonly admission = createAdmission(),
  ) {}

  connect(identity: RealmIdentity, previousSecret?: string): ConnectResult {
    return this.connectRealm({ ...identity, kind: 'page' }, null, (existing) => sameSecret(previousSecret, existing.secret));
  }

  connectWorker(pageName: string, identity: RealmIdentity, previousSecret?: string): ConnectResult {
    const page = this.known(pageName);
    if (!page) return unknownRealm(pageName);
    if (!identity.name.toLowerCase().startsWith(`${page.name.toLowerCase()}-`)) return { ok: false, code: 'ERR_BAD_REALM', message: `a worker of ${page.name} is named ${page.name}-<name>` };
    return this.connectRealm({ ...identity, kind: 'worker' }, page, (existing) => sameSecret(previousSecret, existing.secret) || existing.parent === page.key);
  }

  connectNode(message: NodeConnectMessage): ConnectResult {
    const { name, pid, command } = message;
    const before = this.context.realms.get(logFileName(name));
    const earlier = before?.kind === 'node' ? before.process : null;
    // The same process again (the daemon restarted), or a new one where the last has ended: a restart.
    const mayTake = (existing: Realm) => existing.kind === 'node' && (existing.process?.pid === pid || existing.exited || !existing.process || !processIsAlive(existing.process.pid));
    const connected = this.connectRealm({ name, kind: 'node', url: '', process: { pid, command } }, null, mayTake);
    if (!connected.ok || message.reconnect) return connected;
    const realm = this.context.realms.get(logFileName(name))!;
    const started = earlier && earlier.pid !== pid ? `restarted as pid ${pid} (what earlier requests declared is gone)` : `pid ${pid} started`;
    this.sections.notice(realm, `${started}: ${oneLine(command, 300)}`, { create: true });
    return connected;
  }

  nodeExit(realmName: string, secret: string | undefined, exit: NodeExitMessage | null): void {
    const realm = this.context.realms.get(logFileName(realmName));
    // The exit request of a process that another has replaced under this name says nothing about the realm.
    if (this.context.closed() || !realm?.connected || realm.exited || realm.kind !== 'node' || !sameSecret(secret, realm.secret)) return;
    realm.exited = true;
    realm.waiter?.answer({ type: 'idle' });
    const how = exit ? `exited with code ${exit.code}` : 'ended without an exit code (a signal, or Node itself crashed)';
    const pid = realm.process?.pid ?? '?';
    const events = toLogEvents(exit?.events ?? []);
    // What it printed or threw last belongs to the job it was running, if any.
    if (realm.running) this.scheduler.finish(realm, realm.running, { kind: 'error', error: `Error: ${realm.name} (pid ${pid}) ${how} while this ran` }, events);
    this.sections.flush(realm, realm.running ? [] : events);
    this.sections.notice(realm, `pid ${pid} ${how}.`);
    this.context.log({ level: 'info', event: 'realm-state', message: `${realm.name} (pid ${pid}) ${how}`, realm: realm.name });
    this.context.scheduleRegistry();
  }

  authenticate(name: string, secret: string | undefined): boolean {
    const realm = this.context.realms.get(logFileName(name));
    return realm !== undefined && realm.connected && sameSecret(secret, realm.secret);
  }

  beat(realmName: string): void {
    const realm = this.known(realmName);
    if (!realm) return;
    const wasNotResponding = realm.beatAt !== null && Date.now() - realm.beatAt >= this.context.timing.notRespondingMs;
    realm.beatAt = Date.now();
    // Its marker said "not responding": say it runs again now, not at the next tick.
    if (wasNotResponding && realm.running) this.scheduler.tick(realm, realm.running);
  }

  socketClosed(realmName: string, secret: string | undefined): void {
    const realm = this.context.realms.get(logFileName(realmName));
    // A realm that connected again since has a new secret and a new socket: it did not close.
    if (!realm?.connected || !sameSecret(secret, realm.secret)) return;
    realm.closedAt = Date.now();
    realm.beatAt = null;
  }

  poll(realmName: string, signal?: AbortSignal): Promise<PollAnswer> {
    const realm = this.known(realmName);
    if (this.context.closed() || !realm) return Promise.resolve({ type: 'idle' });
    // A worker that polls is not hung any more (its page will say so too, at its next ping).
    if (realm.hung) {
      realm.hung = null;
      this.context.scheduleRegistry();
    }
    realm.waiter?.answer({ type: 'idle' });
    return new Promise<PollAnswer>((resolve) => {
      const onAbort = () => waiter.answer({ type: 'idle' });
      const waiter = {
        answer: (answer: PollAnswer) => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          if (realm.waiter === waiter) realm.waiter = null;
          resolve(answer);
        },
        timer: setTimeout(onAbort, this.context.timing.pollMs),
      };
      realm.waiter = waiter;
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.scheduler.dispatch(realm);
    });
  }

  async result(realmName: string, message: Parameters<RealmApi['result']>[1]): Promise<RealmCallResult> {
    const realm = this.known(realmName);
    if (!realm) return unknownRealm(realmName);
    const { stacks } = this.context;
    const node = realm.kind === 'node';
    const mapped = await stacks.inOrder(realm.key, async () => ({ outcome: await stacks.outcome(message.outcome, node, message.jobId), events: await stacks.events(this.capEvents(realm, message.events), node, message.jobId) }));
    if (this.scheduler.result(realm, message.jobId, mapped.outcome, toLogEvents(mapped.events))) return { ok: true };
    const running = realm.running ? `the request at ${realm.running.request.requestedAt} (${excerpt(realm.running.request.code)})` : null;
    this.sections.notice(realm, `${realm.name} sent a result for a request it was not running${running ? `; it runs ${running}` : ''}, so the result was ignored (a page left from an earlier daebug run does this). Nothing to do unless replies go missing: then reload the page.`);
    return { ok: false, code: 'ERR_WRONG_JOB', message: `${realm.name} is not running job ${message.jobId}${running ? `: it runs ${running}` : ': it runs nothing'}` };
  }

  async events(realmName: string, message: Parameters<RealmApi['events']>[1]): Promise<RealmCallResult> {
    const realm = this.known(realmName);
    if (!realm) return unknownRealm(realmName);
    const { stacks } = this.context;
    await stacks.inOrder(realm.key, async () => {
      const events = await stacks.events(this.capEvents(realm, message.events), realm.kind === 'node', message.jobId ?? null);
      this.scheduler.events(realm, { ...message, events });
    });
    return { ok: true };
  }

  async screenshot(realmName: string, selector: string | null): Promise<ScreenshotAnswer> {
    const realm = this.known(realmName);
    if (!realm) return { ok: false, reason: `no realm named ${realmName} is connected` };
    try {
      const answer = await takeScreenshot(realm, selector, this.pages.camera, this.pages.logPathOf(realm), this.context.files);
      if (answer.ok && answer.removed) this.context.notice(BUDGET_NOTICE);
      return answer;
    } catch (error) {
      return { ok: false, reason: oneLine(String((error as Error).message ?? error), 300) };
    }
  }

  heartbeat(realmName: string, message: Parameters<RealmApi['heartbeat']>[1]): RealmCallResult {
    const realm = this.known(realmName);
    if (!realm) return unknownRealm(realmName);
    const worker = this.context.realms.get(logFileName(message.worker.name));
    if (!worker || worker.parent !== realm.key) return { ok: false, code: 'ERR_NOT_YOURS', message: `${message.worker.name} is not a worker of ${realm.name}` };
    this.workerHealth(worker, message.worker.state, oneLine(message.worker.reason ?? '', 200));
    return { ok: true };
  }

  /** What a page's report on its worker changes: the worker's state, its running job, a notice in its log. */
  private workerHealth(worker: Realm, state: WorkerHealth, reason: string): void {
    const fail = (error: string) => worker.running && this.scheduler.finish(worker, worker.running, { kind: 'error', error: `Error: ${worker.name} ${error}` });
    const was = worker.hung ?? worker.ended;
    if (state === 'alive') worker.hung = null;
    if (state === 'hung') {
      worker.hung = reason || 'it stopped answering';
      fail(`stopped answering its page (${worker.hung}) before it answered; daebug does not restart the app's workers`);
    }
    if (state === 'terminated') {
      worker.ended = reason || 'terminated by its page';
      fail(`was ${worker.ended} before it answered`);
      this.sections.notice(worker, `the worker ended (${worker.ended}); requests wait until a worker of this name connects again (reload the page).`);
      worker.waiter?.answer({ type: 'idle' });
    }
    if (state === 'restarted') {
      const why = reason || 'it stopped answering';
      fail(`was restarted by its page (${why}) before it answered`);
      this.sections.notice(worker, `the worker was restarted by its page (${why}); top-level declarations from earlier requests are gone; run them again if later requests need them.`);
    }
    if ((worker.hung ?? worker.ended) !== was) this.context.scheduleRegistry();
  }

  async testProgress(realmName: string, message: Parameters<RealmApi['testProgress']>[1]): Promise<RealmCallResult> {
    const realm = this.known(realmName);
    if (!realm) return unknownRealm(realmName);
    // A failed test's stack, as the job's: at the source's lines (a TypeScript test behind a dev server), in the order sent.
    const { stacks } = this.context;
    const events = await stacks.inOrder(realm.key, () => Promise.all(message.events.map(async (event) => (event.kind === 'fail' ? { ...event, error: await stacks.text(event.error, realm.kind === 'node') } : event))));
    if (!this.testRuns.progress(realm, { ...message, events })) return { ok: false, code: 'ERR_WRONG_JOB', message: `${realm.name} has no test run ${message.runId}` };
    return { ok: true };
  }

  diagnostic(realmName: string, message: Parameters<RealmApi['diagnostic']>[1]): RealmCallResult {
    const realm = this.known(realmName);
    if (!realm) return unknownRealm(realmName);
    if (message.about === 'shared-worker') this.context.notice(SHARED_WORKER_NOTICE);
    // One line on the console, whatever the realm sent: it must not add lines that look like the daemon's.
    else this.context.warn(`${realm.name}: ${oneLine(message.message, MAX_DIAGNOSTIC_CHARS)}`);
    return { ok: true };
  }

  /**
   * At most MAX_EVENTS_PER_CALL events of one call are kept: the first few and the latest, as a log
   * shows them (render.ts); the realm's log says how many were dropped. A page's loop that logs ten
   * thousand lines sends them in one call.
   */
  private capEvents<T>(realm: Realm, events: T[]): T[] {
    if (events.length <= MAX_EVENTS_PER_CALL) return events;
    const dropped = events.length - MAX_EVENTS_PER_CALL;
    this.sections.notice(realm, `${realm.name} sent ${events.length} events in one call; daebug keeps at most ${MAX_EVENTS_PER_CALL} of a call (the first ${EVENTS_KEPT_FIRST} and the latest) and dropped the ${dropped} between them.`);
    return [...events.slice(0, EVENTS_KEPT_FIRST), ...events.slice(events.length - (MAX_EVENTS_PER_CALL - EVENTS_KEPT_FIRST))];
  }

  /** A connected realm by name; the call counts as a sign of life. */
  private known(name: string): Realm | undefined {
    const realm = this.context.realms.get(logFileName(name));
    if (realm?.connected) realm.lastSeen = Date.now();
    return realm?.connected ? realm : undefined;
  }

  /** Gives a realm its name and a new secret; a name in use is only for whoever holds its secret. */
  private connectRealm(identity: RealmIdentity, parent: Realm | null, mayTake: (existing: Realm) => boolean): ConnectResult {
    const { realms, log } = this.context;
    if (this.context.closed()) return { ok: false, code: 'ERR_STOPPING', message: 'the daemon is stopping' };
    if (!isRealmName(identity.name)) return { ok: false, code: 'ERR_BAD_REALM', message: REALM_NAME_RULE };
    // Requests to a Node app go to `node-<script>`: no page or worker may take such a name.
    if (identity.kind !== 'node' && /^node-/i.test(identity.name)) return { ok: false, code: 'ERR_BAD_REALM', message: 'names starting with node- are kept for Node processes' };
    const existing = realms.get(logFileName(identity.name));
    if (existing?.secret && !mayTake(existing)) return { ok: false, code: 'ERR_REALM_TAKEN', message: `${existing.name} is connected already; connect under another name` };
    const refused = this.admission.refusal(realms.all(), existing, Date.now());
    if (refused) {
      this.context.notice(refused.message);
      return { ok: false, ...refused };
    }
    // A page that connects again under its own name was reloaded: what it ran is gone with the old page.
    // The old page's wait for work goes first: the finish below hands the next job to whoever waits,
    // and the old page, whose socket may not be seen closing yet, would take it away with it.
    existing?.waiter?.answer({ type: 'idle' });
    if (existing?.running) this.scheduler.finish(existing, existing.running, { kind: 'error', error: `Error: ${existing.name} ${existing.kind === 'page' ? 'reloaded' : 'was restarted'} while this ran` });
    const secret = newSecret();
    const connected = realms.connect(identity, Date.now(), { secret, parent: parent?.key ?? null });
    if (!connected) return { ok: false, code: 'ERR_BAD_REALM', message: REALM_NAME_RULE };
    const { realm, isNew } = connected;
    this.admission.admitted(existing === undefined, Date.now());
    this.sections.openLog(realm);
    if (isNew) {
      const where = realm.process ? ` pid ${realm.process.pid}` : realm.url ? ` ${realm.url}` : '';
      log({ level: 'info', event: 'realm-connected', message: `${realm.name} connected (${realm.kind}${where})`, realm: realm.name });
      this.context.scheduleRegistry();
    }
    this.scheduler.dispatch(realm);
    return { ok: true, realm: realm.name, secret };
  }
}
