/**
 * The output budget: every block the daemon writes into a reply (the value, the error, each event)
 * and a section's events together stay under it, because an agent reads every byte of a log on every
 * turn. A cut keeps whole lines, and JSON is cut by elements, never inside a token; the line that
 * ends a cut block says what was left out and where the whole text was written (the daemon writes it
 * to a file beside the log before the block is rendered, see src/daemon/spill.ts).
 */
import { formatBytes } from './time.js';

/** The budget of one block when none is given (`--max-output`). */
export const DEFAULT_MAX_OUTPUT = 4 * 1024;

/** Bytes kept free under the budget for the line that says what a cut left out. */
const CUT_LINE_ROOM = 160;

/** UTF-8 length of `text`, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** True when a block's text does not fit in `budget` bytes and is cut. */
export function overBudget(text: string, budget: number): boolean {
  return text.length > budget / 3 && utf8Length(text) > budget;
}

/**
 * The block's text within `budget`: as is when it fits; else JSON cut by elements, other text by
 * lines, then a line `... (cut at <budget>: <left out> of <total> left out; whole: <whole>) ...`.
 */
export function cutBlockText(lang: string, text: string, budget: number, whole?: string): string {
  if (!overBudget(text, budget)) return text;
  const room = Math.max(budget - CUT_LINE_ROOM, 64);
  const kept = (lang === 'JSON' ? cutJson(text, room) : null) ?? cutLines(text, room);
  const total = utf8Length(text);
  const where = whole ? `; whole: ${whole}` : '';
  return `${kept}\n... (cut at ${formatBytes(budget)}: ${formatBytes(Math.max(total - utf8Length(kept), 0))} of ${formatBytes(total)} left out${where}) ...`;
}

/** The first whole lines of `text` within `room` bytes; a first line longer than that is cut at a character. */
function cutLines(text: string, room: number): string {
  const lines = text.split('\n');
  let used = 0;
  let count = 0;
  while (count < lines.length && used + utf8Length(lines[count]!) + 1 <= room) used += utf8Length(lines[count++]!) + 1;
  if (count > 0) return lines.slice(0, count).join('\n') + (count < lines.length ? `\n... ${count < lines.length - 1 ? `${lines.length - count} more lines` : '1 more line'}` : '');
  return cutChars(lines[0]!, room);
}

/** The start of `line` within `room` bytes, never splitting a surrogate pair. */
function cutChars(line: string, room: number): string {
  let used = 0;
  let end = 0;
  while (end < line.length) {
    const step = line.charCodeAt(end) >= 0xd800 && line.charCodeAt(end) <= 0xdbff ? 2 : 1;
    const bytes = utf8Length(line.slice(end, end + step));
    if (used + bytes > room) break;
    used += bytes;
    end += step;
  }
  return line.slice(0, end);
}

/** JSON text cut to `room` bytes by elements, pretty-printed as `JSON.stringify(value, null, 2)`; null when it is not JSON. */
function cutJson(text: string, room: number): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  return fitJson(value, '', room);
}

/** One element as it is printed at `indent`. */
function printed(value: unknown, indent: string): string {
  return (JSON.stringify(value, null, 2) ?? 'null').replace(/\n/g, `\n${indent}`);
}

/**
 * `value` printed at `indent` within `room` bytes: whole elements while they fit, then the one that
 * does not, itself cut when it is an array or object with room to show some of it, then a line
 * `... <n> more items` (arrays) or `... <n> more keys` (objects).
 */
function fitJson(value: unknown, indent: string, room: number): string {
  const whole = printed(value, indent);
  if (typeof value !== 'object' || value === null || utf8Length(whole) <= room) return whole;
  const inner = indent + '  ';
  const isArray = Array.isArray(value);
  const entries: [string, unknown][] = isArray ? (value as unknown[]).map((item) => ['', item]) : Object.entries(value);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  const lines: string[] = [];
  // The opening and closing lines, and the line that counts what is left out.
  let used = 2 + indent.length + inner.length + 24;
  let shown = 0;
  for (const [key, item] of entries) {
    const prefix = `${inner}${isArray ? '' : `${JSON.stringify(key)}: `}`;
    const line = prefix + printed(item, inner);
    const cost = utf8Length(line) + 2;
    if (used + cost <= room) {
      lines.push(line);
      used += cost;
      shown++;
      continue;
    }
    const left = room - used - utf8Length(prefix);
    if (typeof item === 'object' && item !== null && left >= 64) {
      lines.push(prefix + fitJson(item, inner, left));
      shown++;
    }
    break;
  }
  const rest = entries.length - shown;
  const body = lines.join(',\n');
  const more = rest > 0 ? `${body ? ',' : ''}\n${inner}... ${rest} more ${isArray ? (rest === 1 ? 'item' : 'items') : rest === 1 ? 'key' : 'keys'}` : '';
  return `${open}\n${body}${more}\n${indent}${close}`;
}
