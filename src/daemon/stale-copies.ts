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

/** The daemon's recent versions of the logs it writes. */
export interface VersionHistory {
  /** Records a version that was on disk: one the daemon wrote, or an agent's it read. */
  remember(path: string, bytes: Buffer): void;
  /** The log as it must be when `current` is an agent's copy of an older version; null when it is not. */
  heal(path: string, current: Buffer): Buffer | null;
  forget(path: string): void;
  /** True when `size` is less than half the daemon's newest version: likely an agent's write caught between its truncate and its write. */
  shrunk(path: string, size: number): boolean;
}

/** Creates an empty history. */
export function createVersionHistory(): VersionHistory {
  const versions = new Map<string, Buffer[]>();
  return {
    remember(path, bytes) {
      const list = versions.get(path) ?? [];
      if (list.at(-1)?.equals(bytes)) return;
      list.push(bytes);
      let total = list.reduce((sum, version) => sum + version.length, 0);
      while (list.length > KEPT_VERSIONS || (list.length > 1 && total > KEPT_BYTES)) total -= list.shift()!.length;
      versions.set(path, list);
    },
    heal(path, current) {
      const list = versions.get(path);
      const newest = list?.at(-1);
      if (!list || !newest || list.length < 2) return null;
      // An append to the newest version, or a change made from it, is the agent's own edit.
      if (current.length >= newest.length && current.subarray(0, newest.length).equals(newest)) return null;
      // A log cut to a fraction of itself was cleared on purpose, not saved from an old copy.
      if (current.length < newest.length / 10) return null;
      let base = newest;
      let best = sharedEnds(newest, current);
      for (const version of list) {
        const shared = sharedEnds(version, current);
        if (shared > best) [base, best] = [version, shared];
      }
      // Made from the newest, or from none of them (too little in common): nothing to heal.
      if (base === newest || best < base.length / 2) return null;
      try {
        return Buffer.from(mergeVersions(utf8.decode(base), utf8.decode(newest), utf8.decode(current)), 'utf8');
      } catch {
        return null;
      }
    },
    forget(path) {
      versions.delete(path);
    },
    shrunk(path, size) {
      const newest = versions.get(path)?.at(-1);
      return newest !== undefined && size < newest.length / 2;
    },
  };
}

/** How many bytes two versions share at their start and at their end. */
function sharedEnds(a: Buffer, b: Buffer): number {
  const limit = Math.min(a.length, b.length);
  let start = 0;
  const CHUNK = 65_536;
  while (start + CHUNK <= limit && a.subarray(start, start + CHUNK).equals(b.subarray(start, start + CHUNK))) start += CHUNK;
  while (start < limit && a[start] === b[start]) start += 1;
  let end = 0;
  while (end < limit - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end += 1;
  return start + end;
}
