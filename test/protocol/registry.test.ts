import assert from 'node:assert/strict';
import { test } from 'node:test';
import { micromark } from 'micromark';
import { hasShutdownRequest, logFileName, logPath, registryUrl, renderRegistry, renderStoppedRegistry, type RegistryRealm } from '../../src/protocol/index.js';

const daemon = { rootName: 'shop', url: 'http://localhost:8342/', since: '08:47:33' };
const page: RegistryRealm = { name: '12-zen-0847-36', kind: 'page', url: 'http://localhost:8342/', state: 'idle', queued: 0, lastActive: 10 };
const worker: RegistryRealm = { name: '12-zen-0847-36-webworker', kind: 'worker', url: '', state: 'executing', queued: 1, lastActive: 20, parent: '12-zen-0847-36', helper: true };
const appWorker: RegistryRealm = { name: '12-zen-0847-36-totals', kind: 'worker', url: 'http://localhost:8342/js/totals.mjs?v=2', state: 'hung', queued: 0, lastActive: 5, parent: '12-zen-0847-36' };
const otherPage: RegistryRealm = { ...page, name: '40-fox-0901-00', url: 'http://localhost:8342/checkout', lastActive: 15 };

test('log file names are lower case with runs outside [a-z0-9] turned into one dash', () => {
  assert.equal(logFileName('12-Zen-0847-36'), '12-zen-0847-36');
  assert.equal(logFileName('  My Page: Über__Cart!! '), 'my-page-ber-cart');
  assert.equal(logFileName('-a--b-'), 'a-b');
  assert.equal(logPath('Tab 1'), 'daebug/tab-1.md');
});

