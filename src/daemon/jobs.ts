/**
 * Jobs: one executable fence of an accepted chunk, from request to outcome.
 * requested → dispatched (the realm took it) → finished / failed / timed out / cancelled.
 */
import { randomBytes } from 'node:crypto';
import type { LogEvent } from '../protocol/render.js';
import type { AcceptedRequest } from '../protocol/transitions.js';

/** Where a job is in its life. */
export type JobState = 'requested' | 'dispatched' | 'finished' | 'failed' | 'timed out' | 'cancelled';

/** One request on its way through a realm. */
export interface Job {
  id: string;
  /** The realm's key: its log file name. */
  realmKey: string;
  /** The log the request came from and the reply goes to. */
  logPath: string;
  request: AcceptedRequest;
  /** The request as an async function body (prepare-code.ts). */
  body: string;
  /** The same for a Node process, whose `import()` calls go through the realm's resolver. */
  nodeBody: string;
  state: JobState;
  /** Epoch ms when the request was accepted. */
  acceptedAt: number;
  /** Epoch ms when the realm took the job. */
  startedAt: number | null;
  /** Events that arrived while the job ran, in arrival order. */
  events: LogEvent[];
  timers: JobTimers;
  /** What the journal of requests says it is (journal.ts): handed from the queue, handed early, or (absent) neither. */
  journal?: 'h' | 'e';
}

/** The timers a running job owns; all cleared when it ends. */
export interface JobTimers {
  timeout?: NodeJS.Timeout;
  tick?: NodeJS.Timeout;
  stream?: NodeJS.Timeout;
}

/**
 * Creates an id source for jobs and test runs. Ids are random, so they never repeat across daemon
 * runs (a result from a page that ran a job of the previous run cannot match a job of this one) and
 * cannot be guessed by anyone who was not given the job.
 */
export function createJobIds(): () => string {
  return () => randomBytes(9).toString('base64url');
}

/** A new job in the requested state. */
export function createJob(id: string, realmKey: string, logPath: string, request: AcceptedRequest, body: string, nodeBody = body): Job {
  return { id, realmKey, logPath, request, body, nodeBody, state: 'requested', acceptedAt: Date.now(), startedAt: null, events: [], timers: {} };
}

/** Stops every timer of a job. */
export function clearJobTimers(job: Job): void {
  clearTimeout(job.timers.timeout);
  clearInterval(job.timers.tick);
  clearTimeout(job.timers.stream);
  job.timers = {};
}
