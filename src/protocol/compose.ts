/**
 * Puts a log back together after a transition: the part above the footer, exactly one footer, the
 * agent's tail untouched, and the file header when the log has no title yet.
 */
import { FOOTER, isTitleLine } from './grammar.js';
import { trimLeadingBlankLines, withOneEmptyLine } from './log-text.js';

/** Lines searched for a level-1 heading before the daemon adds its own file header. */
const TITLE_SEARCH_LINES = 20;

/** The daemon's file header for a log without a title (wording ours, see docs/file-format.md). */
export function fileHeader(realm: string): string {
  return (
    `# ${realm}\n` +
    `> daebug log: append a fenced js block at the end of this file and daebug runs it in ${realm}, then\n` +
    `> writes the answer right under your code. Leave the daebug headers and the footer as they are.\n`
  );
}

/** `above`, then one empty line, then the footer, then the tail without its leading empty lines. */
export function composeLog(above: string, tail: string, realm: string): string {
  return withFileHeader(withOneEmptyLine(above) + FOOTER + trimLeadingBlankLines(tail), realm);
}

/** Adds the file header when none of the first 20 lines is a level-1 heading. */
export function withFileHeader(text: string, realm: string): string {
  let at = 0;
  for (let line = 0; line < TITLE_SEARCH_LINES && at < text.length; line++) {
    const end = text.indexOf('\n', at);
    if (isTitleLine(text.slice(at, end === -1 ? text.length : end))) return text;
    if (end === -1) break;
    at = end + 1;
  }
  return fileHeader(realm) + '\n' + text;
}

/** `above` with a section appended after one empty line, ready to take the footer. */
export function appendSection(above: string, section: string): string {
  return withOneEmptyLine(above) + section;
}
