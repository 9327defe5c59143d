// End to end in headless Chromium: what an agent sees of a page. Stacks with source maps and fence
// positions, console conventions, the console utilities, the outline, and screenshots in a browser
// daebug launched (--open).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildSync } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { NO_SANDBOX_REFUSAL, createLaunchedBrowser } from '../../src/cli/open-browser.js';
import { serve } from '../../src/cli/serve.js';
import { logFileName } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { FAST } from '../helpers/daemon.js';
import { startTestServer, type TestServer } from '../helpers/serve.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';

const TIMING = { ...FAST, timeoutMs: 5000, tickMs: 200 };
const CART = `export function total(items) {
  return items.reduce((sum, item) => sum + item.price.amount, 0);
}
window.checkout = function checkout() {
  return total([{ price: null }]);
};
`;
const PAGE = `<!doctype html><html><head><title>see</title>
<script>window.$ = function jq(selector) { return 'jq:' + selector; };</script>
<script src="dist/vendor.min.js"></script><script src="dist/inline.min.js"></script></head>
<body><h1>Checkout</h1>
<form aria-label="Payment"><label for="email">Email</label><input id="email" type="email" value="a@b.c" required>
<label><input type="checkbox" checked> Keep me posted</label>
<select aria-label="Country"><option>France</option><option selected>Japan</option></select>
<div hidden><input aria-label="Secret field"></div><p style="display:none">not shown</p>
<button type="submit" disabled>Pay 12 €</button></form>
<ul><li>one</li><li>two</li></ul></body></html>`;

/** The project: a page, and one script minified with a linked source map and one with an inline map. */
function project(root: string): void {
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src', 'cart.js'), CART);
  writeFileSync(join(root, 'src', 'inline.js'), 'window.inlined = () => {\n  throw new RangeError("inline map");\n};\n');
  const build = (entry: string, outfile: string, sourcemap: 'linked' | 'inline') => buildSync({ entryPoints: [join(root, 'src', entry)], outfile: join(root, 'dist', outfile), bundle: true, minify: true, format: 'iife', sourcemap, logLevel: 'silent' });
  build('cart.js', 'vendor.min.js', 'linked');
  build('inline.js', 'inline.min.js', 'inline');
  writeFileSync(join(root, 'index.html'), PAGE);
}

const browser: Browser = await launchBrowser();
after(() => browser.close());
const server: TestServer = await startTestServer(project, TIMING);

interface Realm {
  page: Page;
  name: string;
  path: string;
  ask(code: string): Promise<string>;
}

/** A realm on `root`: appending a fence and waiting for its reply gives the reply's text. */
function realmAt(page: Page, name: string, root: string): Realm {
  const path = join(root, 'daebug', `${logFileName(name)}.md`);
  let asked = 0;
  return {
    page,
    name,
    path,
    async ask(code) {
      asked++;
      const before = existsSync(path) ? readText(path) : '';
      writeFileSync(path, `${before}\`\`\`js\n${code}\n\`\`\`\n`);
      const replies = () => readText(path).split(/^(?=#### (?:👍|🚫)\S+ at \S+ \()/mu).slice(1);
      await waitFor(() => replies().length >= asked && !/^executing|^queued/m.test(readText(path)), `reply ${asked} in ${name}`, 10_000).catch((error: Error) => {
        throw new Error(`${error.message}\n--- log ---\n${readText(path)}`);
      });
      return replies()[asked - 1]!.split(/\n-{70}\n/)[0]!;
    },
  };
}

async function openRealm(): Promise<Realm> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.at('/'));
  await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm);
  const name = await page.evaluate(() => (globalThis as unknown as { __daebug: { realm: string } }).__daebug.realm);
  await waitFor(() => existsSync(join(server.root, 'daebug.md')) && readFileSync(join(server.root, 'daebug.md'), 'utf8').includes(`[${name}]`), `${name} in the registry`);
  return realmAt(page, name, server.root);
}

