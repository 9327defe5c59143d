// `daebug eval` and `daebug realms` (the built CLI, a child process) against pages in headless
// Chromium: a value, a thrown error, no answer in time, several realms, code from standard input,
// and no daebug at all. The request and its answer stay in the realm's log, the transcript.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { logPath } from '../../src/protocol/registry.js';
import { launchBrowser } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/serve.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';

const browser: Browser = await launchBrowser();
after(() => browser.close());

const server = await startTestServer((root) => {
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>eval page</title><script>window.cart = { items: 3 };</script>');
  writeFileSync(join(root, 'other.html'), '<!doctype html><title>other page</title>');
});

async function openRealm(path: string): Promise<{ page: Page; name: string }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.at(path));
  const name = await page.waitForFunction(() => (globalThis as { __daebug?: { realm: string } }).__daebug?.realm).then((handle) => handle.jsonValue() as Promise<string>);
  await waitFor(async () => (await fetch(server.at('/-daebug/realms'), { headers: { 'x-daebug-token': server.toolToken } }).then((response) => response.json() as Promise<{ name: string }[]>)).some((realm) => realm.name === name), `${name} connected`, 10_000);
  return { page, name };
}

const first = await openRealm('/');

test('eval prints the answer to the code, exit 0, and leaves request and answer in the log', async (t) => {
  const result = await runCli(t, ['eval', '--root', server.root, 'document.title + " · " + cart.items']);
  assert.equal(result.code, 0, result.err);
  assert.match(result.out, new RegExp(`^#### 👍${first.name} at \\d\\d:\\d\\d:\\d\\d \\(\\d+ms\\)\\n\`\`\`JSON\\n"eval page · 3"\\n\`\`\`\\n$`, 'u'));
  const log = readText(join(server.root, logPath(first.name)));
  assert.match(log, /```js\ndocument\.title \+ " · " \+ cart\.items\n```\n+#### 👍/u, 'the log has the request and its answer under it');
});

test('eval in a log with a long history (more than it looks back over) still finds its answer', async (t) => {
  const log = join(server.root, logPath(first.name));
  appendFileSync(log, `${'an earlier note of the agent, kept in the history\n'.repeat(3_000)}\n`);
  await waitFor(() => /> Append your JavaScript snippet below to execute against this page\. <!-- v\w+ -->$/.test(readText(log).trimEnd()), 'the note moved above the footer', 5_000);
  const result = await runCli(t, ['eval', '--root', server.root, '"after " + 150000']);
  assert.equal(result.code, 0, result.err);
  assert.match(result.out, /```JSON\n"after 150000"\n```/);
});

test('eval of code that throws prints the 🚫 answer with the error, exit 1', async (t) => {
  const result = await runCli(t, ['eval', '--root', server.root, 'console.log("before"); throw new TypeError("no cart here")']);
  assert.equal(result.code, 1, result.err);
  assert.match(result.out, /^#### 🚫/u);
  assert.match(result.out, /TypeError: no cart here/);
  assert.match(result.out, /before/, 'the console output of the request comes with it');
});

test('eval that gets no answer within --timeout says so on stderr, exit 2; the answer comes into the log later', async (t) => {
  const result = await runCli(t, ['eval', '--root', server.root, '--timeout', '300', 'await new Promise((resolve) => setTimeout(resolve, 1000)); "late"']);
  assert.equal(result.code, 2);
  assert.equal(result.out, '');
  assert.match(result.err, new RegExp(`no answer from ${first.name} within 300 ms; the request stays in ${logPath(first.name).replace(/[.]/g, '\\.')}`));
  await waitFor(() => readText(join(server.root, logPath(first.name))).includes('"late"'), 'the late answer in the log', 5_000);
});

test('code from standard input with -', async () => {
  const child = spawn(process.execPath, [new URL('../../dist/cli/main.js', import.meta.url).pathname, 'eval', '--root', server.root, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stdin.end('const answer = 6 * 7;\nanswer\n');
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0);
  assert.match(out, /```JSON\n42\n```/);
});

test('with several pages eval lists the realms unless --realm chooses one (by name or URL; a page before its workers); realms lists them', async (t) => {
  const second = await openRealm('/other.html');
  const unchosen = await runCli(t, ['eval', '--root', server.root, '1']);
  assert.equal(unchosen.code, 2);
  assert.match(unchosen.err, /2 pages: choose a realm with --realm/);
  assert.ok(unchosen.err.includes(first.name) && unchosen.err.includes(second.name), unchosen.err);

  const byUrl = await runCli(t, ['eval', '--root', server.root, '--realm', 'other.html', 'document.title']);
  assert.equal(byUrl.code, 0, byUrl.err);
  assert.match(byUrl.out, new RegExp(`^#### 👍${second.name} `, 'u'));
  assert.match(byUrl.out, /"other page"/);
  const byName = await runCli(t, ['eval', '--root', server.root, '--realm', first.name, 'document.title']);
  assert.match(byName.out, /"eval page"/);
  const worker = await runCli(t, ['eval', '--root', server.root, '--realm', `${second.name}-webworker`, 'typeof document']);
  assert.match(worker.out, new RegExp(`^#### 👍${second.name}-webworker [^]*"undefined"`, 'u'), 'a worker by its name');
  const none = await runCli(t, ['eval', '--root', server.root, '--realm', 'no-such-page', '1']);
  assert.equal(none.code, 2);
  assert.match(none.err, /no realm matches --realm "no-such-page"/);

  const listed = await runCli(t, ['realms', '--root', server.root]);
  assert.equal(listed.code, 0);
  assert.match(listed.out, new RegExp(`^\\* \\[${second.name}\\]\\(daebug/\\S+\\.md\\) http://localhost:\\d+/other\\.html · idle$`, 'm'));
  assert.match(listed.out, new RegExp(`^\\* \\[${first.name}\\]`, 'm'));
  assert.match(listed.out, new RegExp(`^\\* \\[${second.name}\\].*\\n  \\* \\[${second.name}-webworker\\]`, 'm'), 'a page with its worker under it');
  // Each line as daebug.md has it (issue 26, item 8): the helper worker is said to be daebug's.
  const registry = readFileSync(join(server.root, 'daebug.md'), 'utf8');
  for (const name of [second.name, `${second.name}-webworker`]) {
    const line = new RegExp(`^ *\\* \\[${name}\\]\\(.*$`, 'm');
    assert.equal(line.exec(listed.out)?.[0], line.exec(registry)?.[0], `${name} as daebug.md lists it`);
  }
  assert.match(listed.out, /daebug's helper worker, not the app's · idle/);
  await second.page.context().close();
});

test('eval and realms in a folder no daebug serves say so, exit 2', async (t) => {
  const empty = tempRoot();
  for (const args of [['eval', '--root', empty, '1'], ['realms', '--root', empty]]) {
    const result = await runCli(t, args);
    assert.equal(result.code, 2);
    assert.match(result.err, /no daebug serves .*: start it there with npx daebug/);
  }
  const unknown = await runCli(t, ['eval', '--port', '1', '1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown option --port for daebug eval/);
});

test('eval shows the control characters a realm sent instead of passing them to the terminal (issue 23)', async (t) => {
  const result = await runCli(t, ['eval', '--root', server.root, '--realm', first.name, 'console.log("\\x1b[2J\\x1b]0;owned\\x07title\\rover"); "\\x1b[31mred"']);
  assert.equal(result.code, 0, result.err);
  assert.doesNotMatch(result.out, /[\x1b\x07\r]/, 'no escape, bell or carriage return reaches the terminal');
  assert.ok(result.out.includes('\\x1B[2J\\x1B]0;owned\\x07title\\rover'), result.out);
});
