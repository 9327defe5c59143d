/**
 * The realms the daemon knows: those that polled, and those named by a log whose requests wait for
 * them. Each has its own job queue; one job runs per realm at a time.
 */
import type { NodeProcess, PollAnswer, RealmIdentity } from '../protocol/messages.js';
import { logFileName, type RealmKind, type RealmState, type RegistryRealm } from '../protocol/registry.js';
import { httpUrl, isRealmName } from '../protocol/safe-text.js';
import type { LogEvent } from '../protocol/render.js';
import type { Job } from './jobs.js';
import type { TestRun } from './test-runs.js';

/** A long-poll waiting for work. */
export interface PollWaiter {
  answer: (answer: PollAnswer) => void;
  timer: NodeJS.Timeout;
}

/** A realm and its queue. */
export interface Realm {
  /** Its log file name, which is also its key. */
  key: string;
  name: string;
  kind: RealmKind;
  url: string;
  /** False until it connects to this daemon. */
  connected: boolean;
  /** What it sends with every call, given when it connected; null until then. */
  secret: string | null;
  /** The key of the page that connected this worker; only that page may report on it. */
  parent: string | null;
  /** daebug's own helper worker, not one of the app's. */
  helper: boolean;
  /** Why its page says this worker stopped answering pings; null while it answers. */
  hung: string | null;
  /** Why this worker ended (the app terminated it); null while it lives. */
  ended: string | null;
  /** Epoch ms of its last poll or message. */
  lastSeen: number;
  queue: Job[];
  running: Job | null;
  waiter: PollWaiter | null;
  /** Jobs that timed out, kept to recognise their late results. */
  timedOut: Map<string, Job>;
  /** Events that arrived while no job ran, waiting for the next background write. */
  background: LogEvent[];
  backgroundTimer: NodeJS.Timeout | null;
  /** True once the "not connected" notice was written; reset when it connects. */
  toldOffline: boolean;
  /** Test runs waiting for this realm, oldest first. */
  testRuns: TestRun[];
  /** A Node process: its pid and command line (kept after it exits, to recognise a restart). */
  process: NodeProcess | null;
  /** True once the Node process has exited, until a process connects under its name again. */
  exited: boolean;
  /** Epoch ms of the last beat on its socket; null for a realm that does not beat (Node, long-polls). */
  beatAt: number | null;
  /** Epoch ms when its socket closed, until it connects again; null while open. */
  closedAt: number | null;
}

/** When a realm counts as not responding, unresponsive, closed and gone. */
export interface RealmTiming {
  unresponsiveMs: number;
  goneMs: number;
  notRespondingMs: number;
  closeGraceMs: number;
}

/** The daemon's table of realms, keyed by log file name. */
export interface RealmTable {
  get(key: string): Realm | undefined;
  /** The realm for a key, created (not connected) if unknown. */
  ensure(key: string): Realm;
  /**
   * Registers a realm that connected, with its new secret; `isNew` when it was not connected before.
   * Null when its name is not a realm name (see `isRealmName`): the table does not rely on the
   * transport for that.
   */
  connect(identity: RealmIdentity, now: number, access: { secret: string; parent: string | null }): { realm: Realm; isNew: boolean } | null;
  all(): Realm[];
  remove(key: string): void;
}

/** Creates an empty table. */
export function createRealmTable(): RealmTable {
  const realms = new Map<string, Realm>();
  const ensure = (key: string): Realm => {
    let realm = realms.get(key);
    if (!realm) {
      realm = {
        key,
        name: key,
        kind: 'page',
        url: '',
        connected: false,
        secret: null,
        parent: null,
        helper: false,
        hung: null,
        ended: null,
        lastSeen: 0,
        queue: [],
        running: null,
        waiter: null,
        timedOut: new Map(),
        background: [],
        backgroundTimer: null,
        toldOffline: false,
        testRuns: [],
        process: null,
        exited: false,
        beatAt: null,
        closedAt: null,
      };
      realms.set(key, realm);
    }
    return realm;
  };
  return {
    get: (key) => realms.get(key),
    ensure,
    connect(identity, now, access) {
      if (!isRealmName(identity.name)) return null;
      const realm = ensure(logFileName(identity.name));
      // A Node process that connects where one has exited is news as well: a restart.
      const isNew = !realm.connected || realm.exited;
      // Only an http(s) URL is kept: the registry shows it, and a `javascript:` link must not appear there.
      // Of a worker's `blob:` or `data:` script only the scheme is kept, to say what it is.
      const scheme = /^(blob|data):/i.exec(identity.url)?.[0].toLowerCase();
      const url = httpUrl(identity.url) || (identity.kind === 'worker' && scheme ? scheme : '');
      // A connected realm is not offline: the next time it goes away, say so again.
      Object.assign(realm, { name: identity.name, kind: identity.kind, url, connected: true, lastSeen: now, toldOffline: false, process: identity.process ?? null, exited: false, beatAt: null, closedAt: null, hung: null, ended: null, helper: identity.kind === 'worker' && identity.helper === true, ...access });
      return { realm, isNew };
    },
    all: () => [...realms.values()],
    remove: (key) => realms.delete(key),
  };
}

/**
 * A realm's state at `now`: idle or executing; not responding (no beat for 3 s: its thread is blocked
 * or busy); unresponsive (no poll for 30 s); gone (not connected, closed for 3 s, or silent for 2
 * min); exited (a Node process); a worker its page reported terminated or hung is that.
 */
export function realmState(realm: Realm, now: number, timing: RealmTiming): RealmState {
  if (!realm.connected) return 'gone';
  if (realm.exited) return 'exited';
  if (realm.ended) return 'terminated';
  if (realm.hung) return 'hung';
  if (realm.closedAt !== null && now - realm.closedAt >= timing.closeGraceMs) return 'gone';
  const silent = now - realm.lastSeen;
  if (silent >= timing.goneMs) return 'gone';
  if (silent >= timing.unresponsiveMs) return 'unresponsive';
  if (realm.beatAt !== null && realm.closedAt === null && now - realm.beatAt >= timing.notRespondingMs) return 'not responding';
  return realm.running ? 'executing' : 'idle';
}

/** The registry's view of the connected realms. */
export function registryRealms(realms: readonly Realm[], now: number, timing: RealmTiming): RegistryRealm[] {
  const names = new Map(realms.map((realm) => [realm.key, realm.name]));
  return realms
    .filter((realm) => realm.connected)
    .map((realm) => {
      const parent = realm.parent === null ? undefined : names.get(realm.parent);
      return {
        name: realm.name,
        kind: realm.kind,
        url: realm.url,
        state: realmState(realm, now, timing),
        queued: realm.queue.length,
        lastActive: realm.lastSeen,
        ...(realm.process ? { process: realm.process } : {}),
        ...(parent === undefined ? {} : { parent }),
        ...(realm.helper ? { helper: true } : {}),
      };
    });
}
