// A simulated realm in its own process: it speaks the real realm API the way the page client does
// (connect with the page token, wait for jobs on the realm's WebSocket, post each result) and answers
// each job by running its body. With --http it long-polls over HTTP instead, as a realm does where no
// socket opens (and as this simulation did before issue 17: the benchmark's older figures used it).
// Usage: node bench/realm.mjs <base url> <realm name> [<count>] [echo] [--http]
//   count realms: name-0 ... name-<count-1>;
//   echo: each realm also connects its worker `<name>-webworker`, and both answer every job with its
//   code as JSON (so each reply names its request) and print `ran <realm> <code as JSON>` for it.
import { Agent, request } from 'node:http';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const overHttp = args.includes('--http');
const [base, name, countText = '1', mode = 'run'] = args.filter((arg) => arg !== '--http');
const { token } = await (await fetch(new URL('/-daebug/token', base))).json();
const AsyncFunction = (async function () {}).constructor;
const echo = mode === 'echo';
// Results go over kept-alive connections, as a browser's fetch does.
const agent = new Agent({ keepAlive: true });

async function outcomeOf(answer) {
  if (echo) return { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(answer.code) } };
  try {
    const value = await new AsyncFunction(answer.body)();
    return { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(value) } };
  } catch (error) {
    return { kind: 'error', error: String(error) };
  }
}

/** POSTs `body` as JSON text; resolves with the response's status (0 when the daemon is gone). */
function post(url, headers, body) {
  return new Promise((resolve) => {
    const sent = request(url, { method: 'POST', agent, headers: { ...headers, 'content-type': 'text/plain' } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
    });
    sent.on('error', () => resolve(0));
    sent.end(body);
  });
}

/** Runs a job and posts its result. */
async function run(realmName, headers, answer) {
  if (echo) process.stdout.write(`ran ${realmName} ${JSON.stringify(answer.code)}\n`);
  const started = performance.now();
  const outcome = await outcomeOf(answer);
  const url = new URL(`/-daebug/realms/${encodeURIComponent(realmName)}/jobs/${answer.jobId}/result`, base);
  await post(url, headers, JSON.stringify({ outcome, durationMs: performance.now() - started, events: [] }));
}

/** Anything but work or idle (the realm is not known, the daemon stops) ends this realm, loudly. */
function checked(realmName, answer) {
  if (answer.type !== 'job' && answer.type !== 'idle') throw new Error(`${realmName}: poll answered ${JSON.stringify(answer)}`);
  return answer.type === 'job';
}

async function serve(realmName, secret) {
  const headers = { 'x-daebug-secret': secret };
  if (!overHttp) return serveOnSocket(realmName, secret, headers);
  const url = new URL(`/-daebug/realms/${encodeURIComponent(realmName)}/poll`, base);
  for (;;) {
    let answer;
    try {
      answer = await (await fetch(url, { headers })).json();
    } catch {
      return;
    }
    if (checked(realmName, answer)) void run(realmName, headers, answer);
  }
}

/** Waits for jobs on the realm's socket, as the page client does (src/client/socket.ts); ends when it closes. */
function serveOnSocket(realmName, secret, headers) {
  return new Promise((resolve, reject) => {
    const url = new URL(`/-daebug/realms/${encodeURIComponent(realmName)}/socket`, base).href.replace(/^http/, 'ws');
    const socket = new WebSocket(url, ['daebug', `daebug-secret.${secret}`]);
    socket.on('open', () => socket.send('poll'));
    socket.on('message', (data) => {
      const text = String(data);
      if (text === 'ping') return socket.send('beat');
      const answer = JSON.parse(text);
      socket.send('poll');
      try {
        if (checked(realmName, answer)) void run(realmName, headers, answer);
      } catch (error) {
        reject(error);
      }
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}

/** Connects a realm; a daemon still reading its logs at start answers 503, so it tries again (up to 30 s). */
async function connect(realmName) {
  for (const deadline = Date.now() + 30_000; ; ) {
    const connected = await fetch(new URL('/-daebug/connect', base), { method: 'POST', headers: { 'x-daebug-token': token }, body: JSON.stringify({ name: realmName, url: base }) });
    const answer = await connected.json();
    if (connected.ok) return answer.secret;
    if (Date.now() > deadline) throw new Error(`${realmName} could not connect: ${connected.status} ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function realm(realmName) {
  const secret = await connect(realmName);
  if (!echo) return serve(realmName, secret);
  const workerName = `${realmName}-webworker`;
  const worker = await fetch(new URL(`/-daebug/realms/${encodeURIComponent(realmName)}/workers`, base), { method: 'POST', headers: { 'x-daebug-secret': secret }, body: JSON.stringify({ name: workerName, url: base }) });
  const { secret: workerSecret } = await worker.json();
  await Promise.all([serve(realmName, secret), serve(workerName, workerSecret)]);
}

const count = Number(countText);
process.stdout.write('ready\n');
await Promise.all(Array.from({ length: count }, (_, index) => realm(count === 1 ? name : `${name}-${index}`)));
