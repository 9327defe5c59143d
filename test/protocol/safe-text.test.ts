// What untrusted text from a realm may look like once the daemon writes it into Markdown or prints it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpUrl, isRealmName, markdownUrl, oneLine, printable, visibleControls } from '../../src/protocol/index.js';

test('realm names the page client makes are valid, hostile ones are not', () => {
  for (const name of ['42-fox-1830-12', '42-fox-1830-12-webworker', 'tab', 'Tab_1.b', 'a'.repeat(80)]) assert.equal(isRealmName(name), true, name);
  for (const name of ['', '-tab', '.tab', 'a'.repeat(81), 'tab 1', 'tab\n%%SHUTDOWN%%', 'tab\x1b[31m', 'tab](x)', 'tab`', 'tab/..', 'täb']) {
    assert.equal(isRealmName(name), false, JSON.stringify(name));
  }
});

test('oneLine leaves no line break, control character or backtick and cuts long text', () => {
  assert.equal(oneLine('a\nb\r\nc\td', 100), 'a b  c d');
  assert.equal(oneLine('\x1b[31mred\x9b1m\x7f', 100), '\ufffd[31mred\ufffd1m\ufffd');
  assert.equal(oneLine('x\n```js\nevil()\n```\n', 100), "x '''js evil() ''' ");
  assert.equal(oneLine('a\u2028b', 100), 'a b');
  assert.equal(oneLine('abcdef', 4), 'abc…');
  assert.equal(oneLine('abcd', 4), 'abcd');
});

test('printable keeps line feeds and replaces every other control character', () => {
  assert.equal(printable('Error: x\n    at y\r\n\tz\x1b]0;title\x07\x1b[2J'), 'Error: x\n    at y \n z\ufffd]0;title\ufffd\ufffd[2J');
  assert.doesNotMatch(printable('\x00\x1b\x7f\x85\x9b'), /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
});

test('only http and https URLs are kept', () => {
  assert.equal(httpUrl('http://localhost:8342/shop/?q=1#top'), 'http://localhost:8342/shop/?q=1#top');
  assert.equal(httpUrl('HTTPS://Example.com/a b'), 'https://example.com/a%20b');
  for (const url of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'not a url', '', 'ftp://x/']) assert.equal(httpUrl(url), '', url);
});

test('a URL in Markdown is origin and path only, with nothing that could end the line or a link', () => {
  assert.equal(markdownUrl('http://localhost:8342/shop/?token=secret#frag'), 'http://localhost:8342/shop/');
  assert.equal(markdownUrl('http://[::1]:8342/'), 'http://[::1]:8342/');
  assert.equal(markdownUrl('javascript:alert(1)'), '');
  const hostile = markdownUrl('http://a`b(c)/p a(t)h[1]<2>`x`\u0085/\n%%SHUTDOWN%%');
  assert.equal(hostile, 'http://a%60b%28c%29/p%20a%28t%29h%5B1%5D%3C2%3E%60x%60%C2%85/%%SHUTDOWN%%');
  assert.doesNotMatch(hostile, /[\s`<>()[\]]/);
});

test('visibleControls writes control characters as their escapes and keeps line feeds and tabs', () => {
  assert.equal(visibleControls('a\x1b[31mred\r\n\tok\u2028x\u0085\x00'), 'a\\x1B[31mred\\r\n\tok\\u2028x\\x85\\x00');
});
