// Static files over real HTTP: injection, folders, names, caching, and every way out of the root.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rawRequest, startTestServer } from '../helpers/serve.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

const outside = tempRoot();
writeFileSync(join(outside, 'secret.txt'), 'outside the root');

const server = await startTestServer((root) => {
  writeFileSync(join(root, 'index.html'), '<!doctype html><html><head><title>t</title></head><body><p>hi</p></body></html>');
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', 'index.html'), '<p>no head</p>');
  writeFileSync(join(root, 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'style.css'), 'p{}');
  writeFileSync(join(root, 'café menu.txt'), 'non-ascii and a space');
  writeFileSync(join(root, 'own-map.html'), '<html><head><script type="importmap">{"imports":{"node:test":"/mine.js","x":"/x.js"}}</script></head><body></body></html>');
  writeFileSync(join(root, '.env'), 'SECRET=1');
  writeFileSync(join(root, '.env.local'), 'SECRET=2');
  mkdirSync(join(root, '.git'));
  writeFileSync(join(root, '.git', 'config'), '[core]');
  writeFileSync(join(root, 'server.key'), 'key');
  writeFileSync(join(root, 'cert.pem'), 'pem');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(outside, join(root, 'dir-out'));
  writeFileSync(join(root, 'daebug', 'tab-1.md'), 'a log of tab-1');
  symlinkSync(join(root, 'daebug'), join(root, 'logs-link'));
  symlinkSync(join(root, 'daebug.md'), join(root, 'registry-link.md'));
  writeFileSync(join(root, 'sub', 'secret.txt'), 'sub secret');
  writeFileSync(join(root, 'a#b.txt'), 'hash in the name');
  writeFileSync(join(root, 'a%2Fb.txt'), 'percent in the name');
  writeFileSync(join(root, 'a?b.txt'), 'question mark in the name');
  writeFileSync(join(root, '@x.txt'), 'at sign');
  writeFileSync(join(root, '%40x.txt'), 'the other file');
  mkdirSync(join(root, 'example.com'));
  writeFileSync(join(root, 'page.unknownext'), 'bytes');
});

test('a folder serves its index.html with the import map and the client script at the start of <head>', async () => {
  const response = await fetch(server.at('/'));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  const html = await response.text();
  assert.match(html, new RegExp(`<head><script type="importmap">\\{"imports":\\{"node:test":"/-daebug/node-test.js","node:assert":"/-daebug/node-assert.js","node:assert/strict":"/-daebug/node-assert-strict.js"\\}\\}</script><script src="/-daebug/client.js\\?t=${server.pageToken}"></script><title>`));
});

test('a folder without a trailing slash redirects, and a page without <head> still gets the client', async () => {
  const redirect = await fetch(server.at('/sub'), { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/sub/');
  const html = await (await fetch(server.at('/sub/'))).text();
  assert.ok(html.startsWith('<script type="importmap">'), html);
  assert.ok(html.endsWith('<p>no head</p>'));
});

test("the page's own import map is merged and its entries win", async () => {
  const html = await (await fetch(server.at('/own-map.html'))).text();
  const map = JSON.parse(/<script type="importmap">(.*?)<\/script>/.exec(html)![1]!) as { imports: Record<string, string> };
  assert.equal(map.imports['node:test'], '/mine.js');
  assert.equal(map.imports['node:assert'], '/-daebug/node-assert.js');
  assert.equal(map.imports.x, '/x.js');
  assert.equal((html.match(/importmap/g) ?? []).length, 1, 'still one import map');
});

test('scripts are served with a JavaScript type and no-store; other files with their type', async () => {
  const script = await fetch(server.at('/app.js'));
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
  assert.equal(script.headers.get('cache-control'), 'no-store');
  assert.equal(await script.text(), 'console.log(1)');
  assert.match((await fetch(server.at('/style.css'))).headers.get('content-type') ?? '', /text\/css/);
});

test('URL-encoded and non-ASCII file names work', async () => {
  const response = await fetch(server.at('/caf%C3%A9%20menu.txt'));
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'non-ascii and a space');
});

test('no path leaves the root, in any encoding or through a symlink', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt', '/sub/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%252e%252e/secret.txt', '/link-out.txt', '/dir-out/secret.txt', '/%00']) {
    const response = await rawRequest(server.url, { path });
    assert.ok([400, 404].includes(response.status), `${path} gave ${response.status}`);
    assert.ok(!response.body.includes('outside the root'), `${path} leaked the file`);
  }
});

test('dotfiles, .git, .env files, keys and certificates are never served', async () => {
  for (const path of ['/.env', '/.env.local', '/.git/config', '/server.key', '/cert.pem', '/%2egit/config']) {
    const response = await rawRequest(server.url, { path });
    assert.equal(response.status, 404, path);
  }
});

test('only GET and HEAD are served', async () => {
  assert.equal((await fetch(server.at('/app.js'), { method: 'HEAD' })).status, 200);
  assert.equal((await rawRequest(server.at('/app.js'), { method: 'DELETE' })).status, 405);
});

