/**
 * Puts a log back together after a transition: the part above the footer, exactly one footer, the
 * agent's tail untouched, and the file header when the log has no title yet.
 *
 * The part above the footer comes as pieces that each end at a line break (or are the last piece).
 * Transitions slice the long history once and pass it on as one piece, so a 10 MB log is copied once,
 * when the pieces are joined, instead of once per edit.
 */
import { FOOTER, isTitleLine } from './grammar.js';
import { trimLeadingBlankLines, trimTrailingBlankLines } from './log-text.js';

/** Lines searched for a level-1 heading before the daemon adds its own file header. */
const TITLE_SEARCH_LINES = 20;

/** Text above the footer: one string, or pieces to be joined in order. */
export type Above = string | readonly string[];

/** The daemon's file header for a log without a title (wording ours, see docs/file-format.md). */
export function fileHeader(realm: string): string {
  return (
    `# ${realm}\n` +
    `> daebug log: append a fenced js block at the end of this file and daebug runs it in ${realm}, then\n` +
    `> writes the answer right under your code. Leave the daebug headers and the footer as they are.\n`
  );
}

/** `above`, then one empty line, then the footer, then the tail without its leading empty lines. */
export function composeLog(above: Above, tail: string, realm: string): string {
  const pieces = trimTrailingBlankPieces(typeof above === 'string' ? [above] : above);
  const body = pieces.length === 0 ? [] : [...pieces, '\n\n'];
  const header = hasTitle([...body, FOOTER, tail]) ? '' : fileHeader(realm) + '\n';
  return header + body.join('') + FOOTER + trimLeadingBlankLines(tail);
}

/** `above` with a section appended after one empty line, as pieces for `composeLog`. */
export function appendSection(above: Above, section: string): string[] {
  const pieces = trimTrailingBlankPieces(typeof above === 'string' ? [above] : above);
  return pieces.length === 0 ? [section] : [...pieces, '\n\n', section];
}

/** Drops trailing pieces and lines that hold only white space, and the final line break. */
function trimTrailingBlankPieces(pieces: readonly string[]): string[] {
  const kept = [...pieces];
  while (kept.length > 0) {
    const last = trimTrailingBlankLines(kept[kept.length - 1]!);
    if (last !== '') {
      kept[kept.length - 1] = last;
      return kept;
    }
    kept.pop();
  }
  return kept;
}

/** True when one of the first 20 lines (across pieces) is a level-1 heading. */
function hasTitle(pieces: readonly string[]): boolean {
  let lines = 0;
  let pending = '';
  for (const piece of pieces) {
    let at = 0;
    while (at < piece.length) {
      const end = piece.indexOf('\n', at);
      if (end === -1) {
        pending += piece.slice(at);
        break;
      }
      if (isTitleLine(pending + piece.slice(at, end))) return true;
      pending = '';
      if (++lines >= TITLE_SEARCH_LINES) return false;
      at = end + 1;
    }
  }
  return isTitleLine(pending);
}
