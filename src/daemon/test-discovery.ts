/**
 * Test discovery with fast-glob, under the root only: `**\/*.test.{js,mjs}` and `**\/test-*.{js,mjs}`
 * outside node_modules by default, or the given patterns. Patterns are relative to the root. Their
 * braces are expanded here first, with the same `braces` fast-glob uses, so that what fast-glob walks
 * is what was checked: each expanded pattern must be relative and free of `..` (fast-glob would start
 * walking from there), and fast-glob gets them with its own brace expansion off. Every file found must
 * also really be inside the root, so a symlink in the root that points out of it finds nothing.
 */
import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import braces from 'braces';
import fg from 'fast-glob';

/** The default patterns of daemon.md. */
export const DEFAULT_TEST_PATTERNS = ['**/*.test.{js,mjs}', '**/test-*.{js,mjs}'];
/** Behind a dev server (the plugin, --proxy), which compiles TypeScript: these too. */
export const DEV_SERVER_TEST_PATTERNS = ['**/*.test.{js,mjs,ts,tsx,mts}', '**/test-*.{js,mjs,ts,tsx,mts}'];

/** At most this many files are listed. */
export const MAX_TEST_FILES = 10_000;

/** At most this many patterns after brace expansion, in all; also the largest range (`{1..1000}`). */
const MAX_PATTERNS = 1_000;

/** Never searched: dependencies, git's data and the daemon's own folders (static serving refuses them too). */
const IGNORED = ['**/node_modules/**', '**/.git/**', 'daebug/**', '.daebug/**'];

/** What discovery found, or why a pattern was refused. */
export type Discovery =
  | {
      ok: true;
      /** URL paths (`/tests/a.test.js`), sorted. */
      files: string[];
      /** True when more files matched than the limit; `files` holds only that many. */
      capped: boolean;
    }
  | { ok: false; code: 'ERR_BAD_PATTERN'; error: string };

/** Test files under `root` as URL paths, at most `limit` of them; a refused pattern is a value with the reason. */
export async function discoverTestFiles(root: string, patterns: readonly string[], limit = MAX_TEST_FILES): Promise<Discovery> {
  const expanded = expandPatterns(patterns.length > 0 ? patterns : DEFAULT_TEST_PATTERNS);
  if (typeof expanded === 'string') return { ok: false, code: 'ERR_BAD_PATTERN', error: expanded };
  const found = new Set<string>();
  let capped = false;
  if (expanded.length > 0) {
    // A stream, so that a pattern matching a huge tree stops being walked at the limit.
    const stream = fg.stream(expanded, { cwd: root, ignore: IGNORED, dot: false, onlyFiles: true, followSymbolicLinks: false, braceExpansion: false });
    for await (const entry of stream) {
      if (found.has(String(entry))) continue;
      if (found.size === limit) {
        capped = true;
        break;
      }
      found.add(String(entry));
    }
  }
  const inside = await filesInside(root, [...found]);
  return { ok: true, files: inside.sort().map((file) => '/' + file.split('/').map(encodeURIComponent).join('/')), capped };
}

/** The patterns with their braces expanded and checked, or the reason one is refused. */
function expandPatterns(patterns: readonly string[]): string[] | string {
  const expanded: string[] = [];
  for (const pattern of patterns) {
    const refuse = (reason: string) => `test pattern ${JSON.stringify(pattern)} is refused: ${reason}`;
    if (pattern === '') return refuse('it is empty');
    // The glob escape and the Windows separator: refused outright rather than reasoning about which
    // escapes fast-glob would turn into a separator or a `..`; test file names seldom need one.
    if (pattern.includes('\\')) return refuse('backslashes are not supported; separate folders with /');
    if (expansionBound(pattern) > MAX_PATTERNS) return refuse(`its braces expand to more than ${MAX_PATTERNS} patterns`);
    let alternatives: string[];
    try {
      alternatives = braces.expand(pattern, { rangeLimit: MAX_PATTERNS });
    } catch (error) {
      return refuse((error as Error).message);
    }
    for (const alternative of alternatives) {
      const relative = alternative.replace(/^(!*)(\.\/)+/, '$1');
      const path = relative.replace(/^!+/, '');
      if (path === '') continue;
      if (/^\/|^[a-z]:/i.test(path)) return refuse(`${JSON.stringify(alternative)} is absolute; patterns are relative to the root`);
      if (path.split('/').some(isParentSegment)) return refuse(`${JSON.stringify(alternative)} goes up with ..; patterns stay under the root`);
      expanded.push(relative);
    }
    if (expanded.length > MAX_PATTERNS) return refuse(`the patterns expand to more than ${MAX_PATTERNS} patterns in all`);
  }
  return expanded;
}

/** True for `..`, and for what Windows reads as `..` (trailing dots and spaces dropped: `.. .`). */
function isParentSegment(segment: string): boolean {
  return /^[. ]+$/.test(segment) && segment.replace(/ /g, '').length >= 2;
}

/**
 * An upper bound of how many patterns `braces` makes of `pattern`, found without expanding it (which
 * could take all memory: `{a,b}` twenty times is a million): the product, over every brace group, of
 * its number of alternatives, or of its length for a range.
 */
function expansionBound(pattern: string): number {
  const open: { alternatives: number; start: number }[] = [];
  let bound = 1;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '{') open.push({ alternatives: 1, start: i + 1 });
    else if (char === ',' && open.length > 0) open[open.length - 1]!.alternatives++;
    else if (char === '}' && open.length > 0) {
      const group = open.pop()!;
      bound *= group.alternatives > 1 ? group.alternatives : rangeLength(pattern.slice(group.start, i));
    }
  }
  return bound;
}

/** How many values the range `body` (`1..20`, `a..z`, `01..10..2`) stands for; 1 for a plain word, the range limit for anything else with `..`. */
function rangeLength(body: string): number {
  if (!body.includes('..')) return 1;
  const range = /^([-+]?\d+|[^.\d])\.\.([-+]?\d+|[^.\d])(?:\.\.[-+]?\d*)?$/.exec(body);
  if (!range) return MAX_PATTERNS;
  const value = (end: string) => (/\d/.test(end) ? Number(end) : end.charCodeAt(0));
  return Math.abs(value(range[2]!) - value(range[1]!)) + 1;
}

/** The files (relative to `root`) whose real path is inside the real root. */
async function filesInside(root: string, files: readonly string[]): Promise<string[]> {
  const realRoot = await realpath(root);
  const prefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  const checked = await Promise.all(files.map(async (file) => ((await realpath(join(root, file)).catch(() => '')).startsWith(prefix) ? file : null)));
  return checked.filter((file): file is string => file !== null);
}
