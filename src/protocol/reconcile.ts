/**
 * One way to reconcile a version of a log that the daemon did not write (an editor's save, an edit in
 * place, a copy of an older version written back, text written into the old file of a replacement)
 * with the daemon's latest version, from a known base: the version the copy was made from.
 *
 * A version is read as the agent's lines and the daemon's sections (log-map.ts), each section anchored
 * after the agent line above it, and the footer. The agent's lines of the three versions are merged
 * three-way; the daemon's sections are those of its latest version, each put back right under the
 * agent line it followed. So:
 *
 * - the agent's changes in the copy and the agent's text the daemon read since the base both stay, in
 *   their order; where both changed the same lines (two edits of the agent's own, one of them made
 *   from an older version) the latest version's lines come first, then the lines the copy added there:
 *   agent text is always kept;
 * - a section sits under the agent line it followed in the latest version (a reply under its request),
 *   and goes when that line goes (a request deleted with its marker); a section the copy removed that
 *   the base had goes too;
 * - the footer follows the last line that was above a footer in its own version: what the copy added
 *   below its footer is the tail, read as new text;
 * - without a known base (`base` = `ours`) the copy is taken as the agent's edit of the latest version,
 *   and every section whose line is still there is kept.
 *
 * Text shaped like a daebug section is a section here (the limit of log-map.ts): only the daemon's
 * latest version of its sections is kept.
 */
import { diffIndices } from 'node-diff3';
import { parsePendingHeader, isReplyHeader } from './grammar.js';
import { readLayout } from './layout.js';
import { mapLog } from './log-map.js';
import { lineAt } from './log-text.js';

/** A daemon section of a version, after `anchor` of its agent lines. */
interface Section {
  text: string;
  anchor: number;
  /** A marker or a reply: it belongs to the request right above it. */
  attached: boolean;
  above: boolean;
}

/** A version read as agent lines, daemon sections and the footer. */
interface Parsed {
  lines: string[];
  sections: Section[];
  footer: { text: string; anchor: number } | null;
}

/** Splits a decoded log (LF, no BOM) into agent lines, sections and the footer. */
function parse(text: string): Parsed {
  const footer = footerWithBlankLines(text);
  const lines: string[] = [];
  const sections: Section[] = [];
  let parsedFooter: Parsed['footer'] = null;
  const addLines = (from: number, to: number) => {
    if (footer && from < footer.end && to > footer.start) {
      addLines(from, footer.start);
      parsedFooter = { text: text.slice(footer.start, footer.end), anchor: lines.length };
      addLines(footer.end, to);
      return;
    }
    for (let at = from; at < to; ) {
      const end = text.indexOf('\n', at);
      const next = end === -1 || end >= to ? to : end + 1;
      lines.push(text.slice(at, next));
      at = next;
    }
  };
  let from = 0;
  for (const span of mapLog(text).sections) {
    // A section never holds the footer (its prompt line is no section line); guard anyway.
    if (footer && span.start < footer.end && span.end > footer.start) continue;
    addLines(from, span.start);
    const header = lineAt(text, span.start);
    sections.push({ text: text.slice(span.start, span.end), anchor: lines.length, attached: parsePendingHeader(header) !== null || isReplyHeader(header), above: footer === null || span.start < footer.start });
    from = span.end;
  }
  addLines(from, text.length);
  return { lines, sections, footer: parsedFooter };
}

/**
 * The footer and the two empty lines the daemon writes after it: text an agent appends goes after
 * those, and the daemon's accept moves it above the footer, so to the merge the two places are one.
 */
function footerWithBlankLines(text: string): { start: number; end: number } | null {
  const { footer } = readLayout(text);
  if (!footer) return null;
  let end = footer.end;
  for (let blank = 0; blank < 2 && end < text.length; blank++) {
    const next = text.indexOf('\n', end);
    if (next === -1 || text.slice(end, next).trim() !== '') break;
    end = next + 1;
  }
  return { start: footer.start, end };
}

/**
 * True when the request right above `anchor` (its fence, from the opening line to the closing one)
 * is still there, every line of it: a reply is never left under another request's lines.
 */
function requestKept(lines: string[], anchor: number, kept: Set<number>): boolean {
  if (anchor === 0) return true;
  const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[anchor - 1] ?? '');
  if (!close) return kept.has(anchor - 1);
  for (let at = anchor - 1; at >= 0; at--) {
    if (!kept.has(at)) return false;
    if (at < anchor - 1 && lines[at]!.trimStart().startsWith(close[1]!)) return true;
  }
  return true;
}

