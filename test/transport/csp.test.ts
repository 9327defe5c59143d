// A page's Content-Security-Policy opened for daebug's client only (src/transport/csp.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowClient, allowClientInMeta } from '../../src/transport/csp.js';
import { injectIntoHtml } from '../../src/transport/inject.js';

const sources = { nonce: 'bm9uY2U=', origin: 'http://localhost:8751' };
const OWN = 'http://localhost:8751/-daebug/';
// Realms' WebSockets (realm-socket.ts): connect-src gets their URL too.
const WS = 'ws://localhost:8751/-daebug/';

test("script-src 'self' gets the nonce and daebug's URLs; default-src 'none' gets a connect-src for the realm API", () => {
  const { policy, problems } = allowClient("default-src 'none'; script-src 'self'", sources);
  assert.equal(policy, `default-src 'none'; script-src 'self' 'nonce-bm9uY2U=' ${OWN}; connect-src ${OWN} ${WS}`);
  assert.deepEqual(problems, []);
});

test('a policy with only default-src gets script-src and connect-src copied from it, and default-src is left alone', () => {
  const { policy } = allowClient("default-src 'self' https://cdn.example", sources);
  assert.equal(policy, `default-src 'self' https://cdn.example; script-src 'self' https://cdn.example 'nonce-bm9uY2U=' ${OWN}; connect-src 'self' https://cdn.example ${OWN} ${WS}`);
});

test("'unsafe-inline' without a nonce or hash gets no nonce, which would switch it off for the page's own inline scripts", () => {
  const { policy } = allowClient("script-src 'unsafe-inline' https://cdn.example", sources);
  assert.equal(policy, `script-src 'unsafe-inline' https://cdn.example ${OWN}`);
});

test("a nonce-based strict policy with 'strict-dynamic' gets daebug's nonce beside the page's own", () => {
  const { policy } = allowClient("script-src 'nonce-page' 'strict-dynamic' 'unsafe-inline'; object-src 'none'", sources);
  assert.equal(policy, `script-src 'nonce-page' 'strict-dynamic' 'unsafe-inline' 'nonce-bm9uY2U=' ${OWN}; object-src 'none'`);
});

test("'none' is dropped from a directive daebug adds to, and worker-src gets daebug's URLs", () => {
  const { policy } = allowClient("script-src 'none'; worker-src 'none'; connect-src 'self'", sources);
  assert.equal(policy, `script-src 'nonce-bm9uY2U=' ${OWN}; worker-src ${OWN}; connect-src 'self' ${OWN} ${WS}`);
});

test('script-src-elem and script-src both get the nonce', () => {
  const { policy } = allowClient("script-src-elem 'self'; script-src 'self'", sources);
  assert.equal(policy, `script-src-elem 'self' 'nonce-bm9uY2U=' ${OWN}; script-src 'self' 'nonce-bm9uY2U=' ${OWN}`);
});

test('each of several comma-separated policies is opened, since the browser enforces every one', () => {
  const { policy } = allowClient("script-src 'self', connect-src 'none'", sources);
  assert.equal(policy, `script-src 'self' 'nonce-bm9uY2U=' ${OWN}, connect-src ${OWN} ${WS}`);
});

test('a policy that restricts no scripts and no connections is left as it is', () => {
  assert.deepEqual(allowClient("img-src 'self'; frame-ancestors 'none'", sources), { policy: "img-src 'self'; frame-ancestors 'none'", problems: [] });
});

test('what no rewrite can allow is named: a sandbox without allow-scripts, Trusted Types', () => {
  assert.match(allowClient('sandbox allow-forms', sources).problems[0] ?? '', /sandboxes the page without allow-scripts/);
  assert.deepEqual(allowClient('sandbox allow-scripts allow-same-origin', sources).problems, []);
  assert.match(allowClient("require-trusted-types-for 'script'", sources).problems[0] ?? '', /Trusted Types/);
});

test('an IPv6 origin, which has no host-source syntax, is allowed as the page\'s own origin', () => {
  const { policy } = allowClient("script-src 'none'", { ...sources, origin: 'http://[::1]:8751' });
  assert.equal(policy, "script-src 'nonce-bm9uY2U=' 'self'");
});

test('a meta policy is rewritten in its content attribute, entities decoded and encoded again', () => {
  const html = `<head><META http-equiv='Content-Security-Policy' content="default-src &#39;self&#39;"><meta name="x" content="y"></head>`;
  const { html: rewritten } = allowClientInMeta(html, sources);
  assert.equal(rewritten, `<head><META http-equiv='Content-Security-Policy' content="default-src 'self'; script-src 'self' 'nonce-bm9uY2U=' ${OWN}; connect-src 'self' ${OWN} ${WS}"><meta name="x" content="y"></head>`);
});

test('the injected tags carry the nonce; the page\'s own import map is left as it is, without it (issue 23)', () => {
  const injection = { clientUrl: '/-daebug/client.js?t=abc', imports: { 'node:test': '/-daebug/node-test.js' }, nonce: 'bm9uY2U=' };
  assert.equal(
    injectIntoHtml('<html><head></head></html>', injection),
    '<html><head><script type="importmap" nonce="bm9uY2U=">{"imports":{"node:test":"/-daebug/node-test.js"}}</script><script src="/-daebug/client.js?t=abc" nonce="bm9uY2U="></script></head></html>',
  );
  const pageMap = '<script type="importmap">{"imports":{"x":"/x.js"}}</script>';
  assert.equal(
    injectIntoHtml(`<head>${pageMap}</head>`, injection),
    `<head><script src="/-daebug/client.js?t=abc" nonce="bm9uY2U="></script>${pageMap}<script type="importmap" nonce="bm9uY2U=">{"imports":{"node:test":"/-daebug/node-test.js"}}</script></head>`,
  );
  const ownNonce = injectIntoHtml('<head><script type="importmap" nonce="page">{"imports":{}}</script></head>', injection);
  assert.match(ownNonce, /<script type="importmap" nonce="page">\{"imports":\{\}\}<\/script>/);
  // Markup an attacker got into the page, wherever it is, never gets daebug's nonce.
  for (const planted of [
    '<body><textarea><script type="importmap">{"imports":{"app":"https://evil.example/x.js"}}</script></textarea></body>',
    '<body><p>comment: <script type=importmap>{"imports":{"app":"data:text/javascript,alert(1)"}}</script></p></body>',
  ]) {
    const page = injectIntoHtml(`<html><head><title>shop</title></head>${planted}</html>`, injection);
    assert.ok(page.includes(planted.slice(planted.indexOf('<script'), planted.indexOf('</script>') + 9)), 'the planted map is left as it was');
    assert.equal((page.match(/nonce="bm9uY2U="/g) ?? []).length, 2, `only daebug's own two tags carry the nonce:\n${page}`);
    assert.match(page, /^<html><head><script type="importmap" nonce="bm9uY2U=">.*?<\/script><script src="[^"]+" nonce="bm9uY2U="><\/script><title>/, 'daebug\'s own map and client open the head');
  }
});
