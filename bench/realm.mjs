// A simulated realm in its own process: it speaks the real HTTP realm API (connect with the page
// token, long-poll, result) the way the page client does, and answers each job by running its body.
// Usage: node bench/realm.mjs <base url> <realm name> [<count>] [echo]
//   count realms: name-0 ... name-<count-1>;
//   echo: each realm also connects its worker `<name>-webworker`, and both answer every job with its
//   code as JSON (so each reply names its request) and print `ran <realm> <code as JSON>` for it.
const [base, name, countText = '1', mode = 'run'] = process.argv.slice(2);
const { token } = await (await fetch(new URL('/-daebug/token', base))).json();
const AsyncFunction = (async function () {}).constructor;
const echo = mode === 'echo';

async function outcomeOf(answer) {
  if (echo) return { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(answer.code) } };
  try {
    const value = await new AsyncFunction(answer.body)();
    return { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(value) } };
  } catch (error) {
    return { kind: 'error', error: String(error) };
  }
}

async function serve(realmName, secret) {
  const headers = { 'x-daebug-secret': secret };
  const url = (path) => new URL(`/-daebug/realms/${encodeURIComponent(realmName)}${path}`, base);
  for (;;) {
    let answer;
    try {
      answer = await (await fetch(url('/poll'), { headers })).json();
    } catch {
      return;
    }
    // Anything but work or idle (the realm is not known, the daemon stops) ends this realm, loudly.
    if (answer.type !== 'job' && answer.type !== 'idle') throw new Error(`${realmName}: poll answered ${JSON.stringify(answer)}`);
    if (answer.type !== 'job') continue;
    if (echo) process.stdout.write(`ran ${realmName} ${JSON.stringify(answer.code)}\n`);
    const started = performance.now();
    const outcome = await outcomeOf(answer);
    void fetch(url(`/jobs/${answer.jobId}/result`), { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: JSON.stringify({ outcome, durationMs: performance.now() - started, events: [] }) });
  }
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
