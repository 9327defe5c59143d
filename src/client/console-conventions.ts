/**
 * The console methods beyond plain logging, as DevTools shows them: `table` as a Markdown table,
 * `group`/`groupCollapsed`/`groupEnd` indenting what is logged inside, `assert` reporting only a false
 * condition, `count`/`countReset`, `time`/`timeLog`/`timeEnd` in milliseconds, `dir` and `trace`.
 * Each wraps the page's method, which still runs.
 */
import type { EventSource, RenderedValue } from '../protocol/render.js';
import { renderTable } from './console-table.js';
import { inspect, renderConsoleArgs } from './render-value.js';

/** Records one event: its source and how to render it. */
export type RecordEvent = (source: EventSource, render: () => RenderedValue) => void;

/** The current group depth, read by the capture to indent every event. */
export interface Groups {
  depth(): number;
}

/** Wraps the console methods of `scope` that are not plain logging. */
export function wrapConsoleConventions(scope: typeof globalThis, record: RecordEvent): Groups {
  let depth = 0;
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const label = (value: unknown) => (value === undefined ? 'default' : String(value));
  const text = (value: string): RenderedValue => ({ lang: 'Text', text: value });
  const elapsed = (name: string, rest: readonly unknown[], end: boolean) => {
    const start = timers.get(name);
    if (start === undefined) return record('console.time', () => text(`Timer '${name}' does not exist`));
    if (end) timers.delete(name);
    const extra = rest.length > 0 ? ` ${renderConsoleArgs(rest).text}` : '';
    record('console.time', () => text(`${name}: ${formatMs(performance.now() - start)}${extra}`));
  };
  const own: { [method: string]: (...args: unknown[]) => void } = {
    table: (data, columns) => {
      const table = renderTable(data, Array.isArray(columns) ? columns.map(String) : undefined);
      record('console.table', () => (table === null ? renderConsoleArgs([data]) : text(table)));
    },
    dir: (value) => record('console.dir', () => text(inspect(value))),
    trace: (...args) => record('console.trace', () => text(`Trace${args.length > 0 ? `: ${renderConsoleArgs(args).text}` : ''}\n${callerStack()}`)),
    group: (...args) => {
      record('console.group', () => text(args.length > 0 ? renderConsoleArgs(args).text : 'console.group'));
      depth++;
    },
    groupEnd: () => {
      depth = Math.max(0, depth - 1);
    },
    assert: (condition, ...args) => {
      if (condition) return;
      record('console.assert', () => ({ lang: 'Error', text: `Assertion failed${args.length > 0 ? `: ${renderConsoleArgs(args).text}` : ''}` }));
    },
    count: (name) => {
      const key = label(name);
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      record('console.count', () => text(`${key}: ${count}`));
    },
    countReset: (name) => void counts.delete(label(name)),
    time: (name) => void timers.set(label(name), performance.now()),
    timeLog: (name, ...rest) => elapsed(label(name), rest, false),
    timeEnd: (name) => elapsed(label(name), [], true),
  };
  own.groupCollapsed = own.group!;
  for (const [method, handle] of Object.entries(own)) {
    const console = scope.console as unknown as { [method: string]: unknown };
    const original = console[method];
    if (typeof original !== 'function') continue;
    console[method] = function daebugConsole(this: unknown, ...args: unknown[]) {
      try {
        handle(...args);
      } catch {
        // Recording must never break the page's console call.
      }
      return (original as (...args: unknown[]) => unknown).apply(this, args);
    };
  }
  return { depth: () => depth };
}

/** DevTools' way: `1.234 ms`, seconds past a minute are still milliseconds. */
function formatMs(ms: number): string {
  return `${ms.toFixed(3)} ms`;
}

/** The stack of whoever called `console.trace`, without daebug's frames (the daemon drops the rest). */
function callerStack(): string {
  const lines = (new Error().stack ?? '').split('\n').filter((line) => /^\s+at\s|@/.test(line));
  return lines.filter((line) => !/daebugConsole|callerStack/.test(line)).join('\n');
}
