/**
 * The last versions of each log that the daemon wrote or read, to recognise an agent's copy made from an older one: an
 * editor that read the log, saw no change when it checked again, and saved a moment after the daemon
 * wrote a reply. Its save replaces the reply (and may bring back a marker, or a request as it was
 * before it ran). Made from an older version, such a copy is merged three-way with the daemon's
 * newest, so that the agent's changes and the daemon's since both stay and nothing runs twice.
 */
import { mergeVersions } from '../protocol/merge.js';
import { utf8 } from './temp-file.js';

/** Versions kept per log, newest last; fewer when they are long. */
const KEPT_VERSIONS = 32;
const KEPT_BYTES = 16 * 1024 * 1024;

/**
 * How a version came to be on disk: the daemon wrote it, the daemon read it (an agent's edit), or it
 * is a stale copy the daemon healed (an agent may make its next copy from it, but the version the
 * healed text is compared with stays the newest).
 */
export type VersionSource = 'written' | 'read' | 'healed';

interface Version {
  bytes: Buffer;
  written: boolean;
}

/** The daemon's recent versions of the logs it writes. */
export interface VersionHistory {
  /** Records a version that was on disk. */
  remember(path: string, bytes: Buffer, source: VersionSource): void;
  /**
   * The log as it must be when `current` is an agent's copy of a version older than the daemon's
   * last write (it lacks what the daemon wrote since); null when it is not.
   */
  heal(path: string, current: Buffer): Buffer | null;
  /**
   * The version an agent's `copy` was most likely made from, among the kept versions and `also`: the
   * one from which the copy is the smallest edit (bytes removed and added between a shared start and
   * end); null when it shares less than half with each (of the longer of the two).
   */
  baseOf(path: string, copy: Buffer, also?: Buffer[]): Buffer | null;
  forget(path: string): void;
  /**
   * True when `bytes` is not the newest version or an append to it: the log was rewritten (an editor's
   * save, an edit in place, a truncation), and a rewrite in place may still be under way.
   */
  rewritten(path: string, bytes: Buffer): boolean;
  /** True when `size` is less than half the newest version: a log cleared on purpose, or an Edit tool caught between its truncate and its write. */
  shrunk(path: string, size: number): boolean;
}

/** Creates an empty history. */
export function createVersionHistory(): VersionHistory {
  const versions = new Map<string, Version[]>();
  const newestOf = (path: string) => versions.get(path)?.at(-1)?.bytes;

  /** The best base among `candidates` (see `baseOf`); the first wins a tie. */
  const bestBase = (candidates: Buffer[], copy: Buffer): Buffer | null => {
    let [base, least]: [Buffer | null, number] = [null, Infinity];
    for (const version of candidates) {
      const shared = sharedEnds(version, copy);
      // What the agent would have removed and added, had it made the copy from this version.
      const edit = version.length + copy.length - 2 * shared;
      // A base shares at least half of the longer of the two: a fragment of the log (read while an
      // agent rewrote it) is the base of nothing.
      if (shared >= Math.max(version.length, copy.length) / 2 && edit < least) [base, least] = [version, edit];
    }
    return base;
  };

  return {
    remember(path, bytes, source) {
      const list = versions.get(path) ?? [];
      if (list.at(-1)?.bytes.equals(bytes)) {
        if (source === 'written') list.at(-1)!.written = true;
        return;
      }
      const version = { bytes, written: source === 'written' };
      if (source === 'healed' && list.length > 0) list.splice(list.length - 1, 0, version);
      else list.push(version);
      let total = list.reduce((sum, each) => sum + each.bytes.length, 0);
      while (list.length > KEPT_VERSIONS || (list.length > 1 && total > KEPT_BYTES)) total -= list.shift()!.bytes.length;
      versions.set(path, list);
    },
    heal(path, current) {
      const list = versions.get(path);
      const newest = list?.at(-1)?.bytes;
      if (!list || !newest || list.length < 2) return null;
      // An append to the newest version, or a change made from it, is the agent's own edit.
      if (current.length >= newest.length && current.subarray(0, newest.length).equals(newest)) return null;
      // A log cut to a fraction of itself was cleared on purpose, not saved from an old copy.
      if (current.length < newest.length / 10) return null;
      // Newest first: on a tie the newer version is the base.
      const ordered = [...list].reverse();
      const base = bestBase(
        ordered.map((version) => version.bytes),
        current,
      );
      if (base === null) return null;
      // Made from the daemon's last write or an agent's version since: it lacks nothing of the
      // daemon's, and merging it would apply the agent's own edits twice.
      const lastWritten = ordered.findIndex((version) => version.written);
      const at = ordered.findIndex((version) => version.bytes === base);
      if (lastWritten === -1 || at <= lastWritten) return null;
      try {
        return Buffer.from(mergeVersions(utf8.decode(base), utf8.decode(newest), utf8.decode(current)), 'utf8');
      } catch {
        return null;
      }
    },
    baseOf(path, copy, also = []) {
      return bestBase([...(versions.get(path) ?? [])].reverse().map((version) => version.bytes).concat(also), copy);
    },
    forget(path) {
      versions.delete(path);
    },
    rewritten(path, bytes) {
      const newest = newestOf(path);
      return newest !== undefined && !(bytes.length >= newest.length && bytes.subarray(0, newest.length).equals(newest));
    },
    shrunk(path, size) {
      const newest = newestOf(path);
      return newest !== undefined && size < newest.length / 2;
    },
  };
}

/** How many bytes two versions share at their start and at their end. */
export function sharedEnds(a: Buffer, b: Buffer): number {
  const limit = Math.min(a.length, b.length);
  // Compared a block at a time (memcmp), the blocks shrinking near the first difference: a log's
  // copies share hundreds of kilobytes, and this runs for every kept version on every rewrite.
  let start = 0;
  for (const block of BLOCKS) {
    while (start + block <= limit && a.subarray(start, start + block).equals(b.subarray(start, start + block))) start += block;
  }
  let end = 0;
  for (const block of BLOCKS) {
    while (end + block <= limit - start && a.subarray(a.length - end - block, a.length - end).equals(b.subarray(b.length - end - block, b.length - end))) end += block;
  }
  return start + end;
}

const BLOCKS = [65_536, 4_096, 256, 16, 1];