/** One side's change of the base's lines `[oStart, oEnd)` into its own `[start, end)`. */
interface Hunk {
  oStart: number;
  oEnd: number;
  start: number;
  end: number;
}

/**
 * One side's changes of the base, as hunks in base order, from the lines the two share (`matches`).
 */
function hunks(base: string[], side: string[]): Hunk[] {
  const found: Hunk[] = [];
  let [i, j] = [0, 0];
  for (const [a, b] of [...matches(base, side), [base.length, side.length] as const]) {
    if (a > i || b > j) found.push({ oStart: i, oEnd: a, start: j, end: b });
    [i, j] = [a + 1, b + 1];
  }
  return found;
}

/**
 * The lines two versions share, as index pairs in order: a patience diff. Lines that occur once in each
 * (a request's code, a header with its time) are matched first, as the longest run in order; the
 * stretches between them are matched from their start, then from their end, then by the longest
 * common subsequence. So a line repeated everywhere (a fence, a blank line) is matched where its
 * neighbours say, and an append is found where it was made, not at an earlier copy of its lines.
 */
function matches(a: string[], b: string[]): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  matchStretch(a, b, 0, a.length, 0, b.length, false, out);
  return out;
}

/** Above this product of two stretches' lengths they are not matched line by line (see `matchStretch`). */
const LCS_LIMIT = 4_000_000;

function matchStretch(a: string[], b: string[], aLo: number, aHi: number, bLo: number, bHi: number, bounded: boolean, out: (readonly [number, number])[]): void {
  while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) out.push([aLo++, bLo++] as const);
  const anchors = uniqueAnchors(a, b, aLo, aHi, bLo, bHi);
  if (anchors.length > 0) {
    let [i, j] = [aLo, bLo];
    for (const [x, y] of anchors) {
      matchStretch(a, b, i, x, j, y, true, out);
      out.push([x, y] as const);
      [i, j] = [x + 1, y + 1];
    }
    return matchStretch(a, b, i, aHi, j, bHi, bounded, out);
  }
  // Between two anchors the end is as safe as the start; after the last one it is not (an append).
  const tail: (readonly [number, number])[] = [];
  while (bounded && aLo < aHi && bLo < bHi && a[aHi - 1] === b[bHi - 1]) tail.unshift([--aHi, --bHi] as const);
  // The longest common subsequence costs the product of the two lengths when their lines repeat
  // (thousands of identical lines): past a bound the rest is taken as replaced.
  if (aLo < aHi && bLo < bHi && (aHi - aLo) * (bHi - bLo) <= LCS_LIMIT) {
    let [i, j] = [0, 0];
    for (const hunk of diffIndices(a.slice(aLo, aHi), b.slice(bLo, bHi))) {
      for (; i < hunk.buffer1[0]; i++, j++) out.push([aLo + i, bLo + j] as const);
      [i, j] = [hunk.buffer1[0] + hunk.buffer1[1], hunk.buffer2[0] + hunk.buffer2[1]];
    }
    for (; i < aHi - aLo && j < bHi - bLo; i++, j++) out.push([aLo + i, bLo + j] as const);
  }
  out.push(...tail);
}

