// The package as users get it: `npm pack`, installed into an empty folder, run with npx.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../helpers/cli.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

const repo = new URL('../..', import.meta.url).pathname;
const manifest = JSON.parse(execFileSync('npm', ['pkg', 'get', 'version', 'name'], { cwd: repo, encoding: 'utf8' })) as { version: string };

test('the packed tarball installs into an empty folder, answers npx daebug --version and serves a folder', { timeout: 180_000 }, async () => {
  const work = tempRoot();
  execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made a tarball');
  const listing = execFileSync('tar', ['-tzf', join(work, tarball)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(listing.every((path) => path === 'package/package.json' || path === 'package/README.md' || path === 'package/LICENSE' || path.startsWith('package/dist/')), `only what runs is packed:\n${listing.join('\n')}`);
  for (const needed of ['package/dist/cli/main.js', 'package/dist/client/page.js', 'package/dist/client/worker.js']) assert.ok(listing.includes(needed), needed);

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"app","private":true}');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', join(work, tarball)], { cwd: app, stdio: ['ignore', 'ignore', 'inherit'] });
  assert.equal(execFileSync('npx', ['--no-install', 'daebug', '--version'], { cwd: app, encoding: 'utf8' }), `${manifest.version}\n`);

  const site = join(app, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<html><head><title>installed</title></head><body></body></html>');
  const port = await freePort();
  // The installed bin itself (npx would stand between the signal and daebug).
  const child = spawn(join(app, 'node_modules', '.bin', 'daebug'), ['--root', 'site', '--port', String(port)], { cwd: app, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  const exit = new Promise((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => out.includes(`open http://localhost:${port}/`), 'the banner', 20_000);
    const html = await (await fetch(`http://localhost:${port}/`)).text();
    assert.match(html, /<script src="\/-daebug\/client\.js\?t=[\w-]+"><\/script><title>installed<\/title>/);
    const client = await fetch(`http://localhost:${port}/-daebug/client.js`);
    assert.equal(client.status, 200);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exit, 143);
  }
});
