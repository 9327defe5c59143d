/**
 * The versions of each log the daemon knows: the ones it wrote, by the tag each carries in its footer
 * (the base of a copy written back, reconcile.ts), and the newest one it read or wrote (what a copy
 * is reconciled into, and what tells an append from a rewrite).
 */

import { decodeLog, encodeLog, footerTag } from '../protocol/log-text.js';
import { reconcile } from '../protocol/reconcile.js';
import { isWary } from './settle.js';

/**
 * Versions the daemon wrote kept per log, newest last; fewer when they are long (16 MiB in all). A copy
 * of one no longer kept has no known base (see `reconcile`).
 */
const KEPT_VERSIONS = 256;
const KEPT_BYTES = 16 * 1024 * 1024;

interface LogVersions {
  /** Versions the daemon wrote, by tag, oldest first. */
  written: Map<string, Buffer>;
  /** By tag, the agent's versions the daemon read before it wrote again, oldest first (the last few). */
  appended: Map<string, Buffer[]>;
  bytes: number;
  /** Undefined while the only version is the one made at connect. */
  newest: Buffer | undefined;
  newestTag: string | null;
}

/** The daemon's versions of the logs it writes. */
export interface KeptVersions {
  /**
   * Records a version the daemon wrote, tagged `tag` (null: a version without a footer to tag).
   * `created`: the log made when its realm connected, a base for copies of it but not the newest, so
   * that an agent writing its first request over it is not taken for a log cut short (log-store.ts).
   */
  wrote(path: string, bytes: Buffer, tag: string | null, created?: boolean): void;
  /** Records a version of an agent's that the daemon read: the newest, and a base for copies made from it. */
  read(path: string, bytes: Buffer): void;
  /**
   * The version `copy` was made from, by the tag in its footer, while it is kept: the version the
   * daemon wrote with `tag`, or the latest of the agent's versions the daemon read before it wrote
   * again whose changes the copy holds.
   */
  baseOf(path: string, tag: string, copy: string): Buffer | undefined;
  /** The tag of the daemon's last write. */
  lastTag(path: string): string | null;
  /**
   * A version the daemon did not write (`raw`, its `bytes`), reconciled with the newest version
   * (reconcile.ts) from the base its tag names: the raw text to go on with, or null when it is taken as
   * it is. One made from the last write (an edit in place, a save), an append, or one without a tag
   * (the agent wrote the log from scratch, or cleared it) is taken as it is; one naming a version no
   * longer kept is taken as the agent's edit of the newest, whose sections stay under the lines they
   * followed.
   */
  reconcile(path: string, raw: string, bytes: Buffer, startsWith?: Buffer | null): string | null;
  forget(path: string): void;
  /**
   * True when `bytes` is not the newest version or an append to it: the log was rewritten (an editor's
   * save, an edit in place, a copy written back), and a rewrite in place may still be under way.
   * `startsWith`: a version `bytes` is known to start with (see `TextRead`), which saves the comparison.
   */
  rewritten(path: string, bytes: Buffer, startsWith?: Buffer | null): boolean;
  /**
   * True when `bytes`, a rewrite, is rarely meant (settle.ts): less than half the newest version (a log
   * cleared on purpose, or an edit tool caught between its truncate and its write), or without the
   * footer the newest has (an edit tool's write caught half way: the footer is its last lines).
   */
  wary(path: string, bytes: Buffer): boolean;
}

/** Versions of the agent's kept per tag of the daemon's (fewer when long: 4 MiB in all). */
const READ_PER_TAG = 8;

function sum(list: Buffer[] | undefined): number {
  return (list ?? []).reduce((total, bytes) => total + bytes.length, 0);
}