test('a minified script with a linked source map is shown at its original file, line and column; the fence at its own lines', async () => {
  const realm = await openRealm();
  const reply = await realm.ask('const before = 1;\n\ncheckout()');
  assert.match(reply, /^#### 🚫/u);
  // Column 55 of line 2 is `amount`; the function names stay the minified ones the browser gives.
  assert.match(reply, /TypeError: Cannot read properties of null \(reading 'amount'\)\n {4}at src\/cart\.js:2:55\n {4}at Array\.reduce \(<anonymous>\)\n {4}at \S+ \(src\/cart\.js:2:16\)\n {4}at window\.checkout \(src\/cart\.js:5:10\)\n/);
  assert.match(reply, /\n {4}at request:3:1\n```/, 'the request frame is at line 3 of the fence');
  assert.doesNotMatch(reply, /vendor\.min\.js|-daebug|daebug-request|\?t=|eval at/);
});

test('an inline source map works too, and frames of functions declared in an earlier request point into that request', async () => {
  const realm = await openRealm();
  const inline = await realm.ask('inlined()');
  assert.match(inline, /RangeError: inline map\n {4}at \S+ \(src\/inline\.js:2:9\)\n {4}at request:1:1/);
  await realm.ask('function explode(n) {\n  if (n > 1) return explode(n - 1);\n  throw new Error(`at ${n}`);\n}');
  const later = await realm.ask('// later\nexplode(2)');
  assert.match(later, /Error: at 1\n {4}at explode \(request@\d\d:\d\d:\d\d:3:9\)\n {4}at explode \(request@\d\d:\d\d:\d\d:2:21\)\n {4}at request:2:1\n```/);
});

test('console output in the page keeps its conventions: table, group, count, time, assert, and uncaught stacks are mapped', async () => {
  const realm = await openRealm();
  const reply = await realm.ask([
    "console.table([{ sku: 'a1', qty: 2 }, { sku: 'b|2', qty: 1, note: 'gift' }]);",
    "console.group('cart');",
    "console.log('inside');",
    "console.groupEnd();",
    "console.count(); console.count(); console.count('clicks');",
    "console.time('t'); console.timeEnd('t');",
    "console.assert(1 === 1, 'never'); console.assert(false, 'qty is %d', 0);",
    'setTimeout(() => checkout(), 0); await new Promise((resolve) => setTimeout(resolve, 200));',
    "'ok'",
  ].join('\n'));
  assert.match(reply, /```Text console\.table\n\| \(index\) \| sku \| qty \| note \|\n\| --- \| --- \| --- \| --- \|\n\| 0 \| a1 \| 2 \|  \|\n\| 1 \| b\\\|2 \| 1 \| gift \|\n```/);
  assert.match(reply, /##### 🔢console\.group at \S+\n```Text console\.group\ncart\n```/u);
  assert.match(reply, /```Text console\.log\n {2}inside\n```/, 'what is logged inside a group is indented');
  assert.match(reply, /```Text console\.count\ndefault: 1\n```[\s\S]*```Text console\.count\ndefault: 2\n```[\s\S]*```Text console\.count\nclicks: 1\n```/);
  assert.match(reply, /```Text console\.time\nt: \d+\.\d{3} ms\n```/);
  assert.match(reply, /##### 🆘console\.assert at \S+\n```Error console\.assert\nAssertion failed: qty is 0\n```/u);
  assert.doesNotMatch(reply, /never/);
  assert.match(reply, /```Error window\.onerror\nTypeError: Cannot read properties of null \(reading 'amount'\)\n {4}at (?:\S+ \()?src\/cart\.js:2:\d+\)?\n[\s\S]*\n {4}at request:8:18\n```/);
});

test('$, $$, $x, keys, values and dir work in requests; the page keeps its own $ and gets no new globals', async () => {
  const realm = await openRealm();
  const reply = await realm.ask("[$('h1'), $$('li').map((li) => li.textContent), $x('//h1')[0].textContent, keys({ a: 1 }), values({ a: 1 }), typeof $$, window.$$ === undefined, typeof daebug.outline]");
  assert.match(reply, /```JSON\n(.|\n)*```/);
  assert.deepEqual(JSON.parse(/```JSON\n([\s\S]*)\n```/.exec(reply)![1]!), ['jq:h1', ['one', 'two'], 'Checkout', ['a'], [1], 'function', true, 'function']);
  const dir = await realm.ask("dir({ deep: { er: [1] } }); window.$.name + ' ' + ('daebug' in window) + ' ' + ('$x' in window)");
  assert.match(dir, /```JSON\n"jq false false"\n```/);
  assert.match(dir, /```Text console\.dir\n\{ deep: \{ er: \[ 1 \] \} \}\n```/);
});

test('daebug.outline shows what a user sees of a form: roles, names, values and states, nothing hidden', async () => {
  const realm = await openRealm();
  const reply = await realm.ask("document.querySelector('#email').focus();\ndaebug.outline('body')");
  const expected = [
    '- heading "Checkout" [level=1]',
    '- form "Payment"',
    '  - text: Email',
    '  - textbox "Email" value="a@b.c" [required] [focused]',
    '  - checkbox "Keep me posted" [checked]',
    '  - text: Keep me posted',
    '  - combobox "Country" value="Japan"',
    '  - button "Pay 12 €" [disabled]',
    '- list',
    '  - listitem "one"',
    '  - listitem "two"',
  ].join('\n');
  assert.ok(reply.includes(`\`\`\`Text\n${expected}\n\`\`\``), reply);
  assert.doesNotMatch(reply, /Secret|not shown/);
  const none = await realm.ask("daebug.outline('#nothing')");
  assert.match(none, /```Text\nno element matches "#nothing"\n```/);
});

test('a screenshot in a page of a browser daebug did not launch answers with how to get one', async () => {
  const realm = await openRealm();
  const reply = await realm.ask('await daebug.screenshot()');
  assert.match(reply, /^#### 👍\S+ at \S+ \(\d+ms\)\n```Text\nno screenshot: this page runs in a browser daebug did not launch; run daebug --open <path> \(and --headless for no window\) and ask in that page\n```/u);
});

/** A page in a browser daebug launched (--open, headless), its realm and its log's key; all closed after the test. */
async function launchedRealm(): Promise<{ root: string; realm: ReturnType<typeof realmAt>; key: string }> {
  let stop: () => Promise<void> = async () => {};
  const root = tempRoot(() => stop());
  project(root);
  mkdirSync(join(root, 'daebug'));
  const serving = await serve({ root, port: 0, host: '127.0.0.1', version: '0.0.0-test', timing: TIMING, onLog: () => {} });
  stop = () => serving.stop('test finished');
  assert.equal(await serving.open('/', { headless: true, browser: null }), new URL('/', serving.url).href);
  const registry = join(root, 'daebug.md');
  await waitFor(() => existsSync(registry) && /\* \[[^\]]+\]\(daebug\//.test(readFileSync(registry, 'utf8')), 'the launched page in the registry');
  const name = /\* \[([^\]]+)\]\(daebug\//.exec(readFileSync(registry, 'utf8'))![1]!;
  return { root, realm: realmAt(null as unknown as Page, name, root), key: logFileName(name) };
}

test('daebug.screenshot() in a browser daebug launched writes a PNG beside the log and answers with an image link', async () => {
  const { root, realm, key } = await launchedRealm();
  const whole = await realm.ask('await daebug.screenshot()');
  assert.match(whole, new RegExp(`\`\`\`Text\\n!\\[screenshot\\]\\(${key}\\.shots/1\\.png\\)\\n\`\`\``));
  const png = readFileSync(join(root, 'daebug', `${key}.shots`, '1.png'));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const part = await realm.ask("await daebug.screenshot('h1')");
  assert.match(part, new RegExp(`!\\[screenshot of h1\\]\\(${key}\\.shots/2\\.png\\)`));
  assert.ok(readFileSync(join(root, 'daebug', `${key}.shots`, '2.png')).length < png.length, 'the element is smaller than the page');
  const missing = await realm.ask("await daebug.screenshot('#nothing')");
  assert.match(missing, /```Text\nno screenshot: no element matches "#nothing"\n```/);
});

test('a screenshot is never written through a symlinked .shots folder, or over a name planted in it (issue 23)', async () => {
  const { root, realm, key } = await launchedRealm();
  const elsewhere = tempRoot();
  symlinkSync(elsewhere, join(root, 'daebug', `${key}.shots`));
  const reply = await realm.ask('await daebug.screenshot()');
  assert.match(reply, /```Text\nno screenshot: .*\.shots is not a real folder inside the root\n```/);
  assert.deepEqual(readdirSync(elsewhere), [], 'nothing was written where the symlink points');
});

test('--open never opens a window a person keeps using without the sandbox: as root it says why (issue 23)', async () => {
  const launched = createLaunchedBrowser();
  try {
    const opened = await launched.open('about:blank', { headless: false, browser: null }).then(() => null, (error: Error) => error.message);
    if (process.getuid?.() === 0) assert.equal(opened, NO_SANDBOX_REFUSAL, 'as root the sandbox cannot start, and the window is not opened');
    else assert.notEqual(opened, NO_SANDBOX_REFUSAL, 'as a normal user the window opens with its sandbox (or fails for want of a display)');
  } finally {
    await launched.close();
  }
});