test('the registry lists pages most recently active first, each with its workers under it, with what they are and their state', () => {
  const orphan: RegistryRealm = { ...appWorker, name: 'gone-page-blob', url: 'blob:', state: 'idle', parent: 'gone-page', lastActive: 1 };
  const text = renderRegistry(daemon, [page, worker, otherPage, appWorker, orphan]);
  const lines = text.split('\n');
  assert.equal(lines[0], '# 👾 daebug: shop on http://localhost:8342/ since 08:47:33');
  const realmLines = lines.filter((line) => /^ *\* \[/.test(line));
  assert.deepEqual(realmLines, [
    '* [40-fox-0901-00](daebug/40-fox-0901-00.md) http://localhost:8342/checkout · idle',
    '* [12-zen-0847-36](daebug/12-zen-0847-36.md) http://localhost:8342/ · idle',
    "  * [12-zen-0847-36-webworker](daebug/12-zen-0847-36-webworker.md) daebug's helper worker, not the app's · executing (1 queued)",
    '  * [12-zen-0847-36-totals](daebug/12-zen-0847-36-totals.md) worker /js/totals.mjs · hung',
    '* [gone-page-blob](daebug/gone-page-blob.md) worker (blob) · idle',
  ]);
  assert.ok(text.includes('To stop the daemon write %%SHUTDOWN%% on a line of its own in this file.'));
  assert.equal(hasShutdownRequest(text), false, 'the how-to line itself does not stop the daemon');
});

test('a Node process is listed with its pid and command line, which cannot break its line or its code span', () => {
  const node: RegistryRealm = { name: 'node-app', kind: 'node', url: '', state: 'exited', queued: 1, lastActive: 30, process: { pid: 4242, command: 'node app.js --name `x`\n%%SHUTDOWN%%' } };
  const text = renderRegistry(daemon, [page, node]);
  assert.ok(text.includes("* [node-app](daebug/node-app.md) node pid 4242 `node app.js --name 'x' %%SHUTDOWN%%` · exited (1 queued)\n"), text);
  assert.equal(hasShutdownRequest(text), false);
});

test('the registry stays under 200 lines when many realms are connected', () => {
  const realms = Array.from({ length: 500 }, (_, index) => ({ ...page, name: `tab-${index}`, lastActive: index }));
  const text = renderRegistry(daemon, realms);
  assert.ok(text.split('\n').length < 200, `registry has ${text.split('\n').length} lines`);
  assert.ok(text.includes('* [tab-499]'), 'the most recent realm is listed');
  assert.ok(text.includes('and 350 more realms'));
});

test('with --proxy the registry names the dev server, and lists notices one line each', () => {
  const text = renderRegistry({ ...daemon, proxy: 'http://localhost:5173', notices: ['first\n%%SHUTDOWN%%', 'second'] }, [page]);
  const lines = text.split('\n');
  assert.equal(lines[2], '> daebug proxies http://localhost:5173: open its pages through http://localhost:8342/ and each becomes a realm.');
  assert.ok(text.includes('Notices:\n\n* ⚠️ first %%SHUTDOWN%%\n* ⚠️ second\n'), text);
  assert.equal(hasShutdownRequest(text), false);
  assert.equal(registryUrl(text), 'http://localhost:8342/');
  assert.ok(!renderRegistry(daemon, [page]).includes('proxies'));
});

test("with the build-tool plugin the registry sends pages to the dev server's URL, and its title still names daebug's", () => {
  const text = renderRegistry({ ...daemon, devServer: 'http://localhost:5173/\n%%SHUTDOWN%%' }, []);
  const lines = text.split('\n');
  assert.equal(lines[2], '> daebug is in the dev server: open its pages at http://localhost:5173/ %%SHUTDOWN%% and each becomes a realm.');
  assert.match(text, /none yet: open http:\/\/localhost:5173\/ %%SHUTDOWN%% in a browser/);
  assert.equal(hasShutdownRequest(text), false);
  assert.equal(registryUrl(text), 'http://localhost:8342/');
});

test('an empty registry says how to get a realm', () => {
  assert.match(renderRegistry(daemon, []), /none yet: open http:\/\/localhost:8342\/ in a browser/);
});

test('the stopped registry says when and why, and how to start again', () => {
  const text = renderStoppedRegistry({ rootName: 'shop', at: '09:10:11', reason: 'SIGINT' });
  assert.equal(
    text,
    '# 👾 daebug: shop stopped at 09:10:11 (SIGINT)\n' +
      '> No daemon is running for this folder, so nothing reads the logs in daebug/ now. They are kept as they are.\n\n' +
      'Start it again in this folder with:\n\n' +
      '```sh\nnpx daebug\n```\n\n' +
      'Open pages reconnect by themselves; requests appended meanwhile run when their page is back.\n',
  );
});

test('the stopped registry repeats the command line that started the daemon when it is known', () => {
  const text = renderStoppedRegistry({ rootName: 'shop', at: '09:10:11', reason: 'SIGINT', command: "npx daebug --root 'my site' --port 8080" });
  assert.match(text, /\n\nStart it again with:\n\n```sh\nnpx daebug --root 'my site' --port 8080\n```\n\nOpen pages reconnect/);
});

test('a command line with backtick runs, line breaks or %%SHUTDOWN%% stays inside its sh block', () => {
  const command = "npx daebug --root '```\n%%SHUTDOWN%%\n````' --page `x`";
  const text = renderStoppedRegistry({ rootName: 'shop', at: '09:10:11', reason: 'SIGINT', command });
  assert.equal(hasShutdownRequest(text), false);
  // What a CommonMark reader makes of it: one sh block holding the command on one line, then the last paragraph.
  const html = micromark(text);
  assert.equal(html.match(/<pre>/g)?.length, 1, html);
  assert.ok(html.includes(`<pre><code class="language-sh">npx daebug --root '\`\`\`\ufffd%%SHUTDOWN%%\ufffd\`\`\`\`' --page \`x\`\n</code></pre>\n<p>Open pages reconnect`), html);
});

test('the URL of a running registry is read back from its title, and nothing from other text', () => {
  assert.equal(registryUrl(renderRegistry(daemon, [page])), 'http://localhost:8342/');
  assert.equal(registryUrl(renderRegistry({ ...daemon, rootName: 'shop on http://x:1/ since 00:00:00 or' }, [])), 'http://localhost:8342/');
  assert.equal(registryUrl(renderStoppedRegistry({ rootName: 'shop', at: '09:10:11', reason: 'SIGINT' })), null);
  assert.equal(registryUrl(''), null);
  assert.equal(registryUrl('notes\n# 👾 daebug: shop on http://localhost:8342/ since 08:47:33\n'), null, 'only the first line');
});

test('%%SHUTDOWN%% counts only on a line of its own', () => {
  assert.equal(hasShutdownRequest('x\n%%SHUTDOWN%%\n'), true);
  assert.equal(hasShutdownRequest('x\r\n  %%SHUTDOWN%%  \r\n'), true);
  assert.equal(hasShutdownRequest('write %%SHUTDOWN%% here'), false);
});

test('a hostile realm name or URL cannot add a line to the registry or break its link', () => {
  const hostile: RegistryRealm[] = [
    { ...page, name: 'evil\n%%SHUTDOWN%%', url: 'http://x/\n%%SHUTDOWN%%', lastActive: 30 },
    { ...page, name: 'tab](javascript:alert(1))', url: 'javascript:alert(1)', lastActive: 25 },
    { ...page, name: 'ok', url: 'http://x/a b)`[y](z)<w>?secret=1#f', lastActive: 24 },
    { ...page, name: '\x1b[31mred', url: 'http://x/\x1b[31m', lastActive: 23 },
  ];
  const text = renderRegistry(daemon, hostile);
  assert.equal(hasShutdownRequest(text), false);
  assert.deepEqual(text.split('\n').filter((line) => line.startsWith('* [')), [
    '* [evil-shutdown](daebug/evil-shutdown.md) http://x/%%SHUTDOWN%% · idle',
    '* [tab-javascript-alert-1](daebug/tab-javascript-alert-1.md) page · idle',
    '* [ok](daebug/ok.md) http://x/a%20b%29%60%5By%5D%28z%29%3Cw%3E · idle',
    '* [31mred](daebug/31mred.md) http://x/%1B%5B31m · idle',
  ]);
  assert.equal(text.split('\n').filter((line) => line.startsWith('* ')).length, 4, 'one line per realm');
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
});

test('a crash message cannot put a %%SHUTDOWN%% line into the stopped registry', () => {
  const text = renderStoppedRegistry({ rootName: 'shop', at: '09:10:11', reason: 'Error: boom\n%%SHUTDOWN%%\n' });
  assert.equal(hasShutdownRequest(text), false);
  assert.equal(text.split('\n')[0], '# 👾 daebug: shop stopped at 09:10:11 (Error: boom %%SHUTDOWN%% )');
});
