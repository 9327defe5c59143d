// A simulated realm in its own process: it speaks the real HTTP realm API (connect with the page
// token, long-poll, result) the way the page client does, and answers each job by running its body.
// Usage: node bench/realm.mjs <base url> <realm name> [<count>]  (count realms: name-0 ... name-<count-1>)
const [base, name, countText = '1'] = process.argv.slice(2);
const { token } = await (await fetch(new URL('/-daebug/token', base))).json();
const AsyncFunction = (async function () {}).constructor;

async function realm(realmName) {
  const connected = await fetch(new URL('/-daebug/connect', base), { method: 'POST', headers: { 'x-daebug-token': token }, body: JSON.stringify({ name: realmName, url: base }) });
  const { secret } = await connected.json();
  const headers = { 'x-daebug-secret': secret };
  const url = (path) => new URL(`/-daebug/realms/${encodeURIComponent(realmName)}${path}`, base);
  for (;;) {
    let answer;
    try {
      answer = await (await fetch(url('/poll'), { headers })).json();
    } catch {
      return;
    }
    if (answer.type !== 'job') continue;
    const started = performance.now();
    let outcome;
    try {
      const value = await new AsyncFunction(answer.body)();
      outcome = { kind: 'value', value: { lang: 'JSON', text: JSON.stringify(value) } };
    } catch (error) {
      outcome = { kind: 'error', error: String(error) };
    }
    void fetch(url(`/jobs/${answer.jobId}/result`), { method: 'POST', headers: { ...headers, 'content-type': 'text/plain' }, body: JSON.stringify({ outcome, durationMs: performance.now() - started, events: [] }) });
  }
}

const count = Number(countText);
process.stdout.write('ready\n');
await Promise.all(Array.from({ length: count }, (_, index) => realm(count === 1 ? name : `${name}-${index}`)));
