/**
 * Where things are in a log: the footer, the tail, the daemon's sections and pending markers.
 * Everything is found by scanning from the end or by native substring search, so a long history
 * costs a few searches, not a parse.
 */
import {
  FOOTER_PROMPT,
  isBlankLine,
  isDaemonBlockInfo,
  isFooterRule,
  isPendingStatusLine,
  isSectionBodyLine,
  isSectionHeader,
  isTitleLine,
  parseAgentHeader,
  parsePendingHeader,
  type PendingHeader,
} from './grammar.js';
import { lineAt, lineStartAt, nextLineStart } from './log-text.js';

/** A log split at its footer: the daemon's part above, the agent's tail below. */
export interface LogLayout {
  /** Everything above the footer, with any extra footers removed. */
  above: string;
  /** Offsets of the footer in the original text, or null when the log has none. */
  footer: { start: number; end: number } | null;
  /** Offset in the original text where the tail starts. */
  tailStart: number;
  /** The agent's text after the footer (or after the last daemon section). */
  tail: string;
  /** True when extra footers were found above the real one. */
  extraFooters: boolean;
}

/** Splits a decoded log into the part above the footer and the tail. */
export function readLayout(text: string): LogLayout {
  const prompt = lastFooterPrompt(text);
  if (prompt !== -1) {
    const tailStart = nextLineStart(text, prompt);
    const previous = prompt === 0 ? -1 : lineStartAt(text, prompt - 1);
    const start = previous !== -1 && isFooterRule(lineAt(text, previous)) ? previous : prompt;
    const above = removeFooters(text.slice(0, start));
    return { above, footer: { start, end: tailStart }, tailStart, tail: text.slice(tailStart), extraFooters: above.length !== start };
  }
  const tailStart = tailStartWithoutFooter(text);
  return { above: text.slice(0, tailStart), footer: null, tailStart, tail: text.slice(tailStart), extraFooters: false };
}

/**
 * Where the agent's own text above the footer starts: after the last daemon section, or after the
 * file header (title and its `>` lines) when there is none. Edit tools that insert "at the end"
 * often put a request there, above the footer (see `withRequestAboveFooter` in transitions.ts).
 */
export function agentTextStart(above: string): number {
  for (let end = above.length; end > 0; ) {
    const start = end < 2 ? 0 : above.lastIndexOf('\n', end - 2) + 1;
    if (isSectionHeader(lineAt(above, start))) return sectionEnd(above, start);
    end = start;
  }
  let at = firstNonBlankLine(above, 0);
  if (at === -1 || !isTitleLine(lineAt(above, at))) return 0;
  for (at = nextLineStart(above, at); at < above.length && lineAt(above, at).startsWith('>'); ) at = nextLineStart(above, at);
  return at;
}

function lastFooterPrompt(text: string): number {
  const found = text.lastIndexOf('\n' + FOOTER_PROMPT);
  if (found !== -1) return found + 1;
  return text.startsWith(FOOTER_PROMPT) ? 0 : -1;
}

/** Removes every footer (rule, prompt line and up to two empty lines after it) from `text`. */
function removeFooters(text: string): string {
  let result = text;
  for (let prompt = lastFooterPrompt(result); prompt !== -1; prompt = lastFooterPrompt(result)) {
    const previous = prompt === 0 ? -1 : lineStartAt(result, prompt - 1);
    const start = previous !== -1 && isFooterRule(lineAt(result, previous)) ? previous : prompt;
    let end = nextLineStart(result, prompt);
    for (let blank = 0; blank < 2 && end < result.length && isBlankLine(lineAt(result, end)); blank++) {
      end = nextLineStart(result, end);
    }
    result = result.slice(0, start) + result.slice(end);
  }
  return result;
}

/**
 * Without a footer the tail starts after the last daemon section, or after a title line at the top,
 * or at the very start. The scan runs backwards and stops at the first section header it meets.
 */
function tailStartWithoutFooter(text: string): number {
  for (let end = text.length; end > 0; ) {
    const start = end < 2 ? 0 : text.lastIndexOf('\n', end - 2) + 1;
    if (isSectionHeader(lineAt(text, start))) return sectionEnd(text, start);
    end = start;
  }
  const first = firstNonBlankLine(text, 0);
  return first !== -1 && isTitleLine(lineAt(text, first)) ? nextLineStart(text, first) : 0;
}

function firstNonBlankLine(text: string, from: number): number {
  for (let at = from; at < text.length; at = nextLineStart(text, at)) {
    if (!isBlankLine(lineAt(text, at))) return at;
  }
  return -1;
}

/**
 * Offset just past the last line of the daemon section whose header starts at `start`: its blocks,
 * event headers, omission and status lines. A fence continues the section only when it carries a
 * daemon language (`JSON`, `Text`, `Error`), so an agent's `js` fence right below a reply is not eaten.
 */
