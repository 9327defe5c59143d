/**
 * Which text of a log the daemon wrote: one forward scan that finds its sections and steps over its
 * blocks without reading them.
 *
 * Whatever a realm sends (a result, an error, a console line, a test's message) lands only inside a
 * block the daemon writes, and such a block's fence is longer than any backtick run that starts a line
 * of its content (`fenceFor`). The scan enters a block only at its opening line right under a daemon
 * line and leaves it only at its own closing line, which no content can hold; so no line of realm
 * text is ever read outside its block, whatever it looks like. Requests, headers, markers, notes and
 * stray fences are looked for only outside sections (`agentSpans`), and a scan starts only where one
 * is known to be outside any block: at the top of the text, or where an earlier scan said a section or
 * an agent's chunk starts (`itemStarts`, for the windows of long logs).
 *
 * One limit, by choice: the agent's own text is not tokenized here, so a line an agent writes in the
 * shape of a daebug section header starts a section. That is the agent's own text read its way.
 */
import { isBlankLine, isDaemonBlockInfo, isPendingStatusLine, isSectionBodyLine, isSectionHeader, parseAgentHeader } from './grammar.js';
import { lineAt, nextLineStart } from './log-text.js';

/** A daemon section: its header line to just past its last line (blank lines after it are not its). */
export interface Span {
  start: number;
  end: number;
}

/** What a scan found, offsets in the scanned text. */
export interface LogMap {
  /** Daemon sections in file order. */
  sections: Span[];
  /** Starts of agent header lines outside sections (`### 🗣️agent at ...`). */
  agentHeaders: number[];
}

/**
 * Offset just past the last line of the daemon section whose header starts at `start`: its blocks,
 * event headers, omission, test and status lines. A fence continues the section only when it carries a
 * daemon language (`JSON`, `Text`, `Error`), so an agent's `js` fence right below a reply is not eaten;
 * a block is stepped over to its own closing line (or the end of the text, when it has none).
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
    const fence = line.startsWith('```') ? DAEMON_FENCE.exec(line) : null;
    if (fence && isDaemonBlockInfo(fence[2]!)) {
      at = end = blockEnd(text, at, fence[1]!.length);
      continue;
    }
    if (!isSectionBodyLine(line)) break;
    at = end = nextLineStart(text, at);
    if (isPendingStatusLine(line)) break;
  }
  return end;
}

/** The opening line of a block the daemon writes: backticks, then a language. */
const DAEMON_FENCE = /^(`{3,})([^`]*)$/;

/**
 * Offset just past the closing line of a block of `length` backticks opened by the line at `start`:
 * a line of at least as many backticks and nothing but white space after them (up to three spaces
 * before them, as CommonMark allows). Content never holds one (fenceFor), so the first is the close.
 */
