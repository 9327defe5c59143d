// The built CLI as users run it: ports, fallback, takeover, foreign ports, banner, JSON logs, stops.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { candidatePorts, derivePort } from '../../src/cli/port.js';
import { tempRoot, waitFor } from '../helpers/temp.js';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;

interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function start(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', PORT: '', ...env } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, out: () => out, err: () => err, exit };
}

async function listening(running: Running): Promise<number> {
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

function foreignServer(port: number): Promise<Server> {
  const server = createServer((_req, res) => res.end('not daebug'));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

test('the default port is derived from the folder name as the earlier daebug did', () => {
  assert.equal(derivePort('my-project'), 8660);
  assert.equal(derivePort('daebug'), 8960);
  assert.equal(derivePort('Web App'), 8161);
  assert.equal(derivePort('WEB APP'), 8161, 'case does not matter');
  assert.deepEqual(candidatePorts('demo').slice(0, 2), [derivePort('demo'), derivePort('demo1')]);
  assert.equal(candidatePorts('demo').length, 20);
});

test('daebug serves a folder on its derived port with a banner, and SIGINT leaves the stopped registry', async () => {
  const root = project('my-project');
  const running = start(['--root', root]);
  const port = await listening(running);
  assert.equal(port, 8660);
  assert.match(running.out(), /👾 daebug \d+\.\d+\.\d+\S* serving .*my-project\n/);
  assert.match(running.out(), /realms: .*daebug\.md {3}logs: .*daebug\/<realm>\.md/);
  const health = (await (await fetch(`http://localhost:${port}/-daebug/health`)).json()) as { root: string };
  assert.equal(health.root, root);
  running.child.kill('SIGINT');
  assert.equal(await running.exit, 130);
  assert.match(running.out(), /stopped: SIGINT\n$/);
  assert.match(readFileSync(join(root, 'daebug.md'), 'utf8'), /^# 👾 daebug: my-project stopped at \d\d:\d\d:\d\d \(SIGINT\)/);
});

test('PORT chooses the port, --port (also as --port=value) overrides it; SIGTERM stops with 143', async () => {
  const fromEnv = 18_000 + Math.floor(Math.random() * 500);
  const first = start(['--root', project('env-port')], { PORT: String(fromEnv) });
  assert.equal(await listening(first), fromEnv);
  first.child.kill('SIGTERM');
  assert.equal(await first.exit, 143);
  const root = project('flag-port');
  const fromFlag = 18_500 + Math.floor(Math.random() * 500);
  const second = start([`--root=${root}`, `--port=${fromFlag}`], { PORT: String(fromEnv) });
  assert.equal(await listening(second), fromFlag);
  second.child.kill('SIGTERM');
  assert.equal(await second.exit, 143);
  const stopped = readFileSync(join(root, 'daebug.md'), 'utf8');
  assert.match(stopped, /\(SIGTERM\)/);
  assert.ok(stopped.includes(`Start it again with:\n\n\`\`\`sh\nnpx daebug --root=${root} --port=${fromFlag}\n\`\`\`\n`), stopped);
});

test('when the derived port is held by another program, the next candidate is used and the program is left alone', async () => {
  const root = project('Web App');
  const foreign = await foreignServer(8161);
  try {
    const running = start(['-r', root]);
    const port = await listening(running);
    assert.equal(port, derivePort('Web App1'));
    assert.equal(await (await fetch('http://127.0.0.1:8161/')).text(), 'not daebug', 'the other program still answers');
    running.child.kill('SIGTERM');
    await running.exit;
  } finally {
    foreign.close();
  }
});

test('an explicit port held by another program is an error, exit 2, and the program is left alone', async () => {
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const foreign = await foreignServer(port);
  try {
    const running = start(['--root', project('busy'), '-p', String(port)]);
    assert.equal(await running.exit, 2);
    assert.equal(running.err(), `daebug: port ${port} is in use by another program\n`);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'not daebug');
  } finally {
    foreign.close();
  }
});

test('a second daebug for the same folder takes over the port from the first', async () => {
  const root = project('daebug');
  const first = start(['--root', root]);
  const port = await listening(first);
  assert.equal(port, 8960);
  const second = start(['--root', root]);
  assert.equal(await listening(second), 8960);
  assert.equal(await first.exit, 0, 'the first one stopped gracefully');
  assert.match(second.out(), /another daebug serves .* on port 8960; asking it to stop/);
  assert.match(first.out(), /stopped: %%SHUTDOWN%%/);
  second.child.kill('SIGTERM');
  await second.exit;
});

test('--log json prints one JSON object per line', async () => {
  const root = project('json-log');
  const running = start(['--root', root, '--log', 'json', '--port', String(18_000 + Math.floor(Math.random() * 1000))]);
  await waitFor(() => running.out().includes('"event":"listening"'), 'the listening line');
  running.child.kill('SIGTERM');
  await running.exit;
  const lines = running.out().trim().split('\n').map((line) => JSON.parse(line) as { event: string });
  assert.ok(lines.some((line) => line.event === 'listening'));
  assert.ok(lines.some((line) => line.event === 'stopped'));
});
