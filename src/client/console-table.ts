/**
 * `console.table(data, columns?)` as a Markdown table: a row per entry of `data` (array index or key),
 * a column per key of the rows that are objects, and `Values` for rows that are not. Cut at MAX_ROWS.
 */
import { inspect } from './render-value.js';

const MAX_ROWS = 50;
const MAX_COLUMNS = 20;

/** The table, or null when `data` is not an object (the console then logs it as it is). */
export function renderTable(data: unknown, columns?: readonly string[]): string | null {
  if (typeof data !== 'object' || data === null) return null;
  const entries: [string, unknown][] = data instanceof Map ? [...data.entries()].map(([key, value]) => [cell(key), value]) : Object.entries(data);
  const keys: string[] = [];
  let values = false;
  for (const [, row] of entries) {
    if (typeof row === 'object' && row !== null) {
      for (const key of Object.keys(row)) if (!keys.includes(key)) keys.push(key);
    } else values = true;
  }
  const shown = (columns ? keys.filter((key) => columns.includes(key)) : keys).slice(0, MAX_COLUMNS);
  const header = ['(index)', ...shown, ...(values ? ['Values'] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const [index, row] of entries.slice(0, MAX_ROWS)) {
    const object = typeof row === 'object' && row !== null ? (row as Record<string, unknown>) : null;
    const cells = shown.map((key) => (object && key in object ? cell(object[key]) : ''));
    lines.push(`| ${[cell(index), ...cells, ...(values ? [object ? '' : cell(row)] : [])].join(' | ')} |`);
  }
  if (entries.length > MAX_ROWS) lines.push(`... (${entries.length - MAX_ROWS} more rows)`);
  return lines.join('\n');
}

function cell(value: unknown): string {
  const text = typeof value === 'string' ? value : inspect(value, { depth: 0, breakLength: Infinity });
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
