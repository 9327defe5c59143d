/**
 * Where things are in a log: the footer, the tail, the daemon's sections and pending markers. The
 * footer is found by a native search from the end (no block the daemon writes holds a footer line:
 * `fencedBlock`); sections and markers come from the scan of log-map.ts, which never reads inside
 * the daemon's blocks.
 */
import { FOOTER_PROMPT, isBlankLine, isFooterRule, isPendingStatusLine, isTestProgressHeader, isTitleLine, parsePendingHeader, type PendingHeader } from './grammar.js';
import { inSection, mapLog, scanLog, sectionEnd } from './log-map.js';
import { lineAt, lineStartAt, nextLineStart } from './log-text.js';

export { sectionEnd };

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
  const { sections } = mapLog(above);
  if (sections.length > 0) return sections[sections.length - 1]!.end;
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
 * or at the very start. Sections are those the scan of log-map.ts finds, never a line inside a block.
 */
function tailStartWithoutFooter(text: string): number {
  const { sections } = mapLog(text);
  if (sections.length > 0) return sections[sections.length - 1]!.end;
  const first = firstNonBlankLine(text, 0);
  return first !== -1 && isTitleLine(lineAt(text, first)) ? nextLineStart(text, first) : 0;
}

function firstNonBlankLine(text: string, from: number): number {
  for (let at = from; at < text.length; at = nextLineStart(text, at)) {
    if (!isBlankLine(lineAt(text, at))) return at;
  }
  return -1;
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

/** Every pending marker in `text`, in file order: the sections the scan found that are markers. */
export function findPendingMarkers(text: string): PendingMarker[] {
  const markers: PendingMarker[] = [];
  for (const section of mapLog(text).sections) {
    const marker = pendingMarkerAt(text, section.start);
    if (marker) markers.push(marker);
  }
  return markers;
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
    if ((at !== 0 && text[at - 1] !== '\n') || inSection(text, at)) continue;
    if (!inSection(text, after)) return after;
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
 * removed), a pending marker or a test progress section.
 *
 * The last part starts where a section or an agent's chunk starts, after an empty line, as the scan of
 * log-map.ts finds them: never at a line inside a block that only looks like a header. The scan runs
 * from `alignedFrom`, which must be 0 or the `cut` of an earlier window of a log whose first `cut`
 * characters have not changed since (a line start outside any block, the scan said then); that part
 * is not scanned, nor searched, again.
 *
 * The log is `start` followed by `end`: a caller that holds a long log as a long unchanged start and a
 * short new end passes them apart, so that they are never joined into one long string.
 */
export function windowOf(start: string, end: string, size: number, alignedFrom = 0): LogWindow | null {
  const length = start.length + end.length;
  const head = headEnd(start);
  const from = length - size;
  // Without a title in the head, a transition would put a file header at the top of the window.
  if (from <= head + LINE_SEARCH || !hasTitleLine(start.slice(0, head))) return null;
  // A log that grew by less than the last part since the last window keeps that window's start.
  if (alignedFrom > head && alignedFrom >= from) return { text: start.slice(0, head) + sliceOf(start, end, alignedFrom, length), head, cut: alignedFrom };
  const scanFrom = alignedFrom > head ? alignedFrom : 0;
  const rest = sliceOf(start, end, scanFrom, length);
  const map = scanLog(rest);
  // The first section or chunk start at or after `from`, right after an empty line.
  const startsLine = (offset: number) => offset + scanFrom >= from && offset >= 2 && rest[offset - 2] === '\n';
  const at = Math.min(map.sections.find((section) => startsLine(section.start))?.start ?? Infinity, map.agentHeaders.find(startsLine) ?? Infinity);
  if (at === Infinity) return null;
  const cut = scanFrom + at;
  // What is left out holds no footer (none is inside a block), pending marker or test progress.
  const leftOut = rest.slice(0, at);
  const searchFrom = Math.max(0, head - 1 - scanFrom);
  if (leftOut.indexOf('\n' + FOOTER_PROMPT, searchFrom) !== -1) return null;
  for (const section of map.sections) {
    if (section.start >= at) break;
    if (section.start < searchFrom) continue;
    const line = lineAt(rest, section.start);
    if (isTestProgressHeader(line) || pendingMarkerAt(rest, section.start)) return null;
  }
  return { text: start.slice(0, head) + rest.slice(at), head, cut };
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
