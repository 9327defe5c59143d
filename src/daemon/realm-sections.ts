/**
 * A realm's own sections in its log, through the log's outbox: the log made as it connects, its
 * notices, and what it logs or throws outside any request (background events, batched for
 * backgroundMs, their long texts kept beside the log).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LogChange } from '../protocol/changes.js';
import type { LogEvent } from '../protocol/render.js';
import { folderProblem } from '../store/index.js';
import type { DaemonContext } from './daemon-context.js';
import type { Outbox } from './outbox.js';
import type { Realm } from './realms.js';

export class RealmSections {
  /** Each realm's log being made at its connect, by realm key: its first sections wait for it. */
  private readonly opening = new Map<string, Promise<unknown>>();

  constructor(
    private readonly context: DaemonContext,
    private readonly outbox: Outbox<unknown>,
    /** The log a realm's own sections go to. */
    private readonly logPathOf: (realm: Realm) => string,
  ) {}

  /** Writes a notice into the realm's log; with `create`, into a new log when it has none. */
  notice(realm: Realm, message: string, options: { create?: boolean } = {}): void {
    const path = this.logPathOf(realm);
    const change: LogChange = { type: 'notice', realm: realm.name, message, at: this.context.clock() };
    // After the log made at connect: a notice of a realm's first call came while it was made, and was lost.
    const written = options.create ? mkdir(dirname(path), { recursive: true }).then(() => this.outbox.post(path, change, { create: true })) : this.afterOpen(realm).then(() => this.outbox.post(path, change));
    this.context.background(`writing a notice for ${realm.name}`, written);
  }

  /**
   * Makes the realm's log (and `daebug/`) when it has none, as the realm connects: what a page logs or
   * throws while it loads then has a place to go, and the agent can append at once.
   */
  openLog(realm: Realm): void {
    const path = this.logPathOf(realm);
    // A daebug/ that is not a real folder was named once at start; the store would warn per log.
    const opened = folderProblem(dirname(path)).then(async (problem) => {
      if (problem) return;
      await mkdir(dirname(path), { recursive: true });
      await this.outbox.post(path, { type: 'open', realm: realm.name }, { create: true });
    });
    const settled = opened.catch(() => undefined).then(() => {
      if (this.opening.get(realm.key) === settled) this.opening.delete(realm.key);
    });
    this.opening.set(realm.key, settled);
    this.context.background(`making the log of ${realm.name}`, opened);
  }

  /** Events outside any request: written after backgroundMs, with those that come meanwhile. */
  background(realm: Realm, events: LogEvent[]): void {
    realm.background.push(...events);
    if (realm.backgroundTimer) return;
    realm.backgroundTimer = setTimeout(() => {
      realm.backgroundTimer = null;
      if (!this.context.closed()) this.flush(realm, []);
    }, this.context.timing.backgroundMs);
  }

  /** Writes the realm's waiting background events, and `more`, now rather than after the usual batching. */
  flush(realm: Realm, more: LogEvent[]): void {
    if (realm.backgroundTimer) clearTimeout(realm.backgroundTimer);
    realm.backgroundTimer = null;
    const events = [...realm.background.splice(0), ...more];
    if (events.length === 0) return;
    const path = this.logPathOf(realm);
    this.context.spill.events(path, events);
    const change: LogChange = { type: 'background', realm: realm.name, events, at: this.context.clock(), maxOutputBytes: this.context.maxOutputBytes };
    // After the log made at connect: the first events of a page come while it is being made.
    this.context.background(`writing background events of ${realm.name}`, this.afterOpen(realm).then(() => this.outbox.post(path, change)));
  }

  /** Stops the batching timers (the daemon is stopping). */
  stop(): void {
    for (const realm of this.context.realms.all()) {
      if (realm.backgroundTimer) clearTimeout(realm.backgroundTimer);
      realm.backgroundTimer = null;
    }
  }

  /** Resolves once the log made as the realm connected is written (or failed). */
  private afterOpen(realm: Realm): Promise<unknown> {
    return this.opening.get(realm.key) ?? Promise.resolve();
  }
}
