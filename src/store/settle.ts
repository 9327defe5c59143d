/**
 * When the store takes a version of a log as settled enough to act on: the one policy for it, with
 * every delay a field of `StoreTiming` (part of `DaemonTiming`; tests shorten them).
 *
 * - The newest version the daemon wrote, or an append to it, is acted on at once: an append is one
 *   write, and the common case.
 * - Any other version (a rewrite) may be an edit tool's truncate-then-write caught half way: it is
 *   acted on once it has held still for `settleMs`, read again that often.
 * - A rewrite that is rarely meant must hold still for `waryMs`, read every `waryStepMs`: one cut
 *   below half of the newest version (an edit tool stalled between its truncate and its write for
 *   over 50 ms on a busy machine was once taken for a cleared log), and one without the footer the
 *   newest had (the footer is the last thing such a write puts back, so a write caught half way has
 *   none; taken as the agent's text, it once ran a request whose reply was not written yet again).
 * - The old file of a write (a backup) is watched for `backupGraceMs`, looked into before every write
 *   in its first `backupRecentMs`, and what an agent rewrote in it is put back once it has been still
 *   for `backupQuietMs`, or `waryMs` when the rewrite is one rarely meant (as above).
 */
import { FOOTER_PROMPT } from '../protocol/grammar.js';

export interface StoreTiming {
  /** How long the old file of a write is kept to catch an agent's write that was already on its way. */
  backupGraceMs: number;
  /** Backups this young are looked into before every write of their log. */
  backupRecentMs: number;
  /** A backup rewritten this recently may be mid-write: what it holds goes back once it is still this long. */
  backupQuietMs: number;
  /** A rewritten log must hold still this long before it is acted on (and is read again as often). */
  settleMs: number;
  /** A rewrite that is rarely meant (cut below half, or without its footer) must hold still this long. */
  waryMs: number;
  /** How often such a rewrite is read again meanwhile. */
  waryStepMs: number;
  /** The longest wait between two attempts of a change whose version checks keep failing. */
  writeBackoffMs: number;
  /** A change still trying after this long says so in a warning, once. */
  writeSlowMs: number;
  /** A change gives up, with a warning, after trying this long (a reply is never dropped sooner). */
  writeGiveUpMs: number;
}

export const DEFAULT_STORE_TIMING: StoreTiming = {
  backupGraceMs: 2_000,
  backupRecentMs: 250,
  backupQuietMs: 15,
  settleMs: 5,
  waryMs: 1_000,
  waryStepMs: 25,
  writeBackoffMs: 100,
  writeSlowMs: 5_000,
  writeGiveUpMs: 30_000,
};

/** The start of the footer's prompt line, as bytes. */
const FOOTER_BYTES = Buffer.from(`\n${FOOTER_PROMPT}`);

/**
 * True when `bytes`, a rewrite of `newest`, is rarely meant: less than half of it (a log cleared on
 * purpose, or an edit tool caught between its truncate and its write), or without the footer it had
 * (an edit tool's write caught half way: the footer is its last lines).
 */
export function isWary(newest: Buffer, bytes: Buffer): boolean {
  return bytes.length < newest.length / 2 || (newest.lastIndexOf(FOOTER_BYTES) !== -1 && bytes.lastIndexOf(FOOTER_BYTES) === -1);
}

/**
 * How long a version just read must hold still before it is acted on, and how often it is read
 * meanwhile; null when at once. `wary`: it is never acted on before (the store caps how often it
 * waits for any other rewrite, so that one agent rewriting all the time cannot hold its writes back;
 * a rewrite without its footer, read half written past that cap, ran a request again).
 */
export function holdStill(timing: StoreTiming, versions: { rewritten(path: string, bytes: Buffer, startsWith?: Buffer | null): boolean; wary(path: string, bytes: Buffer): boolean }, path: string, bytes: Buffer, startsWith?: Buffer | null): { quietMs: number; stepMs: number; wary: boolean } | null {
  if (!versions.rewritten(path, bytes, startsWith)) return null;
  return versions.wary(path, bytes) ? { quietMs: timing.waryMs, stepMs: timing.waryStepMs, wary: true } : { quietMs: timing.settleMs, stepMs: timing.settleMs, wary: false };
}
