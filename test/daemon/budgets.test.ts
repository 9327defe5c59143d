// Disk and memory have budgets (issue 23): a realm holding only the page token cannot fill the disk
// with long answers, flood a log with events, or connect realms and logs without end. Each limit
// says so where the agent looks: in the realm's log or the registry's notices.
import assert from 'node:assert/strict';
import { readdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createAdmission } from '../../src/daemon/admission.js';
import { FILE_BUDGET, numberedFiles } from '../../src/daemon/beside-log.js';
import type { Realm } from '../../src/daemon/realms.js';
import { startTestServer, type TestServer } from '../helpers/serve.js';
import { readText, tempRoot, waitFor } from '../helpers/temp.js';

const MiB = 1024 * 1024;
const sizes = (folder: string) => readdirSync(folder).map((name) => statSync(join(folder, name)).size);
const total = (folder: string) => sizes(folder).reduce((sum, size) => sum + size, 0);

test('files beside logs keep within their folder and total budgets, the oldest going first, numbers never reused', () => {
  const root = tempRoot();
  const files = numberedFiles(root, { folderBytes: 1000, totalBytes: 1500 });
  const a = join(root, 'daebug', 'a.out');
  const b = join(root, 'daebug', 'b.out');
  for (let n = 0; n < 4; n++) files.write(a, 'txt', 'x'.repeat(300));
  assert.deepEqual(readdirSync(a).sort(), ['2.txt', '3.txt', '4.txt'], 'the oldest went to keep a.out within 1000 bytes');
  const written = files.write(b, 'txt', 'y'.repeat(900));
  assert.deepEqual(written.removed, { files: 1, bytes: 300 }, 'the fullest folder gave room for the total of 1500 bytes');
  assert.deepEqual(readdirSync(a).sort(), ['3.txt', '4.txt']);
  assert.equal(files.write(a, 'txt', 'z').path, join(a, '5.txt'), 'numbers go on: a block naming 1.txt never names a new file');
  assert.throws(() => files.write(a, 'txt', 'w'.repeat(1001)), /more than the 1000 bytes/);
  const outside = tempRoot();
  symlinkSync(outside, join(root, 'daebug', 'c.out'));
  assert.throws(() => files.write(join(root, 'daebug', 'c.out'), 'txt', 'v'), /not a real folder inside the root/);
  assert.deepEqual(readdirSync(outside), []);
});

test('at most so many realms connected, and so many new ones a minute', () => {
  const admission = createAdmission({ connected: 2, newPerMinute: 3 });
  const realm = (connected: boolean) => ({ connected }) as Realm;
  assert.equal(admission.refusal([realm(true), realm(true)], undefined, 0)?.code, 'ERR_TOO_MANY_REALMS');
  assert.equal(admission.refusal([realm(true), realm(true)], realm(true), 0), null, 'a connected realm connecting again is let in');
  for (let n = 0; n < 3; n++) admission.admitted(true, 1000);
  assert.equal(admission.refusal([], undefined, 2000)?.code, 'ERR_TOO_MANY_LOGS');
  assert.equal(admission.refusal([], realm(false), 2000), null, 'a realm seen before makes no new log');
  assert.equal(admission.refusal([], undefined, 61_001), null, 'a minute later');
});

/** Connects a page realm over HTTP; resolves with its secret. */
async function connectPage(server: TestServer, name: string): Promise<Response> {
  return fetch(server.at('/-daebug/connect'), { method: 'POST', headers: { 'x-daebug-token': server.pageToken }, body: JSON.stringify({ name, url: 'http://localhost/' }) });
}

async function sendEvents(server: TestServer, name: string, secret: string, events: { text: string }[]): Promise<number> {
  const body = JSON.stringify({ events: events.map((event) => ({ source: 'console.log', time: Date.now(), lang: 'Text', text: event.text })) });
  return (await fetch(server.at(`/-daebug/realms/${name}/events`), { method: 'POST', headers: { 'x-daebug-secret': secret }, body })).status;
}

test('a realm that sends 15 MiB events again and again keeps its long answers within the budget, and the registry says so', async () => {
  const server = await startTestServer();
  const { secret } = (await (await connectPage(server, 'tab-big')).json()) as { secret: string };
  const folder = join(server.root, 'daebug', 'tab-big.out');
  for (let n = 0; n < 6; n++) {
    assert.equal(await sendEvents(server, 'tab-big', secret, [{ text: `${n}`.repeat(15 * MiB) }]), 200);
    await waitFor(() => readdirSync(join(server.root, 'daebug')).includes('tab-big.out') && readdirSync(folder).some((name) => name === `${n + 1}.txt`), `spill ${n + 1}`, 10_000);
  }
  assert.ok(total(folder) <= FILE_BUDGET.folderBytes, `${total(folder)} bytes kept`);
  assert.deepEqual(readdirSync(folder).sort(), ['3.txt', '4.txt', '5.txt', '6.txt'], 'the two oldest went');
  await waitFor(() => readText(join(server.root, 'daebug.md')).includes('the oldest were removed to make room'), 'the notice in the registry');
});

test('of more than 500 events in one call the first and the latest are kept, and the log says how many were dropped', async () => {
  const server = await startTestServer();
  const { secret } = (await (await connectPage(server, 'tab-many')).json()) as { secret: string };
  assert.equal(await sendEvents(server, 'tab-many', secret, Array.from({ length: 3500 }, (_, n) => ({ text: `event ${n}` }))), 200);
  const log = join(server.root, 'daebug', 'tab-many.md');
  await waitFor(() => readText(log).includes('tab-many sent 3500 events in one call; daebug keeps at most 500 of a call (the first 10 and the latest) and dropped the 3000 between them.'), 'the notice in the log', 10_000);
  await waitFor(() => readText(log).includes('event 3499\n'), 'the latest event', 10_000);
  assert.match(readText(log), /event 0\n[\s\S]*event 1\n[\s\S]*\(490 more background events omitted\)[\s\S]*event 3499\n/, 'the first two, the 490 kept between them counted, the latest');
});

test('more than 200 new realms a minute are refused with 429 and the reason, also in the registry', async () => {
  const server = await startTestServer();
  const answers = [];
  for (let n = 0; n < 201; n++) answers.push(await connectPage(server, `flood-${n}`));
  assert.deepEqual(answers.slice(0, 200).map((answer) => answer.status), Array(200).fill(200));
  assert.equal(answers[200]!.status, 429);
  assert.match(((await answers[200]!.json()) as { error: string }).error, /at most 200 new realms \(each with a log\) a minute/);
  await waitFor(() => readText(join(server.root, 'daebug.md')).includes('at most 200 new realms'), 'the registry notice');
  assert.equal(readdirSync(join(server.root, 'daebug')).includes('flood-200.md'), false, 'no log for it');
});
