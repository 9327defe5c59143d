// The built CLI as users run it: ports, fallback, takeover, foreign ports, banner, JSON logs, stops.
// Every daemon a test starts is stopped when the test ends (startCli), and no test needs a fixed port
// of the machine: folder names are fresh and chosen so that the derived ports they need are free.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { candidatePorts, derivePort } from '../../src/cli/port.js';
import { freePort, nameWithFreePorts, startCli, type CliProcess } from '../helpers/cli.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

async function listening(running: CliProcess): Promise<number> {
  await waitFor(() => /open http:\/\/localhost:(\d+)\//.test(running.out()) || running.child.exitCode !== null, 'the banner', 15_000);
  const match = /open http:\/\/localhost:(\d+)\//.exec(running.out());
  assert.ok(match, `no banner; stdout: ${running.out()} stderr: ${running.err()}`);
  return Number(match[1]);
}

function project(name: string): string {
  const root = join(tempRoot(), name);
  mkdirSync(root);
  return root;
}

/** A plain HTTP server on `port`, closed when the test ends. */
async function foreignServer(t: TestContext, port: number): Promise<Server> {
  const server = createServer((_req, res) => res.end('not daebug'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

test('the default port is derived from the folder name as the earlier daebug did', () => {
  assert.equal(derivePort('my-project'), 8660);
  assert.equal(derivePort('daebug'), 8960);
  assert.equal(derivePort('Web App'), 8161);
  assert.equal(derivePort('WEB APP'), 8161, 'case does not matter');
  assert.deepEqual(candidatePorts('demo').slice(0, 2), [derivePort('demo'), derivePort('demo1')]);
  assert.equal(candidatePorts('demo').length, 20);
});

test('daebug serves a folder on its derived port with a banner, and SIGINT leaves the stopped registry', async (t) => {
  const name = await nameWithFreePorts('my-project');
  const root = project(name);
  const running = startCli(t, ['--root', root]);
  const port = await listening(running);
  assert.equal(port, derivePort(name));
  assert.match(running.out(), new RegExp(`👾 daebug \\d+\\.\\d+\\.\\d+\\S* serving .*${name}\\n`));
  assert.match(running.out(), /realms: .*daebug\.md {3}logs: .*daebug\/<realm>\.md/);
  const health = (await (await fetch(`http://localhost:${port}/-daebug/health`)).json()) as { root: string };
  assert.equal(health.root, root);
  running.child.kill('SIGINT');
  assert.equal(await running.exit, 130);
  assert.match(running.out(), /stopped: SIGINT\n$/);
  assert.match(readFileSync(join(root, 'daebug.md'), 'utf8'), new RegExp(`^# 👾 daebug: ${name} stopped at \\d\\d:\\d\\d:\\d\\d \\(SIGINT\\)`));
});

test('PORT chooses the port, --port (also as --port=value) overrides it; SIGTERM stops with 143', async (t) => {
  const fromEnv = await freePort();
  const first = startCli(t, ['--root', project('env-port')], { env: { PORT: String(fromEnv) } });
  assert.equal(await listening(first), fromEnv);
  first.child.kill('SIGTERM');
  assert.equal(await first.exit, 143);
  const root = project('flag-port');
  const fromFlag = await freePort();
  const second = startCli(t, [`--root=${root}`, `--port=${fromFlag}`], { env: { PORT: String(fromEnv) } });
  assert.equal(await listening(second), fromFlag);
  second.child.kill('SIGTERM');
  assert.equal(await second.exit, 143);
  const stopped = readFileSync(join(root, 'daebug.md'), 'utf8');
  assert.match(stopped, /\(SIGTERM\)/);
  assert.ok(stopped.includes(`Start it again with:\n\n\`\`\`sh\nnpx daebug --root=${root} --port=${fromFlag}\n\`\`\`\n`), stopped);
});

test('when the derived port is held by another program, the next candidate is used and the program is left alone', async (t) => {
  const name = await nameWithFreePorts('Web App', 2);
  const [own, next] = candidatePorts(name) as [number, number];
  await foreignServer(t, own);
  const running = startCli(t, ['-r', project(name)]);
  assert.equal(await listening(running), next);
  assert.equal(await (await fetch(`http://127.0.0.1:${own}/`)).text(), 'not daebug', 'the other program still answers');
});

test('an explicit port held by another program is an error, exit 2, and the program is left alone', async (t) => {
  const port = await freePort();
  await foreignServer(t, port);
  const running = startCli(t, ['--root', project('busy'), '-p', String(port)]);
  assert.equal(await running.exit, 2);
  assert.equal(running.err(), `daebug: port ${port} is in use by another program\n`);
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'not daebug');
});

test('a second daebug for the same folder takes over the port from the first', async (t) => {
  const name = await nameWithFreePorts('daebug');
  const root = project(name);
  const first = startCli(t, ['--root', root]);
  const port = await listening(first);
  assert.equal(port, derivePort(name));
  const second = startCli(t, ['--root', root]);
  assert.equal(await listening(second), port);
  assert.equal(await first.exit, 0, 'the first one stopped gracefully');
  assert.match(second.out(), new RegExp(`another daebug serves .* on port ${port}; asking it to stop`));
  assert.match(first.out(), /stopped: %%SHUTDOWN%%/);
});

test('--log json prints one JSON object per line', async (t) => {
  const running = startCli(t, ['--root', project('json-log'), '--log', 'json', '--port', String(await freePort())]);
  await waitFor(() => running.out().includes('"event":"listening"'), 'the listening line');
  running.child.kill('SIGTERM');
  await running.exit;
  const lines = running.out().trim().split('\n').map((line) => JSON.parse(line) as { event: string });
  assert.ok(lines.some((line) => line.event === 'listening'));
  assert.ok(lines.some((line) => line.event === 'stopped'));
});

test('--allow-origin lets pages on that origin connect; the banner shows the script tag and the origins', async (t) => {
  const root = project('allow-origin');
  const port = await freePort();
  const running = startCli(t, ['--root', root, '--port', String(port), '--allow-origin', 'http://app.test:3000', '--allow-origin=HTTPS://Shop.Test/']);
  assert.equal(await listening(running), port);
  assert.ok(running.out().includes(`<script src="http://localhost:${port}/-daebug/client.js"></script>`), running.out());
  assert.match(running.out(), /pages on http:\/\/app\.test:3000, https:\/\/shop\.test may connect too/);
  for (const origin of ['http://app.test:3000', 'https://shop.test', 'http://localhost:5173']) {
    const answer = await fetch(`http://localhost:${port}/-daebug/token`, { headers: { origin } });
    assert.equal(answer.status, 200, origin);
    assert.equal(answer.headers.get('access-control-allow-origin'), origin);
  }
  const refused = await fetch(`http://localhost:${port}/-daebug/token`, { headers: { origin: 'http://app.test:3001' } });
  assert.equal(refused.status, 403);
  await waitFor(() => running.err().includes('refused a page on http://app.test:3001'), 'the line on the console');
  running.child.kill('SIGTERM');
  assert.equal(await running.exit, 143);
  assert.ok(readFileSync(join(root, 'daebug.md'), 'utf8').includes(' --allow-origin http://app.test:3000 --allow-origin=HTTPS://Shop.Test/'), 'the stopped registry repeats the origins');
});
