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
  /** Its lines, counted when first needed. */
  lines?: LineCounts;
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
   * one from which the copy is the smallest edit (see `closest`); null when it shares less than half
   * of its lines with each.
   */
  baseOf(path: string, copy: Buffer, also?: Buffer[]): Buffer | null;
  forget(path: string): void;
  /**
   * True when `bytes` is not the newest version or an append to it: the log was rewritten (an editor's
   * save, an edit in place, a truncation), and a rewrite in place may still be under way. `startsWith`:
   * a version `bytes` is known to start with (see `TextRead`), which saves the comparison.
   */
  rewritten(path: string, bytes: Buffer, startsWith?: Buffer | null): boolean;
  /** True when `size` is less than half the newest version: a log cleared on purpose, or an Edit tool caught between its truncate and its write. */
  shrunk(path: string, size: number): boolean;
}

/** Creates an empty history. */
export function createVersionHistory(): VersionHistory {
  const versions = new Map<string, Version[]>();
  const newestOf = (path: string) => versions.get(path)?.at(-1)?.bytes;

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
      const at = closest(ordered, current);
      if (at === -1) return null;
      // Made from the daemon's last write or an agent's version since: it lacks nothing of the
      // daemon's, and merging it would apply the agent's own edits twice.
      const lastWritten = ordered.findIndex((version) => version.written);
      if (lastWritten === -1 || at <= lastWritten) return null;
      const base = ordered[at]!.bytes;
      try {
        return Buffer.from(mergeVersions(utf8.decode(base), utf8.decode(newest), utf8.decode(current)), 'utf8');
      } catch {
        return null;
      }
    },
    baseOf(path, copy, also = []) {
      const candidates = [...(versions.get(path) ?? [])].reverse().concat(also.map((bytes) => ({ bytes, written: false })));
      return candidates[closest(candidates, copy)]?.bytes ?? null;
    },
    forget(path) {
      versions.delete(path);
    },
    rewritten(path, bytes, startsWith) {
      const newest = newestOf(path);
      // A read that found the newest version, or an append to it, compared the bytes already.
      if (newest !== undefined && startsWith === newest) return false;
      return newest !== undefined && !(bytes.length >= newest.length && bytes.subarray(0, newest.length).equals(newest));
    },
    shrunk(path, size) {
      const newest = newestOf(path);
      return newest !== undefined && size < newest.length / 2;
    },
  };
}

/**
 * Which of `candidates` an agent's `copy` was most likely made from (-1: none): the one from which it
 * is the fewest lines removed and added (lines counted, not placed: an agent's edits may be anywhere
 * in the log, each a line or a few), then the fewest bytes between the start and the end they share
 * (a version whose lines only moved), then the first. A candidate that shares less than half of the
 * lines of the longer of the two (a fragment of the log, read while an agent rewrote it) is none.
 */
function closest(candidates: Version[], copy: Buffer): number {
  const copyLines = lineCounts(copy);
  let [best, leastLines, leastBytes] = [-1, Infinity, Infinity];
  candidates.forEach((version, index) => {
    const lines = (version.lines ??= lineCounts(version.bytes));
    const common = commonLines(lines, copyLines);
    if (common < Math.max(lines.total, copyLines.total) / 2) return;
    const editLines = lines.total + copyLines.total - 2 * common;
    if (editLines > leastLines) return;
    const editBytes = version.bytes.length + copy.length - 2 * sharedEnds(version.bytes, copy);
    if (editLines === leastLines && editBytes >= leastBytes) return;
    [best, leastLines, leastBytes] = [index, editLines, editBytes];
  });
  return best;
}

/** How often each line of a version occurs, by a hash of the line (FNV-1a), and how many lines it has. */
interface LineCounts {
  counts: Map<number, number>;
  total: number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function lineCounts(bytes: Buffer): LineCounts {
  const counts = new Map<number, number>();
  let total = 0;
  let hash = FNV_OFFSET;
  const count = () => {
    counts.set(hash, (counts.get(hash) ?? 0) + 1);
    total += 1;
    hash = FNV_OFFSET;
  };
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index]!;
    if (byte === 0x0a) count();
    else hash = Math.imul(hash ^ byte, FNV_PRIME) >>> 0;
  }
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) count();
  return { counts, total };
}

/** How many lines two versions have in common, counting repeats. */
function commonLines(a: LineCounts, b: LineCounts): number {
  const [small, large] = a.counts.size <= b.counts.size ? [a, b] : [b, a];
  let common = 0;
  for (const [hash, count] of small.counts) common += Math.min(count, large.counts.get(hash) ?? 0);
  return common;
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