/** The non-blank lines of `bytes` that `other` does not have (counting repeats), in order. */
function linesNotIn(bytes: Buffer, other: Buffer): string[] {
  const lines = (from: Buffer) => from.toString('utf8').split(/\r?\n/).filter((line) => line.trim() !== '');
  const counts = new Map<string, number>();
  for (const line of lines(other)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return lines(bytes).filter((line) => {
    const count = counts.get(line) ?? 0;
    counts.set(line, count - 1);
    return count <= 0;
  });
}

/** True when `lines` holds every one of `wanted`, in order. */
function holdsInOrder(lines: string[], wanted: string[]): boolean {
  let next = 0;
  for (const line of lines) if (next < wanted.length && line === wanted[next]) next++;
  return next === wanted.length;
}

/** Creates an empty store of versions. */
export function createKeptVersions(): KeptVersions {
  const logs = new Map<string, LogVersions>();
  const entry = (path: string) => {
    let versions = logs.get(path);
    if (!versions) logs.set(path, (versions = { written: new Map(), appended: new Map(), bytes: 0, newest: undefined, newestTag: null }));
    return versions;
  };
  return {
    wrote(path, bytes, tag, created = false) {
      const versions = entry(path);
      if (!created) versions.newest = bytes;
      versions.newestTag = tag;
      if (tag === null) return;
      versions.written.set(tag, bytes);
      versions.bytes += bytes.length;
      for (const [oldest, kept] of versions.written) {
        if (versions.written.size <= 1 || (versions.written.size <= KEPT_VERSIONS && versions.bytes <= KEPT_BYTES)) break;
        versions.written.delete(oldest);
        versions.bytes -= kept.length + sum(versions.appended.get(oldest));
        versions.appended.delete(oldest);
      }
    },
    read(path, bytes) {
      const versions = entry(path);
      versions.newest = bytes;
      const tag = versions.newestTag;
      if (tag === null || !versions.written.has(tag)) return;
      const list = versions.appended.get(tag) ?? [];
      list.push(bytes);
      versions.bytes += bytes.length;
      while (list.length > READ_PER_TAG || (list.length > 1 && sum(list) > KEPT_BYTES / 4)) versions.bytes -= list.shift()!.length;
      versions.appended.set(tag, list);
    },
    baseOf(path, tag, copy) {
      const versions = logs.get(path);
      const written = versions?.written.get(tag);
      if (!versions || !written) return undefined;
      // The agent's versions the daemon read before it wrote again carry the same tag: the copy was
      // made from the latest of them whose changes it holds (the lines the agent had added, in order,
      // and not all of those it had removed); else from the version the daemon wrote.
      const copied = copy.split(/\r?\n/);
      for (const read of [...(versions.appended.get(tag) ?? [])].reverse()) {
        const added = linesNotIn(read, written);
        const removed = linesNotIn(written, read);
        if (holdsInOrder(copied, added) && (removed.length === 0 || !holdsInOrder(copied, removed))) return read;
      }
      return written;
    },
    lastTag: (path) => logs.get(path)?.newestTag ?? null,
    reconcile(path, raw, bytes, startsWith) {
      const newest = logs.get(path)?.newest;
      if (!newest || !this.rewritten(path, bytes, startsWith)) return null;
      const tag = footerTag(raw);
      // No daebug version at all: the agent's own text (a log it wrote from scratch, or cleared).
      if (tag === null || tag === this.lastTag(path)) return null;
      const base = this.baseOf(path, tag, raw);
      const ours = decodeLog(newest.toString('utf8')).text;
      const theirs = decodeLog(raw);
      const merged = reconcile(base ? decodeLog(base.toString("utf8")).text : ours, ours, theirs.text);
      return merged === theirs.text ? null : encodeLog(merged, theirs.encoding);
    },
    forget(path) {
      logs.delete(path);
    },
    rewritten(path, bytes, startsWith) {
      const newest = logs.get(path)?.newest;
      // A read that found the newest version, or an append to it, compared the bytes already.
      if (newest === undefined || startsWith === newest) return false;
      return !(bytes.length >= newest.length && bytes.subarray(0, newest.length).equals(newest));
    },
    wary(path, bytes) {
      const newest = logs.get(path)?.newest;
      return newest !== undefined && isWary(newest, bytes);
    },
  };
}
