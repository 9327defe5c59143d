// node:test and node:assert in the browser agree with Node's own runner on the same files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { launchBrowser } from '../helpers/browser.js';
import { startTestServer } from '../helpers/serve.js';

const fixtures = new URL('../../fixtures/node-test/', import.meta.url).pathname;
const files = readdirSync(fixtures).filter((name) => name.endsWith('.test.mjs')).sort();
const browser = await launchBrowser();
after(() => browser.close());
const server = await startTestServer((root) => {
  for (const file of files) copyFileSync(join(fixtures, file), join(root, file));
  copyFileSync(join(fixtures, files[0]!), join(root, 'index.html'));
});

const COUNTS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'] as const;

/** Node's own counts for a file, from its TAP summary. */
function nodeCounts(file: string): Record<string, number> {
  let output: string;
  try {
    // Without NODE_TEST_CONTEXT, or the inner runner reports to this one instead of printing TAP.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    output = execFileSync(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: fixtures, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env });
  } catch (error) {
    output = (error as { stdout: string }).stdout;
  }
  return Object.fromEntries(COUNTS.map((name) => [name, Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1])]));
}

for (const file of files) {
  test(`${file}: the browser runner reports what Node reports`, async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.at('/index.html'));
    // A string, not a function: tsx's helpers would not exist in the page.
    const summary = (await page.evaluate(`import('/-daebug/node-test.js').then((runner) => runner.run({ files: ['/${file}'], onEvent: () => {} }))`)) as Record<string, number>;
    const expected = nodeCounts(file);
    assert.deepEqual(Object.fromEntries(COUNTS.map((name) => [name, summary[name]])), expected);
  });
}

/** Assertions that fail (and one that passes), written once and run by both implementations. */
const ASSERT_CASES = [
  'assert.equal(1, 2)',
  'assert.notEqual(1, 1)',
  'assert.strictEqual("a", "b")',
  'assert.notStrictEqual(1, 1)',
  'assert.deepEqual({ a: [1, 2] }, { a: [1, 3] })',
  'assert.deepStrictEqual([1], ["1"])',
  'assert.notDeepStrictEqual({ a: 1 }, { a: 1 })',
  'assert.ok(0)',
  'assert.throws(() => {})',
  'assert.doesNotThrow(() => { throw new Error("boom") })',
  'assert.match("abc", /x/)',
  'assert.doesNotMatch("abc", /b/)',
  'assert.fail("on purpose")',
  'assert.ifError(new Error("was an error"))',
  'assert.ok(true)',
];

const CASE_RUNNER = `(assert, cases) => cases.map((source) => {
  try {
    new Function('assert', source)(assert);
    return 'no error';
  } catch (error) {
    // The port prints a short value after the first line's colon where Node puts it on the next line,
    // and lays diffs out differently: compare the first line up to its last colon.
    return error.name + ' ' + error.code + ': ' + String(error.message).split('\\n')[0].replace(/: .*$/, ':');
  }
})`;

test('node:assert in the browser fails like Node\'s own assert: same error, code and message start', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.at('/index.html'));
  const inBrowser = (await page.evaluate(`import('/-daebug/node-assert-strict.js').then(({ default: assert }) => (${CASE_RUNNER})(assert, ${JSON.stringify(ASSERT_CASES)}))`)) as string[];
  const nodeAssert = (await import('node:assert/strict')).default;
  const inNode = (new Function(`return ${CASE_RUNNER}`)() as (assert: unknown, cases: string[]) => string[])(nodeAssert, ASSERT_CASES);
  assert.deepEqual(inBrowser, inNode);
  assert.equal(inNode.at(-1), 'no error');
});

test('node:assert in the browser shows actual, expected and a diff', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.at('/index.html'));
  const message = (await page.evaluate(`import('/-daebug/node-assert.js').then(({ default: assert }) => { try { assert.deepStrictEqual({ a: [1, 2] }, { a: [1, 3] }); } catch (error) { return error.message; } })`)) as string;
  assert.match(message, /^Expected values to be strictly deep-equal:\n\+ actual - expected\n/);
  assert.match(message, /\+ .*2/);
  assert.match(message, /- .*3/);
});

test('the browser runner imports test files of its own origin only, never a data: URL or another origin', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.at('/index.html'));
  const events = (await page.evaluate(`(async () => {
    const seen = [];
    const runner = await import('/-daebug/node-test.js');
    await runner.run({ files: ['data:text/javascript,globalThis.pwned=1', 'http://127.0.0.1:9/evil.js'], onEvent: (event) => seen.push(event) });
    return { seen, pwned: globalThis.pwned === 1 };
  })()`)) as { seen: { kind: string; error?: string }[]; pwned: boolean };
  assert.equal(events.pwned, false);
  const failures = events.seen.filter((event) => event.kind === 'fail');
  assert.equal(failures.length, 2);
  for (const failure of failures) assert.match(failure.error ?? '', /refused: .* is not a file of http:\/\/localhost:\d+/);
});
