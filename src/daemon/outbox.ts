/**
 * The one write path of each log. What the daemon wants written to a log (a reply, a running marker,
 * a tick, a notice, a realm's background events, a test section) waits in the log's outbox; each
 * write is a group commit: it reads the log, reads the agent's edits in it (the reader, log-sync.ts),
 * applies every change waiting at that moment in the order they came, and writes once.
 *
 * The one rule of timing: a write waits while a job of the log runs, for at most quickAnswerMs from
 * when it began to wait. So a quick job's accept and reply land in one write, the replies of a chunk
 * of quick requests share one, and a slow job's running marker lands once quickAnswerMs is up.
 */
import { runLogChange } from '../protocol/changes.js';
import type { Computed, LogContent, Updated } from '../store/index.js';
import type { DaemonContext } from './daemon-context.js';
import type { Job } from './jobs.js';
import type { LogRoom, LogRooms, OutboxItem } from './log-rooms.js';

/** How the outbox reads the agent's edits in a log (log-sync.ts); `R` is what one read found. */
export interface LogReader<R> {
  /** What one read of the log calls for, as a new text; no side effects (it may run again). */
  compute(room: LogRoom, content: LogContent): Computed<R>;
  /** Called once with the first read of a write, before anything is written: work the write should wait for (a quick answer). */
  hold(room: LogRoom, first: R): Promise<void> | null;
  /** The job whose changes wait for a later write: handed before its request was accepted, and not accepted by `read`. */
  deferred(room: LogRoom, read: R): Job | undefined;
  /** Right before a write tagged `tag` is put in place. */
  beforeWrite(room: LogRoom, read: R, tag: string | null): void;
  /** Once the write is on disk (or nothing was to be written): act on what the read found. */
  done(room: LogRoom, read: R, updated: Updated<unknown>): void;
  /** The write failed for good. */
  failed(room: LogRoom): void;
}

/** What one write took: the read of the agent's edits, and the changes it carried. */
interface Commit<R> {
  read: R;
  taken: OutboxItem[];
  /** What the log was when read. */
  kind: LogContent['kind'];
}

export class Outbox<R> {
  constructor(
    private readonly context: DaemonContext,
    private readonly rooms: LogRooms,
    private readonly reader: () => LogReader<R>,
    /** True while a job of the log runs. */
    private readonly busy: (path: string) => boolean,
  ) {}

  /** Queues a change for the log's next write; resolves once a write carried it (or found the log missing). */
  post(path: string, change: OutboxItem['change'], options: { create?: boolean; jobs?: Job[] } = {}): Promise<Updated<LogContent['kind']>> {
    const room = this.rooms.of(path);
    return new Promise((resolve, reject) => {
      const settle = (outcome: Updated<LogContent['kind']> | Error) => (outcome instanceof Error ? reject(outcome) : resolve(outcome));
      room.pending.push({ change, create: options.create ?? false, jobs: options.jobs ?? [], settle });
      room.waker?.();
      void this.drain(room);
    });
  }

  /** Asks for a write that reads the agent's edits; resolves once one has. */
  read(path: string): Promise<void> {
    const room = this.rooms.of(path);
    room.readWanted = true;
    return this.drain(room);
  }

  /** The fences of jobs whose changes wait in the log's outbox: their markers are no stale ones. */
  waitingFences(path: string): string[] {
    return (this.rooms.get(path)?.pending ?? []).flatMap((item) => item.jobs.map((job) => job.request.fence));
  }

  /** Resolves once no log has a write waiting or running. */
  async idle(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const running = [...this.rooms.all()].flatMap((room) => (room.draining ? [room.draining] : []));
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Stops every wait (the daemon is stopping): what waits is written now. */
  stop(): void {
    for (const room of this.rooms.all()) room.waker?.();
  }

  /**
   * Resolves once no job of the log runs, or quickAnswerMs after it was called (at once when the
   * daemon is stopping or quickAnswerMs is 0).
   */
  whileBusy(room: LogRoom): Promise<void> {
    const { quickAnswerMs } = this.context.timing;
    const free = () => this.context.closed() || !this.busy(room.path);
    if (quickAnswerMs <= 0 || free()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (room.waker === check) room.waker = undefined;
        resolve();
      };
      const check = () => free() && done();
      const timer = setTimeout(done, quickAnswerMs);
      room.waker = check;
    });
  }

  /** Writes while anything waits: one write at a time per log, each carrying all that waits then. */
  private drain(room: LogRoom): Promise<void> {
    if (room.draining) return room.draining;
    const loop = async () => {
      try {
        // What the last write's read saw and left (a deferred job's changes) waits for a read.
        let seen = new Set<OutboxItem>();
        while (room.readWanted || room.pending.some((item) => !seen.has(item))) {
          await this.whileBusy(room);
          seen = await this.commit(room);
        }
      } finally {
        room.draining = null;
        this.rooms.dropIfIdle(room);
      }
    };
    return (room.draining = loop());
  }

  /** One group commit; resolves with the changes its read saw. */
  private async commit(room: LogRoom): Promise<Set<OutboxItem>> {
    const reader = this.reader();
    room.readWanted = false;
    let candidates: OutboxItem[] = [];
    try {
      const { result, written, current } = await this.context.store.update<Commit<R>>(room.path, (content) => {
        const computed = reader.compute(room, content);
        candidates = [...room.pending];
        return this.carry(room, content, computed, candidates, reader);
      }, {
        sync: true,
        hold: (first) => reader.hold(room, first.read),
        beforeWrite: (first, tag) => reader.beforeWrite(room, first.read, tag),
      });
      reader.done(room, result.read, { result: result.read, written, current });
      room.pending = room.pending.filter((item) => !result.taken.includes(item));
      for (const item of result.taken) item.settle({ result: written ? 'text' : result.kind, written, current });
      return new Set(candidates);
    } catch (error) {
      reader.failed(room);
      room.pending = room.pending.filter((item) => !candidates.includes(item));
      for (const item of candidates) item.settle(error as Error);
      return new Set(candidates);
    }
  }

  /** The read's text with the waiting changes it can carry applied; those of a deferred job are left waiting. */
  private carry(room: LogRoom, content: LogContent, computed: Computed<R>, candidates: OutboxItem[], reader: LogReader<R>): Computed<Commit<R>> {
    const deferred = reader.deferred(room, computed.result);
    const taken = candidates.filter((item) => deferred === undefined || !item.jobs.includes(deferred));
    const base = content.kind === 'text' ? (computed.text ?? content.text) : content.kind === 'missing' && taken.some((item) => item.create) ? '' : null;
    if (base === null) return { text: computed.text, result: { read: computed.result, taken, kind: content.kind } };
    // A job's reply replaces its marker whatever it said: its start, ticks and streams in the same write are not applied first.
    const finished = new Set(taken.flatMap((item) => (item.change.type === 'finish' ? item.jobs : [])));
    const superseded = (item: OutboxItem) => (item.change.type === 'start' || item.change.type === 'tick' || item.change.type === 'stream') && item.jobs.some((job) => finished.has(job));
    const text = taken.reduce((next, item) => (superseded(item) ? next : runLogChange(next, item.change).text), base);
    const changed = content.kind !== 'text' || text !== content.text;
    return { text: changed ? text : computed.text, result: { read: computed.result, taken, kind: content.kind } };
  }
}