/** True for a line that is only a fence (with its language), blank, or an agent header without a time: every request has the same ones. */
function trivial(line: string): boolean {
  return /^\s*((`{3,}|~{3,})[\w-]*)?\s*$/.test(line) || /^### 🗣\uFE0F?\S+\s*$/u.test(line);
}

/** Lines of text that occur once in each stretch, matched as the longest run in the same order (patience sorting). */
function uniqueAnchors(a: string[], b: string[], aLo: number, aHi: number, bLo: number, bHi: number): [number, number][] {
  const once = (list: string[], lo: number, hi: number) => {
    const seen = new Map<string, number>();
    for (let at = lo; at < hi; at++) seen.set(list[at]!, seen.has(list[at]!) ? -1 : at);
    return seen;
  };
  const [inA, inB] = [once(a, aLo, aHi), once(b, bLo, bHi)];
  const pairs: [number, number][] = [];
  for (const [line, x] of inA) {
    const y = inB.get(line);
    // A fence or a blank line says nothing about where it is, even when it occurs once.
    if (x !== -1 && y !== undefined && y !== -1 && !trivial(line)) pairs.push([x, y]);
  }
  pairs.sort((p, q) => p[0] - q[0]);
  // Longest increasing run of b indexes.
  const tops: number[] = [];
  const back: number[] = [];
  pairs.forEach(([, y], index) => {
    let [low, high] = [0, tops.length];
    while (low < high) {
      const middle = (low + high) >> 1;
      if (pairs[tops[middle]!]![1] < y) low = middle + 1;
      else high = middle;
    }
    back[index] = low > 0 ? tops[low - 1]! : -1;
    tops[low] = index;
  });
  const run: [number, number][] = [];
  for (let at = tops.length > 0 ? tops[tops.length - 1]! : -1; at !== -1; at = back[at]!) run.unshift(pairs[at]!);
  return run;
}

/**
 * True when two hunks change the same lines of the base or touch: their ranges overlap, or one
 * inserts inside or at an edge of the other's range, or both insert at the same place.
 */
function clash(a: Hunk, b: Hunk): boolean {
  const insertA = a.oStart === a.oEnd;
  const insertB = b.oStart === b.oEnd;
  if (insertA && insertB) return a.oStart === b.oStart;
  if (insertA) return b.oStart <= a.oStart && a.oStart <= b.oEnd;
  if (insertB) return a.oStart <= b.oStart && b.oStart <= a.oEnd;
  return a.oStart < b.oEnd && b.oStart < a.oEnd;
}

/**
 * Which side's hunk of a clash is an insertion right at the start or the end of the other side's
 * change (so the two touch, and neither changes a line of the other's), or null.
 */
function insertedAtEdge(ours: Hunk, theirs: Hunk): { side: 'ours' | 'theirs'; at: 'start' | 'end' } | null {
  for (const [side, insert, change] of [['ours', ours, theirs], ['theirs', theirs, ours]] as const) {
    if (insert.oStart !== insert.oEnd || change.oEnd === change.oStart) continue;
    if (insert.oStart === change.oStart) return { side, at: 'start' };
    if (insert.oStart === change.oEnd) return { side, at: 'end' };
  }
  return null;
}

/** Base order, an insertion before a change that starts at the same line. */
function inOrder(a: Hunk, b: Hunk): number {
  return a.oStart - b.oStart || a.oEnd - a.oStart - (b.oEnd - b.oStart);
}

/** What the merge emits, in order. */
type Item = { kind: 'line'; text: string; above: boolean } | { kind: 'ours'; index: number };

/**
 * Merges `theirs` (a version the daemon did not write) into `ours` (the daemon's latest) from `base`
 * (the version `theirs` was made from; `ours` itself when it is not known). All three are decoded
 * logs. Returns the reconciled text.
 */
export function reconcile(base: string, ours: string, theirs: string): string {
  if (theirs === ours) return ours;
  const known = base !== ours;
  const [b, o, t] = [parse(base), parse(ours), parse(theirs)];
  const dropped = removedSections(known ? b : null, o, t);
  const items = mergeLines(b.lines, o.lines, t.lines, t.footer?.anchor ?? t.lines.length);
  return weave(items, o, t, dropped);
}

/**
 * The sections of `ours` that the copy removed: those the base had that the copy no longer has (by
 * their text; only with a known base, since without one a copy's missing section proves nothing).
 */
function removedSections(base: Parsed | null, ours: Parsed, theirs: Parsed): Set<Section> {
  const dropped = new Set<Section>();
  if (!base) return dropped;
  const count = (parsed: Parsed) => {
    const counts = new Map<string, number>();
    for (const section of parsed.sections) counts.set(section.text, (counts.get(section.text) ?? 0) + 1);
    return counts;
  };
  const [inBase, inTheirs] = [count(base), count(theirs)];
  for (const section of ours.sections) {
    const removed = (inBase.get(section.text) ?? 0) - (inTheirs.get(section.text) ?? 0);
    if (removed <= 0) continue;
    dropped.add(section);
    inBase.set(section.text, inBase.get(section.text)! - 1);
  }
  return dropped;
}

/**
 * The three-way merge of the agent lines: `ours` lines as `{kind: 'ours'}` items (so the sections
 * anchored after them can follow), the copy's lines as `line` items.
 */
function mergeLines(base: string[], ours: string[], theirs: string[], theirsAbove: number): Item[] {
  const oursHunks = hunks(base, ours);
  const theirsHunks = hunks(base, theirs);

  const items: Item[] = [];
  const keepOurs = (from: number, to: number) => {
    for (let index = from; index < to; index++) items.push({ kind: 'ours', index });
  };
  // The copy's `lines` (those at `indexes`: all by default), the first at `from` in the copy.
  const addTheirs = (lines: string[], from: number, indexes = lines.map((_line, index) => index)) => {
    for (const index of indexes) items.push({ kind: 'line', text: lines[index]!, above: from + index < theirsAbove });
  };
  // Where each side stands: base offset `at` is ours' `at + oursShift`, theirs' `at + theirsShift`.
  let at = 0;
  let oursShift = 0;
  let theirsShift = 0;
  let [i, j] = [0, 0];
  while (i < oursHunks.length || j < theirsHunks.length) {
    const takeOurs = j >= theirsHunks.length || (i < oursHunks.length && inOrder(oursHunks[i]!, theirsHunks[j]!) <= 0);
    const first = takeOurs ? oursHunks[i++]! : theirsHunks[j++]!;
    const mine: Hunk[] = takeOurs ? [first] : [];
    const yours: Hunk[] = takeOurs ? [] : [first];
    // Hunks of either side that clash with the region belong to it.
    for (let grown = true; grown; ) {
      grown = false;
      const nextOurs = oursHunks[i];
      const nextTheirs = theirsHunks[j];
      if (nextOurs && [...mine, ...yours].some((hunk) => clash(hunk, nextOurs))) {
        mine.push(nextOurs);
        i++;
        grown = true;
      } else if (nextTheirs && [...mine, ...yours].some((hunk) => clash(hunk, nextTheirs))) {
        yours.push(nextTheirs);
        j++;
        grown = true;
      }
    }
    const regionStart = Math.min(...mine.map((hunk) => hunk.oStart), ...yours.map((hunk) => hunk.oStart));
    const regionEnd = Math.max(...mine.map((hunk) => hunk.oEnd), ...yours.map((hunk) => hunk.oEnd));
    // Unchanged lines before the region: ours.
    keepOurs(at + oursShift, regionStart + oursShift);
    const oursStart = regionStart + oursShift;
    const theirsStart = regionStart + theirsShift;
    for (const hunk of mine) oursShift += hunk.end - hunk.start - (hunk.oEnd - hunk.oStart);
    for (const hunk of yours) theirsShift += hunk.end - hunk.start - (hunk.oEnd - hunk.oStart);
    const oursEnd = regionEnd + oursShift;
    const theirsEnd = regionEnd + theirsShift;
    const theirsLines = theirs.slice(theirsStart, theirsEnd);
    const edge = mine.length === 1 && yours.length === 1 ? insertedAtEdge(mine[0]!, yours[0]!) : null;
    if (yours.length === 0) keepOurs(oursStart, oursEnd);
    else if (mine.length === 0) addTheirs(theirsLines, theirsStart);
    else if (edge) {
      // One side inserted right at the start or the end of lines the other changed: both stand, in
      // base order, and the copy's lines the latest version holds there already are taken once.
      const [mineHunk, yoursHunk] = [mine[0]!, yours[0]!];
      const oursFirst = (edge.side === 'ours') === (edge.at === 'start');
      if (oursFirst) keepOurs(mineHunk.start, mineHunk.end);
      const lines = theirs.slice(yoursHunk.start, yoursHunk.end);
      addTheirs(lines, yoursHunk.start, notHeld(lines.map((_line, at) => at), lines, ours.slice(mineHunk.start, mineHunk.end)));
      if (!oursFirst) keepOurs(mineHunk.start, mineHunk.end);
    } else {
      keepOurs(oursStart, oursEnd);
      const oursLines = ours.slice(oursStart, oursEnd);
      if (!sameLines(oursLines, theirsLines)) {
        // Both changed these lines: ours stay (with their sections), then what the copy added that
        // the latest version does not already hold (an agent's edit both were made after).
        addTheirs(theirsLines, theirsStart, notHeld(added(theirsLines, base.slice(regionStart, regionEnd)), theirsLines, oursLines));
      }
    }
    at = regionEnd;
  }
  keepOurs(at + oursShift, ours.length);
  return items;
}

/**
 * Of the copy's added lines (`indexes` into `lines`), those the latest version does not hold already:
 * a run of consecutive lines matched to consecutive lines of `held` is dropped when it holds more than
 * fences and blank lines (every request has the same fence lines, so those alone prove nothing), and
 * so is a line of text `held` has elsewhere (the copy has it in another order).
 */
function notHeld(indexes: number[], lines: string[], held: string[]): number[] {
  const candidates = indexes.map((index) => lines[index]!);
  const pairs = matches(held, candidates);
  const drop = new Set<number>();
  for (let from = 0; from < pairs.length; ) {
    let to = from + 1;
    while (to < pairs.length && pairs[to]![0] === pairs[to - 1]![0] + 1 && pairs[to]![1] === pairs[to - 1]![1] + 1) to++;
    const run = pairs.slice(from, to).map(([, at]) => at);
    if (run.some((at) => !trivial(candidates[at]!))) for (const at of run) drop.add(at);
    from = to;
  }
  // A line of text the latest version holds elsewhere in the region (the copy has it in another order).
  const counts = new Map<string, number>();
  for (const line of held) counts.set(line, (counts.get(line) ?? 0) + 1);
  for (const [, at] of pairs) if (drop.has(at)) counts.set(candidates[at]!, counts.get(candidates[at]!)! - 1);
  candidates.forEach((line, at) => {
    if (drop.has(at) || trivial(line) || !(counts.get(line)! > 0)) return;
    drop.add(at);
    counts.set(line, counts.get(line)! - 1);
  });
  // A fenced block goes whole or stays whole: a request the latest version holds only in part is the
  // copy's own (its fence lines matched another request's).
  for (let at = 0; at < candidates.length; at++) {
    const open = /^\s*(`{3,}|~{3,})/.exec(candidates[at]!);
    if (!open) continue;
    let end = at + 1;
    while (end < candidates.length && !new RegExp(`^\\s*${open[1]![0]}{${open[1]!.length},}\\s*$`).test(candidates[end]!)) end++;
    const block = Array.from({ length: Math.min(end, candidates.length - 1) - at + 1 }, (_, offset) => at + offset);
    if (block.some((line) => drop.has(line)) && !block.every((line) => drop.has(line))) for (const line of block) drop.delete(line);
    at = end;
  }
  return indexes.filter((_index, at) => !drop.has(at));
}