export function sectionEnd(text: string, start: number): number {
  let end = nextLineStart(text, start);
  let at = end;
  while (at < text.length) {
    const line = lineAt(text, at);
    if (isBlankLine(line)) {
      at = nextLineStart(text, at);
      continue;
    }
    const fence = openingFence(line);
    if (fence && isDaemonBlockInfo(fence.info)) {
      at = end = fenceEnd(text, at, fence);
      continue;
    }
    if (!isSectionBodyLine(line)) break;
    at = end = nextLineStart(text, at);
    if (isPendingStatusLine(line)) break;
  }
  return end;
}

interface OpeningFence {
  marker: string;
  info: string;
}

function openingFence(line: string): OpeningFence | null {
  const match = /^(`{3,}|~{3,})(.*)$/.exec(line);
  if (!match) return null;
  const marker = match[1]!;
  if (marker[0] === '`' && match[2]!.includes('`')) return null;
  return { marker, info: match[2]! };
}

/** Offset just past the closing line of a fence opened at `start` (or the end of the text). */
function fenceEnd(text: string, start: number, fence: OpeningFence): number {
  const char = fence.marker[0]!;
  for (let at = nextLineStart(text, start); at < text.length; at = nextLineStart(text, at)) {
    const line = lineAt(text, at).trimEnd();
    if (line.length >= fence.marker.length && line === char.repeat(line.length)) return nextLineStart(text, at);
  }
  return text.length;
}

/** A pending marker as found in the text: header, streamed events, status line. */
export interface PendingMarker {
  /** Offset of the header line. */
  start: number;
  /** Offset just past the status line. */
  end: number;
  /** Offset just past the header line, where the streamed events begin. */
  streamStart: number;
  /** Offset of the status line (`executing (<n>s)` or `queued`). */
  statusStart: number;
  header: PendingHeader;
}

/**
 * Every pending marker in `text`, in file order. Markers are found from their status lines
 * (`queued`, `executing (<n>s)`), which only markers have, so the cost grows with the number of
 * markers, not with the number of replies in the history.
 */
export function findPendingMarkers(text: string): PendingMarker[] {
  const starts = new Set<number>();
  for (const status of ['\nqueued', '\nexecuting (']) {
    for (let at = text.indexOf(status); at !== -1; at = text.indexOf(status, at + 1)) {
      const start = markerHeaderAbove(text, at);
      if (start !== -1) starts.add(start);
    }
  }
  const markers: PendingMarker[] = [];
  for (const start of [...starts].sort((a, b) => a - b)) {
    const marker = pendingMarkerAt(text, start);
    if (marker) markers.push(marker);
  }
  return markers;
}

/** Offset of the nearest `#### ` line above `offset` (streamed events in between use `#####`). */
function markerHeaderAbove(text: string, offset: number): number {
  const found = text.lastIndexOf('\n#### ', offset - 1);
  if (found !== -1) return found + 1;
  return text.startsWith('#### ') ? 0 : -1;
}

/** The pending marker whose header starts at `start`, or null when that line is not one. */
export function pendingMarkerAt(text: string, start: number): PendingMarker | null {
  const headerLine = lineAt(text, start);
  // Reply headers share the prefix but end with a duration; skip them before running the regex.
  if (headerLine.trimEnd().endsWith(')')) return null;
  const header = parsePendingHeader(headerLine);
  if (!header) return null;
  const streamStart = nextLineStart(text, start);
  const end = sectionEnd(text, start);
  const statusStart = end > streamStart ? lineStartAt(text, end - 1) : -1;
  if (statusStart === -1 || !isPendingStatusLine(lineAt(text, statusStart))) return null;
  return { start, end, streamStart, statusStart, header };
}

/**
 * Pairs jobs (given by their fences, in queue order) with pending markers: each job gets the next
 * marker, in file order, that sits right under a copy of its fence, or null when none is left.
 */
export function matchMarkers(text: string, fences: readonly string[]): (PendingMarker | null)[] {
  const markers = findPendingMarkers(text);
  let next = 0;
  return fences.map((fence) => {
    for (let index = next; index < markers.length; index++) {
      if (sitsUnder(text, markers[index]!.start, fence)) {
        next = index + 1;
        return markers[index]!;
      }
    }
    return null;
  });
}

/**
 * The fence right above a line (its opening line to its closing line, without the final line break,
 * as a job's `fence`), or null when the line above is no closing fence.
 */
export function fenceAbove(text: string, lineStart: number): string | null {
  if (lineStart < 4) return null;
  const closeStart = lineStartAt(text, lineStart - 1);
  const close = /^(`{3,}|~{3,})\s*$/.exec(lineAt(text, closeStart));
  if (!close) return null;
  const run = close[1]!;
  for (let at = closeStart; at > 0; ) {
    at = lineStartAt(text, at - 1);
    const open = /^(`{3,}|~{3,})/.exec(lineAt(text, at));
    if (open && open[1]![0] === run[0] && open[1]!.length <= run.length) return text.slice(at, closeStart + lineAt(text, closeStart).length);
  }
  return null;
}

/** The pending marker of the head job: the first one right under a copy of its fence. */
export function findMarkerUnderFence(text: string, fence: string): PendingMarker | null {
  return matchMarkers(text, [fence])[0] ?? null;
}

function sitsUnder(text: string, lineStart: number, fence: string): boolean {
  const before = lineStart - fence.length - 1;
  return before >= 0 && (before === 0 || text[before - 1] === '\n') && text.startsWith(fence + '\n', before);
}

/**
 * Offset just past the closing line of the first copy of `fence` that has neither a reply nor a
 * pending marker right under it, or -1.
 */
export function findUnansweredFence(text: string, fence: string): number {
  for (let at = text.indexOf(fence + '\n'); at !== -1; at = text.indexOf(fence + '\n', at + 1)) {
    const after = at + fence.length + 1;
    if (at !== 0 && text[at - 1] !== '\n') continue;
    if (!isSectionHeader(lineAt(text, after))) return after;
  }
  return -1;
}

/**
 * A long log seen through a window: its head (title and file header) followed by its last part, with
 * the history in between left out. Transitions read and change only the footer, the tail, pending
 * markers and the test progress section, so when the left-out part holds none of these a transition
 * of the window gives the same text as a transition of the whole log, and costs the window's length,
 * not the history's.
 */
export interface LogWindow {
  /** The head and the last part, as one text for the transitions. */
  text: string;
  /** Length of the head at the start of `text`. */
  head: number;
  /** Offset in the whole text where the last part starts. */
  cut: number;
}

/** Lines of the head at most: as many as are searched for a title (see composeLog). */
const HEAD_LINES = 20;

/**
 * The window of a log whose last part is about `size` characters, or null when the log is not longer
 * than that or the left-out part holds something a transition reads: a footer (extra footers are
 * removed), a line starting a pending status (`queued`, `executing (`) or a test progress section.
 * The last part starts at an agent or daemon section header right after an empty line.
 *
 * The log is `start` followed by `end`: a caller that holds a long log as a long unchanged start and a
 * short new end passes them apart, so that they are never joined into one long string (a copy of the
 * whole history). A caller that knows the log begins with the left-out part of an earlier window
 * passes that window's `cut` as `checkedUpTo`, and only the rest is searched.
 */
export function windowOf(start: string, end: string, size: number, checkedUpTo = 0): LogWindow | null {
  const length = start.length + end.length;
  const head = headEnd(start);
  const from = length - size;
  // Without a title in the head, a transition would put a file header at the top of the window.
  if (from <= head + LINE_SEARCH || !hasTitleLine(start.slice(0, head))) return null;
  // The end of the log from a little before `from`, to find the line starts in.
  const offset = from - LINE_SEARCH;
  const last = sliceOf(start, end, offset, length);
  let at = nextLineStart(last, lineStartAt(last, LINE_SEARCH));
  for (; at < last.length; at = nextLineStart(last, at)) {
    if (last[at - 2] !== '\n') continue;
    const line = lineAt(last, at);
    if (isSectionHeader(line) || parseAgentHeader(line)) break;
  }
  if (at >= last.length) return null;
  const cut = offset + at;
  // From the line break that ends the head, so a footer right under it is found; a needle crossing
  // `checkedUpTo` is still found.
  const left = sliceOf(start, end, Math.max(head - 1, Math.min(checkedUpTo, cut) - 64), cut);
  for (const needle of ['\n' + FOOTER_PROMPT, '\nqueued', '\nexecuting (', '\n## Test Progress:']) if (left.includes(needle)) return null;
  return { text: start.slice(0, head) + last.slice(at), head, cut };
}

/** How far before the last part's nominal start its first line start is searched from. */
const LINE_SEARCH = 4096;

/** Characters `from` to `to` of `start` followed by `end`. */
function sliceOf(start: string, end: string, from: number, to: number): string {
  if (from >= start.length) return end.slice(from - start.length, to - start.length);
  if (to <= start.length) return start.slice(from, to);
  return start.slice(from) + end.slice(0, to - start.length);
}

/** End of the head: the leading title, quote and empty lines, at most HEAD_LINES of them. */
function headEnd(text: string): number {
  let end = 0;
  for (let line = 0; line < HEAD_LINES && end < text.length; line++) {
    const current = lineAt(text, end);
    if (!(isBlankLine(current) || isTitleLine(current) || current.startsWith('>'))) break;
    if (current.startsWith(FOOTER_PROMPT)) break;
    end = nextLineStart(text, end);
  }
  return end;
}

function hasTitleLine(head: string): boolean {
  for (let at = 0; at < head.length; at = nextLineStart(head, at)) if (isTitleLine(lineAt(head, at))) return true;
  return false;
}

/**
 * The new last part of a log after a transition of its window, or null when the transition changed
 * the head: then it must run on the whole log. The new log is its first `window.cut` characters
 * followed by this.
 */
export function lastPartAfter(window: LogWindow, changed: string): string | null {
  return changed.startsWith(window.text.slice(0, window.head)) ? changed.slice(window.head) : null;
}
