// The built CLI with --proxy: a bare port names a dev server on localhost, the banner says what daebug
// proxies, pages come back with the client, and the stopped registry repeats the command line.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, startCli } from '../helpers/cli.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

test('daebug --proxy <port> passes a dev server on localhost on, with the client in its pages', async (t) => {
  const dev = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><head><title>from the dev server</title></head></html>');
  });
  // Every address: localhost may resolve to ::1 or to 127.0.0.1.
  await new Promise<void>((resolve) => dev.listen(0, () => resolve()));
  t.after(() => new Promise<void>((resolve) => dev.close(() => resolve())));
  const devPort = (dev.address() as AddressInfo).port;
  const root = join(tempRoot(), 'app');
  mkdirSync(root);
  const port = await freePort();
  const running = startCli(t, ['--root', root, '--port', String(port), '--proxy', String(devPort)]);
  await waitFor(() => running.out().includes('open http://localhost:') || running.child.exitCode !== null, 'the banner', 15_000);
  assert.match(running.out(), new RegExp(`^👾 daebug \\S+ proxying http://localhost:${devPort} \\(logs in ${root.replace(/[.]/g, '\\.')}\\)$`, 'm'));
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  assert.match(page, /<head><script type="importmap"[^>]*>.*<\/script><script src="\/-daebug\/client\.js\?t=[\w-]+" nonce="[^"]+"><\/script><title>from the dev server<\/title>/);
  assert.match(readFileSync(join(root, 'daebug.md'), 'utf8'), new RegExp(`^> daebug proxies http://localhost:${devPort}: `, 'm'));
  running.child.kill('SIGTERM');
  assert.equal(await running.exit, 143);
  assert.ok(readFileSync(join(root, 'daebug.md'), 'utf8').includes(`--proxy ${devPort}`), 'the stopped registry repeats --proxy');
});