function blockEnd(text: string, start: number, length: number): number {
  const run = '`'.repeat(length);
  for (let at = text.indexOf(run, nextLineStart(text, start)); at !== -1; at = text.indexOf(run, at + length)) {
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    if (!/^ {0,3}$/.test(text.slice(lineStart, at))) continue;
    if (/^`+[ \t]*$/.test(lineAt(text, lineStart))) return nextLineStart(text, lineStart);
  }
  return text.length;
}

/** Scans `text` from `from` (a line start outside any block) to its end. */
export function scanLog(text: string, from = 0): LogMap {
  const sections: Span[] = [];
  const agentHeaders: number[] = [];
  const candidates = headerCandidates(text);
  for (let at = from; at < text.length; ) {
    // Only a line starting with `#` or `>` can be a header: the lines between are stepped over.
    if (text[at] !== '#' && text[at] !== '>') {
      at = candidates(at);
      continue;
    }
    const line = lineAt(text, at);
    if (isSectionHeader(line)) {
      const end = sectionEnd(text, at);
      sections.push({ start: at, end });
      at = end;
      continue;
    }
    if ((line.startsWith('### ') || line.startsWith('> **')) && parseAgentHeader(line.trimEnd())) agentHeaders.push(at);
    at = nextLineStart(text, at);
  }
  return { sections, agentHeaders };
}

/**
 * A function giving the start of the first line after `at` that starts with `#` or `>` (or the end of
 * the text), for `at` that only grow: each needle's last find is kept until `at` passes it, so the
 * scan searches the text once for each, not once per line.
 */
function headerCandidates(text: string): (at: number) => number {
  const found = { '\n#': -2, '\n>': -2 };
  const next = (needle: keyof typeof found, at: number) => {
    if (found[needle] !== -1 && found[needle] < at) found[needle] = text.indexOf(needle, at);
    return found[needle] === -1 ? text.length : found[needle] + 1;
  };
  return (at) => Math.min(next('\n#', at), next('\n>', at));
}

/** The last few texts mapped: a transition asks about the same text several times. */
const recent: { text: string; map: LogMap }[] = [];
const RECENT = 4;
/** Characters of texts remembered beyond the latest one: a 60 MB log is not kept four times over. */
const RECENT_CHARS = 16 * 1024 * 1024;

/**
 * The map of the whole of `text` (remembered for the last few texts). A text that starts like one
 * mapped lately is scanned again only from the start of the last section that lies whole in their
 * common start: a section start is outside any block, and whatever decided where the sections before
 * it end (their lines, the line after them) lies before it, so they are the same in both. Transitions
 * change a log near its end.
 */
export function mapLog(text: string): LogMap {
  for (const entry of recent) if (entry.text === text) return entry.map;
  const map = rescan(text);
  recent.unshift({ text, map });
  let chars = 0;
  const kept = recent.findIndex((entry, index) => index > 0 && (chars += entry.text.length) > RECENT_CHARS);
  recent.length = Math.min(RECENT, kept === -1 ? recent.length : kept);
  return map;
}

function rescan(text: string): LogMap {
  let best: { map: LogMap; same: number } | null = null;
  for (const entry of recent) {
    const same = commonStart(entry.text, text);
    if (!best || same > best.same) best = { map: entry.map, same };
  }
  if (!best || best.same === 0) return scanLog(text);
  const { sections, agentHeaders } = best.map;
  let whole = 0;
  while (whole < sections.length && sections[whole]!.end <= best.same) whole++;
  if (whole === 0) return scanLog(text);
  const from = sections[whole - 1]!.start;
  const rest = scanLog(text, from);
  return {
    sections: [...sections.slice(0, whole - 1), ...rest.sections],
    agentHeaders: [...agentHeaders.filter((offset) => offset < from), ...rest.agentHeaders],
  };
}

/** Characters compared at once while looking for where two texts start to differ. */
const CHUNK = 4096;

/** How many characters `a` and `b` share at their start. */
function commonStart(a: string, b: string): number {
  const limit = Math.min(a.length, b.length);
  let same = 0;
  while (same + CHUNK <= limit && a.slice(same, same + CHUNK) === b.slice(same, same + CHUNK)) same += CHUNK;
  while (same < limit && a.charCodeAt(same) === b.charCodeAt(same)) same++;
  return same;
}

/** The parts of `text` outside daemon sections, in file order (the agent's text, blank lines, footers). */
export function agentSpans(text: string): Span[] {
  const spans: Span[] = [];
  let from = 0;
  for (const section of mapLog(text).sections) {
    if (section.start > from) spans.push({ start: from, end: section.start });
    from = section.end;
  }
  if (from < text.length) spans.push({ start: from, end: text.length });
  return spans;
}

/** True when `offset` is inside a daemon section of `text`. */
export function inSection(text: string, offset: number): boolean {
  const { sections } = mapLog(text);
  // Binary search for the last section starting at or before `offset`.
  let low = 0;
  let high = sections.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (sections[middle]!.start <= offset) low = middle + 1;
    else high = middle - 1;
  }
  return high >= 0 && offset < sections[high]!.end;
}