test("the daemon's files (daebug.md, daebug/, .daebug/) are a 404 like a missing file, in any spelling, encoding or through a symlink", async () => {
  await waitFor(() => existsSync(join(server.root, 'daebug.md')), 'the registry');
  const registry = readFileSync(join(server.root, 'daebug.md'), 'utf8');
  const paths = [
    '/daebug.md', '/DAEBUG.MD', '/Daebug.md', '/daebug.md.', '/daebug.md%20', '/daebug.md/', '/%64aebug.md', '/./daebug.md', '/daebug/../daebug.md', '//daebug.md',
    '/daebug/tab-1.md', '/daebug/', '/daebug', '/DAEBUG/tab-1.md', '/daebug./tab-1.md', '/daebug%2Ftab-1.md', '/daebug%2ftab-1.md', '/./daebug/tab-1.md', '/sub/../daebug/tab-1.md', '/daebug//tab-1.md',
    '/.daebug/', '/.daebug/.gitignore', '/%2Edaebug/.gitignore',
    '/logs-link/tab-1.md', '/logs-link/', '/registry-link.md',
  ];
  for (const path of paths) {
    const response = await rawRequest(server.url, { path });
    assert.equal(response.status, 404, `${path} gave ${response.status}`);
    assert.ok(!response.body.includes('a log of tab-1') && (registry === '' || !response.body.includes(registry)), `${path} leaked a log`);
    assert.equal(response.body, `404 Not Found: ${path}`, path);
  }
});

test('when daebug/ is itself a symlink to another folder of the root, that folder is not served either', async () => {
  const linked = await startTestServer((root) => {
    rmSync(join(root, 'daebug'), { recursive: true });
    mkdirSync(join(root, 'logs'));
    writeFileSync(join(root, 'logs', 'tab-9.md'), 'a log of tab-9');
    symlinkSync(join(root, 'logs'), join(root, 'daebug'));
  });
  for (const path of ['/logs/tab-9.md', '/daebug/tab-9.md', '/logs/']) {
    const response = await rawRequest(linked.url, { path });
    assert.equal(response.status, 404, `${path} gave ${response.status}`);
    assert.ok(!response.body.includes('a log of tab-9'), `${path} leaked a log`);
  }
});

test('a file name with #, ? or % is served for the URL that encodes it, and only that file', async () => {
  for (const [path, text] of [['/a%23b.txt', 'hash in the name'], ['/a%3Fb.txt', 'question mark in the name'], ['/a%252Fb.txt', 'percent in the name'], ['/%40x.txt', 'at sign'], ['/%2540x.txt', 'the other file']]) {
    const response = await rawRequest(server.url, { path: path! });
    assert.equal(response.status, 200, path);
    assert.equal(response.body, text, path);
  }
});

test('an encoded slash is part of a name, not a separator: /sub%2Fsecret.txt is not sub/secret.txt', async () => {
  assert.equal((await rawRequest(server.url, { path: '/sub/secret.txt' })).status, 200);
  const response = await rawRequest(server.url, { path: '/sub%2Fsecret.txt' });
  assert.equal(response.status, 404);
  assert.ok(!response.body.includes('sub secret'));
});

test('a missing file is a short plain-text 404, as any static server sends', async () => {
  const response = await rawRequest(server.url, { path: '/no/such%20file.txt' });
  assert.equal(response.status, 404);
  assert.match(String(response.headers['content-type']), /^text\/plain/);
  assert.equal(response.body, '404 Not Found: /no/such%20file.txt');
});

test('every static answer says nosniff: files, pages, folders, redirects, refusals and missing files', async () => {
  for (const path of ['/app.js', '/', '/sub', '/page.unknownext', '/.env', '/missing.txt', '/%E0%A4%A']) {
    const response = await rawRequest(server.url, { path });
    assert.equal(response.headers['x-content-type-options'], 'nosniff', `${path} (${response.status})`);
  }
  assert.equal((await rawRequest(server.url, { path: '/app.js', method: 'DELETE' })).headers['x-content-type-options'], 'nosniff');
});

test('a folder redirect points at this server, never at another host', async () => {
  for (const [path, location] of [['//example.com', '/example.com/'], ['///example.com', '/example.com/'], ['//sub', '/sub/'], ['/sub?x=1', '/sub/?x=1'], ['//example.com?a=//b', '/example.com/?a=//b']]) {
    const response = await rawRequest(server.url, { path: path! });
    assert.equal(response.status, 301, path);
    assert.equal(response.headers.location, location, path);
  }
  for (const path of ['/\\example.com', '/%2F%2Fexample.com', '/%5C%5Cexample.com', '/%2Fexample.com']) {
    const response = await rawRequest(server.url, { path });
    assert.ok(response.status === 404 || !String(response.headers.location).match(/^(\/\/|\/\\|\\)/), `${path} gave ${response.status} ${response.headers.location}`);
  }
});
