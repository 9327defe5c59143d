/**
 * Values and errors of a Node realm for the log (files.md, finish): JSON when JSON shows the value
 * faithfully (the same rule as in pages), otherwise Node's own `util.inspect`, which is what an agent
 * working on a Node app expects to read.
 */
import { inspect, types, type InspectOptions } from 'node:util';
import { isFaithfulJson } from '../client/render-value.js';
import type { RenderedValue } from '../protocol/render.js';

/** The limits of files.md: depth 4, long arrays and strings cut with a count. */
const INSPECT: InspectOptions = { depth: 4, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 80, colors: false };

/** A job's value as a result block. */
export function renderNodeValue(value: unknown): RenderedValue {
  if (typeof value === 'string' && /[\r\n]/.test(value)) return { lang: 'Text', text: value };
  if (isFaithfulJson(value, new Set())) return { lang: 'JSON', text: JSON.stringify(value, null, 2) };
  return { lang: 'Text', text: inspect(value, INSPECT) };
}

/** A thrown value: an error as Node prints it (stack, cause, own properties), anything else as `Uncaught <value>`. */
export function renderNodeError(thrown: unknown): string {
  if (thrown instanceof Error || types.isNativeError(thrown)) return withoutOwnFrames(inspect(thrown, INSPECT));
  return `Uncaught ${inspect(thrown, INSPECT)}`;
}

/** The file this code is bundled into (dist/node.js or dist/node.cjs): its frames are daebug's, not the app's or the request's. */
const OWN_FILE = /\(?((?:file:\/\/)?\/[^():]+):\d+:\d+\)?$/.exec(new Error().stack?.split('\n')[1] ?? '')?.[1] ?? null;

/** `text` without stack frames in daebug's own file; a frame that opened the error's properties (` {`) passes that on. */
function withoutOwnFrames(text: string): string {
  if (OWN_FILE === null) return text;
  const kept: string[] = [];
  for (const line of text.split('\n')) {
    if (!/^\s+at /.test(line) || !line.includes(`${OWN_FILE}:`)) kept.push(line);
    else if (line.endsWith(' {') && kept.length > 0) kept[kept.length - 1] += ' {';
  }
  return kept.join('\n');
}
