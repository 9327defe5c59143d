/**
 * A request put into the history, between earlier replies (an edit tool that matched an old reply, a
 * paste in the wrong place), is not run: daebug runs only what is added at the end. It must not sit
 * there silently either, so it gets a notice right under it saying so. Only the part of the history an
 * agent changed is read (`editedRange` against the text the daemon saw last), with the same
 * Markdown tokenizer as the tail, so a long history is not parsed on every turn.
 */
import { composeLog } from './compose.js';
import { agentTextStart, readLayout } from './layout.js';
import { agentSpans, inSection } from './log-map.js';
import { lineAt, nextLineStart } from './log-text.js';
import { readFences } from './tail.js';
import { renderNotice } from './transitions.js';

/** What a stray request's notice says. */
export const STRAY_MESSAGE = 'not run: this request is between earlier replies, and daebug runs only requests added at the end of the log. Append it again at the end to run it.';

/** Characters compared at once while looking for the first and last difference of two texts. */
const CHUNK = 4096;

/** A log's text as a change saw it: whole, or a window (`head` characters, then the log from `cut`). */
export interface SeenText {
  text: string;
  window?: { head: number; cut: number };
}

/**
 * The part of `after` that differs from `before`, as offsets in `after.text` (an insertion or a
 * replacement); null when `after` only lost text, is the same, or cannot be lined up with `before`
 * (its window starts earlier: the log shrank). Costs a few native comparisons per 4 KB.
 */
export function editedRange(before: SeenText, after: SeenText): { from: number; to: number } | null {
  const [cutBefore, cutAfter] = [before.window?.cut ?? 0, after.window?.cut ?? 0];
  if (cutAfter < cutBefore) return null;
  // `before` as seen through `after`'s window (the head is read as unchanged: it holds no requests).
  const head = after.window?.head ?? 0;
  const old = cutAfter === cutBefore && head === (before.window?.head ?? 0) ? before.text : after.text.slice(0, head) + before.text.slice((before.window?.head ?? 0) + cutAfter - cutBefore);
  return differingPart(old, after.text);
}

/** The part of `after` that differs from `before` (see `editedRange`). */
function differingPart(before: string, after: string): { from: number; to: number } | null {
  const limit = Math.min(before.length, after.length);
  let from = 0;
  while (from + CHUNK <= limit && before.slice(from, from + CHUNK) === after.slice(from, from + CHUNK)) from += CHUNK;
  while (from < limit && before.charCodeAt(from) === after.charCodeAt(from)) from++;
  // The common end may not overlap the common start in either text.
  const room = limit - from;
  let same = 0;
  const endsMatch = (length: number) => before.slice(before.length - length, before.length - same) === after.slice(after.length - length, after.length - same);
  while (same + CHUNK <= room && endsMatch(same + CHUNK)) same += CHUNK;
  while (same < room && before.charCodeAt(before.length - same - 1) === after.charCodeAt(after.length - same - 1)) same++;
  const to = after.length - same;
  return to > from ? { from, to } : null;
}

/**
 * Offsets just past the closing lines of the requests in `above` (a log's part above its footer) that
 * sit in the history, within `from`..`to` or in the agent text around it, with no daemon section
 * under them: no marker, reply or notice. Requests from where the agent's own text above the footer
 * starts are left out: those are run (`withRequestAboveFooter`).
 */
export function strayFences(above: string, from = 0, to = above.length): number[] {
  const limit = agentTextStart(above);
  if (from >= limit) return [];
  // The agent text around the edit, from the end of the daemon section before it to the next section,
  // so a fence whose closing line alone was edited is read whole; sections in between (replies the
  // daemon wrote since it last read the log) are skipped, not tokenized.
  const found: number[] = [];
  for (const span of agentSpans(above)) {
    if (span.start >= Math.min(Math.max(to, from + 1), limit)) break;
    if (span.end > from) found.push(...strayIn(above, span.start, span.end, limit));
  }
  return found;
}

/** The stray requests in the agent text `start`..`end` of `above` (see `strayFences`). */
function strayIn(above: string, start: number, end: number, limit: number): number[] {
  const piece = above.slice(start, end);
  if (!piece.includes('```') && !piece.includes('~~~')) return [];
  // The usual piece, a request and its header right above a reply, needs no tokenizing.
  const fenceLines = piece.match(FENCE_LINE) ?? [];
  if (fenceLines.length === 2 && end < limit && piece.endsWith(fenceLines[1]!.replace(/^\n/, '') + '\n')) return [];
  const found: number[] = [];
  for (const fence of readFences(piece)) {
    if (!fence.executable) continue;
    const next = nextLineStart(above, start + fence.end);
    if (next < limit && !inSection(above, next)) found.push(next);
  }
  return found;
}

/** A line that may open or close a fence. */
const FENCE_LINE = /(?:^|\n) {0,3}(?:`{3,}|~{3,})[^\n]*/g;

/**
 * stray: every request in the history with nothing under it (see `strayFences`) gets a notice right
 * under it. `from` and `to` bound the part an agent changed; without them the whole history is read.
 */
export function noticeStrayFences(text: string, realm: string, at: string, range?: { from: number; to: number }): string {
  const layout = readLayout(text);
  // With duplicate footers removed, offsets in the text are not offsets in `above`: read it all.
  const bounds = range && !layout.extraFooters ? range : { from: 0, to: layout.above.length };
  const found = strayFences(layout.above, bounds.from, bounds.to);
  if (found.length === 0) return text;
  const parts: string[] = [];
  let from = 0;
  for (const offset of found) {
    const followedByText = lineAt(layout.above, offset).trim() !== '';
    parts.push(layout.above.slice(from, offset), renderNotice(STRAY_MESSAGE, at), followedByText ? '\n' : '');
    from = offset;
  }
  parts.push(layout.above.slice(from));
  return composeLog(parts.join(''), layout.tail, realm);
}
