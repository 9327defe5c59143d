/**
 * Everything the daemon keeps of one log, in one object: what waits to be written to it (outbox.ts),
 * the replies it remembers or keeps while it is deleted (replies), and what its reads left (log-sync.ts).
 * A room is made when its log is first touched and dropped once the log is gone and nothing of it waits.
 */
import type { LogChange } from '../protocol/changes.js';
import type { SeenText } from '../protocol/stray.js';
import type { Finish } from '../protocol/transitions.js';
import type { LogContent, Updated } from '../store/index.js';
import type { Job } from './jobs.js';

/** A change waiting in a log's outbox, with the jobs it belongs to (their reply, marker, tick, notice). */
export interface OutboxItem {
  change: LogChange;
  /** Makes the log when it is missing (a realm's first section). */
  create: boolean;
  jobs: Job[];
  /** Settles once a write carried the change (or found the log missing or unreadable). */
  settle(outcome: Updated<LogContent['kind']> | Error): void;
}

/** A reply whose log was deleted, waiting for the log to come back. */
export interface OrphanResult {
  job: Job;
  finish: Finish;
  expiresAt: number;
}

/** What a log's room holds. */
export interface LogRoom {
  readonly path: string;
  /** The changes waiting for the log's next write, in the order they came. */
  pending: OutboxItem[];
  /** True when a read of the agent's edits is asked for and no write has read them yet. */
  readWanted: boolean;
  /** The outbox's loop of writes while it runs. */
  draining: Promise<void> | null;
  /** Called when a change is posted while a write waits for a job of the log (outbox.ts `whileBusy`). */
  waker?: () => void;
  /** Replies whose log was deleted, until it comes back or they expire. */
  orphans: OrphanResult[];
  /** Marks a note below the footer due to move once the log has been quiet for noteQuietMs. */
  noteTimer?: NodeJS.Timeout;
  /** True when the next read moves a note below the footer above it. */
  noteDue?: boolean;
  /** The tag of the write about to carry accepts the journal was told of (log-sync.ts). */
  acceptedIn?: string | null;
  /** The fences a write just accepted, until their jobs are made. */
  accepting?: Set<string>;
  /** The text the last read left, to find what an agent changed in the history since. */
  seen?: SeenText;
  /** When an agent last changed it (its last file event that was not the daemon's own write). */
  editedAt?: number;
  /** The job handed to its realm before the write accepting its request (a quick answer; log-sync.ts). */
  early?: { job: Job; recheck?: NodeJS.Timeout };
  /** Found at start and not read yet in this run. */
  unreconciled?: boolean;
}

/** The rooms of all logs, by path. */
export class LogRooms {
  private readonly rooms = new Map<string, LogRoom>();

  /** The room of `path`, made when it has none. */
  of(path: string): LogRoom {
    let room = this.rooms.get(path);
    if (!room) this.rooms.set(path, (room = { path, pending: [], readWanted: false, draining: null, orphans: [] }));
    return room;
  }

  get(path: string): LogRoom | undefined {
    return this.rooms.get(path);
  }

  all(): IterableIterator<LogRoom> {
    return this.rooms.values();
  }

  /** The log is gone: what its reads left goes now, the room itself once nothing of it waits. */
  forget(path: string): void {
    const room = this.rooms.get(path);
    if (!room || room.early) return;
    clearTimeout(room.noteTimer);
    room.noteTimer = room.accepting = room.seen = room.editedAt = room.noteDue = undefined;
    this.dropIfIdle(room);
  }

  /** Drops a room that holds nothing. */
  dropIfIdle(room: LogRoom): void {
    const idle = room.pending.length === 0 && !room.draining && room.orphans.length === 0 && !room.early && room.seen === undefined && !room.unreconciled;
    if (idle && this.rooms.get(room.path) === room) this.rooms.delete(room.path);
  }
}