function sameLines(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((line, index) => line === b[index]);
}

/** Indexes of the lines of `side` that are not matched with a line of `other` (`matches`), in order. */
function added(side: string[], other: string[]): number[] {
  const matched = new Set(matches(other, side).map(([, at]) => at));
  return side.map((_line, index) => index).filter((index) => !matched.has(index));
}

/**
 * Puts the merged lines and ours' sections together: each section right after the ours line it
 * followed (a marker or reply dropped with that line; any section the copy removed dropped), the footer after the last line
 * that was above a footer in its own version.
 */
function weave(items: Item[], ours: Parsed, theirs: Parsed, dropped: Set<Section>): string {
  const byAnchor = new Map<number, Section[]>();
  for (const section of ours.sections) byAnchor.set(section.anchor, [...(byAnchor.get(section.anchor) ?? []), section]);
  const kept = new Set<number>();
  for (const item of items) if (item.kind === 'ours') kept.add(item.index);
  const out: { text: string; above: boolean }[] = [];
  const oursAbove = ours.footer?.anchor ?? ours.lines.length;
  const emitSections = (anchor: number) => {
    for (const section of byAnchor.get(anchor) ?? []) {
      if (dropped.has(section)) continue;
      // A marker or reply goes with the request above it, every line of it; any other section stays.
      if (section.attached && !requestKept(ours.lines, anchor, kept)) continue;
      out.push({ text: section.text, above: section.above });
    }
    byAnchor.delete(anchor);
  };
  emitSections(0);
  let next = 1;
  for (const item of items) {
    if (item.kind === 'line') {
      out.push({ text: item.text, above: item.above });
      continue;
    }
    // Sections after ours lines the merge left out come before the next ours line.
    for (; next <= item.index; next++) emitSections(next);
    out.push({ text: ours.lines[item.index]!, above: item.index < oursAbove });
    emitSections(item.index + 1);
    next = item.index + 2;
  }
  for (const anchor of [...byAnchor.keys()].sort((x, y) => x - y)) emitSections(anchor);
  const footer = ours.footer ?? theirs.footer;
  let footerAt = -1;
  if (footer) out.forEach((part, index) => (footerAt = part.above ? index : footerAt));
  // Parts joined once at the end (a string grown part by part and asked for its last character is
  // flattened each time: quadratic in a long log); a part without its line break gets one before the next.
  const parts: string[] = [];
  const add = (part: string) => {
    if (parts.length > 0 && !parts[parts.length - 1]!.endsWith('\n')) parts.push('\n');
    parts.push(part);
  };
  if (footer && footerAt === -1) add(footer.text);
  out.forEach((part, index) => {
    add(part.text);
    if (footer && index === footerAt) add(footer.text);
  });
  return parts.join('');
}
