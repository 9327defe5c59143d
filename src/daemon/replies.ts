/**
 * Replies on their way to a log, through its outbox: a reply whose log was deleted waits in the
 * log's room for the log to come back (an orphan).
 */
import type { Finish } from '../protocol/transitions.js';
import type { DaemonContext } from './daemon-context.js';
import type { Job } from './jobs.js';
import type { LogRooms } from './log-rooms.js';
import type { Outbox } from './outbox.js';

export class Replies {
  constructor(
    private readonly context: DaemonContext,
    private readonly rooms: LogRooms,
    private readonly outbox: Outbox<unknown>,
  ) {}

  /** Writes a job's reply (or keeps it for a deleted log); `ended` once it is written or kept. */
  write(job: Job, done: Finish, ended: () => void): void {
    const written = this.outbox.post(job.logPath, { type: 'finish', job: job.request, finish: done }, { jobs: [job] }).then(({ result }) => {
      ended();
      if (result === 'missing') this.rooms.of(job.logPath).orphans.push({ job, finish: done, expiresAt: Date.now() + this.context.timing.keepOrphanResultMs });
    });
    this.context.background(`writing the reply of job ${job.id}`, written);
  }

  /** Discards, with a warning, replies whose log did not come back in time. */
  expire(now: number): void {
    for (const room of [...this.rooms.all()]) {
      const expired = room.orphans.filter((orphan) => orphan.expiresAt <= now);
      if (expired.length === 0) continue;
      room.orphans = room.orphans.filter((orphan) => orphan.expiresAt > now);
      for (const orphan of expired) {
        this.context.warn(`the reply to the request at ${orphan.job.request.requestedAt} (${excerpt(orphan.job.request.code)}) was discarded: ${room.path} was deleted and did not come back`);
      }
      this.rooms.dropIfIdle(room);
    }
  }
}

/** The first line of a request's code, shortened for the daemon's console. */
export function excerpt(code: string): string {
  const line = code.trim().split('\n')[0] ?? '';
  return line.length > 60 ? line.slice(0, 57) + '...' : line;
}
