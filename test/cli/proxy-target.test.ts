import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyTarget } from '../../src/cli/proxy-target.js';

const origin = (text: string) => {
  const target = parseProxyTarget(text);
  return target.ok ? target.url.origin : `refused: ${target.reason}`;
};

test('a bare port means that port on localhost', () => {
  assert.equal(origin('5173'), 'http://localhost:5173');
});

test('an http or https origin is taken as it is, a host without a scheme as http', () => {
  assert.equal(origin('http://localhost:5173'), 'http://localhost:5173');
  assert.equal(origin('http://localhost:5173/'), 'http://localhost:5173');
  assert.equal(origin('https://127.0.0.1:3000'), 'https://127.0.0.1:3000');
  assert.equal(origin('localhost:8080'), 'http://localhost:8080');
});

test('ports out of range, other schemes, paths and credentials are refused with a reason', () => {
  assert.match(origin('70000'), /refused: --proxy 70000: a port is a whole number from 1 to 65535/);
  assert.match(origin('ftp://localhost:21'), /refused: .*not ftp:/);
  assert.match(origin('http://localhost:5173/app/'), /refused: .*give the dev server's origin \(such as http:\/\/localhost:5173\)/);
  assert.match(origin('http://user:pw@localhost:5173'), /refused/);
  assert.match(origin('http://exa mple'), /refused: .*neither a port nor a URL/);
});
