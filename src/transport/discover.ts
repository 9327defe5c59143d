/**
 * Test discovery with fast-glob, under the root only: `**\/*.test.{js,mjs}` and `**\/test-*.{js,mjs}`
 * outside node_modules by default, or the given patterns.
 */
import fg from 'fast-glob';

/** The default patterns of daemon.md. */
export const DEFAULT_TEST_PATTERNS = ['**/*.test.{js,mjs}', '**/test-*.{js,mjs}'];

/** Test files under `root` as URL paths (`/tests/a.test.js`), sorted. */
export async function discoverTestFiles(root: string, patterns: readonly string[]): Promise<string[]> {
  const wanted = patterns.length > 0 ? patterns.map((pattern) => pattern.replace(/^\.\//, '')) : DEFAULT_TEST_PATTERNS;
  if (wanted.some((pattern) => pattern.startsWith('/') || pattern.split('/').includes('..'))) return [];
  const files = await fg([...wanted], { cwd: root, ignore: ['**/node_modules/**', '**/.git/**'], dot: false, onlyFiles: true, followSymbolicLinks: false });
  return files.sort().map((file) => '/' + file.split('/').map(encodeURIComponent).join('/'));
}
