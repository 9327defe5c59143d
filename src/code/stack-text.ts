/**
 * Stack traces as an agent can use them, done on text the realm rendered (pure; the I/O is in
 * stack-mapper.ts): daebug's own frames are dropped, no token is left in a URL, frames in a job's code
 * point into the fence, and frames of scripts with source maps point at the original file.
 */
import { REQUEST_SOURCE_PREFIX } from './request-positions.js';

/** A position in a script the realm loaded, as a frame names it. */
export interface ScriptPosition {
  url: string;
  line: number;
  column: number;
}

/** What replaces the locations of a stack: null keeps a location as it is. */
export interface LocationResolver {
  request(jobId: string, line: number, column: number): string | null;
  script(position: ScriptPosition): string | null;
}

const FRAME = /^\s*(?:at\s|\S*@\S+:\d+:\d+\s*$)/;
const SCRIPT_LOCATION = /(https?:\/\/[^\s()'"]+?):(\d+):(\d+)/g;
const REQUEST_LOCATION = new RegExp(`(?:eval \\()?${REQUEST_SOURCE_PREFIX}([A-Za-z0-9_-]+):(\\d+):(\\d+)(\\))?`, 'g');
/** A token or secret in one of daebug's own URLs (`client.js?t=...`). */
const OWN_URL_TOKEN = /(\/-daebug\/[^\s?#()'"]*)\?t=[A-Za-z0-9_-]+&?/g;

/** True when `text` may hold a location worth rewriting (cheap: most event texts hold none). */
export function mayHoldFrames(text: string): boolean {
  return text.includes(':') && /:\d+:\d+/.test(text);
}

/** `text` without the frames whose line contains one of `ownMarkers`, and without tokens in daebug's URLs. */
export function withoutOwnFrames(text: string, ownMarkers: readonly string[]): string {
  const lines = text.split('\n').filter((line) => !(FRAME.test(line) && ownMarkers.some((marker) => line.includes(marker))));
  return lines.join('\n').replace(OWN_URL_TOKEN, (_match, path: string) => path);
}

/** The script positions `text` names, each once. */
export function scriptPositions(text: string): ScriptPosition[] {
  const seen = new Map<string, ScriptPosition>();
  for (const match of text.matchAll(SCRIPT_LOCATION)) seen.set(match[0], { url: match[1]!, line: Number(match[2]), column: Number(match[3]) });
  return [...seen.values()];
}

/** `text` with every location `resolve` knows replaced: a job's frame by its place in the fence, a script's by its original source. */
export function rewriteLocations(text: string, resolve: LocationResolver): string {
  const requests = text.replace(REQUEST_LOCATION, (match, jobId: string, line: string, column: string, close: string | undefined) => {
    const where = resolve.request(jobId, Number(line), Number(column));
    if (where === null) return match;
    // `at eval (daebug-request-…)` is the request's own top level: `at request:2:5`.
    return match.startsWith('eval (') ? where : `${where}${close ?? ''}`;
  });
  return requests.replace(SCRIPT_LOCATION, (match, url: string, line: string, column: string) => resolve.script({ url, line: Number(line), column: Number(column) }) ?? match);
}
