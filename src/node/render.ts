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
  if (thrown instanceof Error || types.isNativeError(thrown)) return inspect(thrown, INSPECT);
  return `Uncaught ${inspect(thrown, INSPECT)}`;
}
