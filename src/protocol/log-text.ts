/**
 * A log's text as the transitions see it: no byte-order mark, `\n` line breaks. The encoding of the
 * file on disk (BOM, CRLF) is remembered so that a write gives the file back in its own form.
 */
import { FOOTER_PROMPT } from './grammar.js';

/** How a log was encoded on disk. */
export interface LogEncoding {
  bom: boolean;
  crlf: boolean;
}

/** A log's text with `\n` line breaks and no BOM, plus how to write it back. */
export interface DecodedLog {
  text: string;
  encoding: LogEncoding;
}

const BOM = '\uFEFF';

/**
 * Strips the BOM and turns CRLF into LF. A log counts as CRLF when its first line break is CRLF;
 * such a log is written back with CRLF on every line.
 */
export function decodeLog(raw: string): DecodedLog {
  const encoding = logEncoding(raw);
  const body = encoding.bom ? raw.slice(1) : raw;
  return { text: encoding.crlf ? body.replace(/\r\n/g, '\n') : body, encoding };
}

/** How a log is encoded, from its start: a BOM, and CRLF when its first line ends with one. */
export function logEncoding(raw: string): LogEncoding {
  const bom = raw.startsWith(BOM);
  const firstBreak = raw.indexOf('\n');
  return { bom, crlf: firstBreak > (bom ? 1 : 0) && raw[firstBreak - 1] === '\r' };
}

/** Gives text back in the encoding it was read with. */
export function encodeLog(text: string, encoding: LogEncoding): string {
  const body = encoding.crlf ? text.replace(/\n/g, '\r\n') : text;
  return encoding.bom ? BOM + body : body;
}

/** Offset of the start of the line that holds `offset`. */
export function lineStartAt(text: string, offset: number): number {
  return offset <= 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just past the line break of the line that holds `offset` (or the end of the text). */
export function nextLineStart(text: string, offset: number): number {
  const end = text.indexOf('\n', offset);
  return end === -1 ? text.length : end + 1;
}

/** The line that starts at `offset`, without its line break. */
export function lineAt(text: string, offset: number): string {
  const end = text.indexOf('\n', offset);
  return text.slice(offset, end === -1 ? text.length : end);
}

/** Removes trailing lines that hold only white space, and the line break that ends the last line. */
export function trimTrailingBlankLines(text: string): string {
  let end = text.length;
  while (end > 0) {
    const start = text.lastIndexOf('\n', end - 1) + 1;
    if (text.slice(start, end).trim() !== '') break;
    end = start === 0 ? 0 : start - 1;
  }
  return text.slice(0, end);
}

/** Removes leading lines that hold only white space. */
export function trimLeadingBlankLines(text: string): string {
  const match = /^(?:[ \t]*\n)*/.exec(text);
  return match ? text.slice(match[0].length) : text;
}

/**
 * A fence that can hold `content` without being closed by it: backticks, one longer than any run that
 * starts a line inside (after spaces or tabs; a carriage return or U+2028 starts a line too).
 */
export function fenceFor(content: string): string {
  let longest = 0;
  for (const match of content.matchAll(/^[ \t]*(`{3,})/gm)) longest = Math.max(longest, match[1]!.length);
  return '`'.repeat(Math.max(3, longest + 1));
}

/**
 * A fenced block with a daemon language (`JSON`, `Text`, `Error`) holding `content` as is, but for one
 * line shape: a line that starts like the footer's prompt gets a backslash in front, so that the
 * footer, found by a search from the end of the log, is never a line of a block (log-map.ts reads
 * every other line of a block as the block's and nothing else).
 */
export function fencedBlock(info: string, content: string): string {
  const fence = fenceFor(content);
  return `${fence}${info}\n${content.replace(FOOTER_PROMPT_START, '\\')}\n${fence}\n`;
}

/** Where a line starting like the footer's prompt starts. */
const FOOTER_PROMPT_START = new RegExp(`^(?=${FOOTER_PROMPT})`, 'gm');

/**
 * The version tag the daemon puts at the end of the footer's prompt line on every write
 * (`<!-- v3k9f0a -->`): a copy of the log written back names the version it was made from, the base of
 * its reconcile (reconcile.ts). Found on the last line starting like the prompt, which no block of the
 * daemon's holds (`fencedBlock`).
 */
const FOOTER_TAG = / <!-- v([0-9a-z]{1,16}) -->(?=\r?$)/;

/** Offset of the last line of `raw` that starts like the footer's prompt, or -1. */
function lastPromptLine(raw: string): number {
  const found = raw.lastIndexOf(`\n${FOOTER_PROMPT}`);
  if (found !== -1) return found + 1;
  return raw.startsWith(FOOTER_PROMPT) ? 0 : raw.startsWith(`\uFEFF${FOOTER_PROMPT}`) ? 1 : -1;
}

/** The version tag on the footer's prompt line of `raw`, or null when it has none (or no footer). */
export function footerTag(raw: string): string | null {
  const at = lastPromptLine(raw);
  if (at === -1) return null;
  return FOOTER_TAG.exec(lineAt(raw, at))?.[1] ?? null;
}

/** `raw` with its footer's prompt line tagged `tag` (any older tag replaced); as it is without a footer. */
export function withFooterTag(raw: string, tag: string): string {
  const at = lastPromptLine(raw);
  if (at === -1) return raw;
  let end = raw.indexOf('\n', at);
  if (end === -1) end = raw.length;
  if (raw[end - 1] === '\r') end -= 1;
  const line = raw.slice(at, end).replace(FOOTER_TAG, '');
  return `${raw.slice(0, at)}${line} <!-- v${tag} -->${raw.slice(end)}`;
}

/** `raw` without the version tag on its footer's prompt line. */
export function withoutFooterTag(raw: string): string {
  const at = lastPromptLine(raw);
  if (at === -1) return raw;
  let end = raw.indexOf('\n', at);
  if (end === -1) end = raw.length;
  return raw.slice(0, at) + raw.slice(at, end).replace(FOOTER_TAG, '') + raw.slice(end);
}
