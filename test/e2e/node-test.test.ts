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

test('node:assert in the browser fails with Node-style messages and a diff', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.at('/index.html'));
  const messages = (await page.evaluate(`import('/-daebug/node-assert-strict.js').then(({ default: assert }) => {
    const caught = (fn) => {
      try {
        fn();
        return 'no error';
      } catch (error) {
        return error.name + ' ' + error.code + ': ' + error.message;
      }
    };
    return [caught(() => assert.equal(1, 2)), caught(() => assert.deepEqual({ a: [1, 2] }, { a: [1, 3] })), caught(() => assert.match('abc', /x/)), caught(() => assert.ok(true))];
  })`)) as string[];
  assert.equal(messages[0], 'AssertionError ERR_ASSERTION: Expected values to be strictly equal:\n\n1 !== 2\n');
  assert.match(messages[1]!, /^AssertionError ERR_ASSERTION: Expected values to be strictly deep-equal:\n\+ actual - expected\n/);
  assert.match(messages[1]!, /\+ .*2/);
  assert.match(messages[2]!, /The input did not match the regular expression \/x\/\. Input:\n\n'abc'/);
  assert.equal(messages[3], 'no error');
});
