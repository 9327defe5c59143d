import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasShutdownRequest, logFileName, logPath, renderRegistry, renderStoppedRegistry, type RegistryRealm } from '../../src/protocol/index.js';

const daemon = { rootName: 'shop', url: 'http://localhost:8342/', since: '08:47:33' };
const page: RegistryRealm = { name: '12-zen-0847-36', kind: 'page', url: 'http://localhost:8342/', state: 'idle', queued: 0, lastActive: 10 };
const worker: RegistryRealm = { name: '12-zen-0847-36-webworker', kind: 'worker', url: 'http://localhost:8342/', state: 'executing', queued: 1, lastActive: 20 };

test('log file names are lower case with runs outside [a-z0-9] turned into one dash', () => {
  assert.equal(logFileName('12-Zen-0847-36'), '12-zen-0847-36');
  assert.equal(logFileName('  My Page: Über__Cart!! '), 'my-page-ber-cart');
  assert.equal(logFileName('-a--b-'), 'a-b');
  assert.equal(logPath('Tab 1'), 'daebug/tab-1.md');
});

test('the registry lists realms most recently active first, with kind and state', () => {
  const text = renderRegistry(daemon, [page, worker]);
  const lines = text.split('\n');
  assert.equal(lines[0], '# 👾 daebug: shop on http://localhost:8342/ since 08:47:33');
  const realmLines = lines.filter((line) => line.startsWith('* ['));
  assert.deepEqual(realmLines, [
    '* [12-zen-0847-36-webworker](daebug/12-zen-0847-36-webworker.md) worker · executing (1 queued)',
    '* [12-zen-0847-36](daebug/12-zen-0847-36.md) http://localhost:8342/ · idle',
  ]);
  assert.ok(text.includes('To stop the daemon write %%SHUTDOWN%% on a line of its own in this file.'));
  assert.equal(hasShutdownRequest(text), false, 'the how-to line itself does not stop the daemon');
});

test('the registry stays under 200 lines when many realms are connected', () => {
  const realms = Array.from({ length: 500 }, (_, index) => ({ ...page, name: `tab-${index}`, lastActive: index }));
  const text = renderRegistry(daemon, realms);
  assert.ok(text.split('\n').length < 200, `registry has ${text.split('\n').length} lines`);
  assert.ok(text.includes('* [tab-499]'), 'the most recent realm is listed');
  assert.ok(text.includes('and 350 more realms'));
});

test('an empty registry says how to get a realm', () => {
  assert.match(renderRegistry(daemon, []), /none yet: open http:\/\/localhost:8342\/ in a browser/);
});

test('the stopped registry says when and why, and how to start again', () => {
  const text = renderStoppedRegistry({ rootName: 'shop', at: '09:10:11', reason: 'SIGINT' });
  assert.equal(text.split('\n')[0], '# 👾 daebug: shop stopped at 09:10:11 (SIGINT)');
  assert.match(text, /npx daebug/);
  assert.ok(!/^\* \[/m.test(text), 'no realm list');
});

test('%%SHUTDOWN%% counts only on a line of its own', () => {
  assert.equal(hasShutdownRequest('x\n%%SHUTDOWN%%\n'), true);
  assert.equal(hasShutdownRequest('x\r\n  %%SHUTDOWN%%  \r\n'), true);
  assert.equal(hasShutdownRequest('write %%SHUTDOWN%% here'), false);
});
