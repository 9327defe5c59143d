// The stress scenarios of issue 11: agents in other processes write into two logs the way editors and
// agent tools do, while the daemon answers requests in the same files; afterwards every agent line,
// reply, pending marker and job is counted. Plain JavaScript, so that the test (test/daemon/
// stress.test.ts, in-process daemon) and the benchmark (bench/run.mjs, step `soak`, the built CLI) run
// the same scenario and count the same way. Types: stress.d.mts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const AGENT = new URL('./stress-agent.mjs', import.meta.url).pathname;

/** The page realm and its worker; requests go to them in turn (even numbers to the page). */
export const STRESS_REALMS = ['tab', 'tab-webworker'];

/**
 * The two scenarios: which log the editing agent works on, how it saves, and the test's size (the
 * benchmark runs a multiple). Requests come every 20-60 ms. The editor saves every 10-30 ms, like the
 * soak that found its loss: one saving every 1-5 ms keeps failing the daemon's version check, so the
 * daemon writes only while the editor pauses and the two rarely meet (0 losses in 12 runs, against 1-2
 * lost lines in 3 of 4 runs at 10-30 ms, on a daemon that has the race).
 */
export const STRESS_SCENARIOS = {
  'editor safe saves': { realm: 'tab', save: 'rename', place: 'end', prefix: 'editor line', requests: 160, edits: 300, editMs: [10, 30] },
  'edit tool in place': { realm: 'tab-webworker', save: 'in-place', place: 'alternate', prefix: 'edit line', requests: 160, edits: 500, editMs: [5, 10] },
};

const FOOTER_LINE = '> Append your JavaScript snippet below';
const PENDING = /^(executing \(\d+s\)|queued)$/;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes each realm's log with about `bytes` of plain agent lines under a title; returns how many lines. */
export function writeHistoryLogs(logDir, bytes = 300 * 1024) {
  const filler = ' the agent wrote this earlier, and it has to stay exactly as it is';
  const lines = [];
  for (let size = 0; size < bytes; ) {
    const line = `history line ${lines.length}:${filler}`;
    lines.push(line);
    size += line.length + 1;
  }
  for (const realm of STRESS_REALMS) writeFileSync(join(logDir, `${realm}.md`), `# ${realm}\n\n${lines.join('\n')}\n`);
  return lines.length;
}

/** Resolves once the daemon has put its footer under the history of every log. */
export async function waitForFooters(logDir, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (const realm of STRESS_REALMS) {
    while (!readFileSync(join(logDir, `${realm}.md`), 'utf8').includes(FOOTER_LINE)) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the footer of ${realm}.md`);
      await sleep(20);
    }
  }
}

/** Runs one agent process to its end; `children` gets it, so a failed run can stop the others. */
function runAgent(args, children) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (data) => (stdout += data));
    child.stderr.on('data', (data) => (stderr += data));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(JSON.parse(stdout));
      else reject(new Error(`the ${args[0]} agent exited with ${code}:\n${stderr}`));
    });
  });
}

function countLines(text) {
  const counts = new Map();
  for (const line of text.split(/\r?\n/)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/**
 * Counts what the logs and the realms show against what the agents did. `texts` and `ran` are keyed by
 * realm (`ran`: the code of every job the realm ran, in order); `agents` says how many requests, edits
 * and history lines there are.
 */
export function countStress(scenarioName, texts, ran, agents) {
  const scenario = STRESS_SCENARIOS[scenarioName];
  const counts = Object.fromEntries(STRESS_REALMS.map((realm) => [realm, countLines(texts[realm] ?? '')]));
  const requestRealm = (index) => STRESS_REALMS[index % STRESS_REALMS.length];
  const expected = Object.fromEntries(STRESS_REALMS.map((realm) => [realm, []]));
  for (const realm of STRESS_REALMS) {
    for (let index = 0; index < agents.historyLines; index++) expected[realm].push(`history line ${index}:`);
  }
  for (let index = 0; index < agents.requests; index++) expected[requestRealm(index)].push(`request ${index}`, `req_${index}()`);
  for (let index = 0; index < agents.edits; index++) expected[scenario.realm].push(`${scenario.prefix} ${index}`);

  const report = { lostLines: [], duplicatedLines: [], lostReplies: [], doubleReplies: [], strayReplies: [], failedReplies: [], markersLeft: [], footers: [], neverRan: [], ranTwice: [], unknownJobs: [] };
  for (const realm of STRESS_REALMS) {
    // History lines carry a filler after the colon; count them by their unique start.
    const byStart = new Map();
    for (const [line, count] of counts[realm]) {
      const start = /^history line \d+:/.exec(line)?.[0];
      if (start) byStart.set(start, (byStart.get(start) ?? 0) + count);
    }
    for (const line of expected[realm]) {
      const count = (line.startsWith('history line ') ? byStart.get(line) : counts[realm].get(line)) ?? 0;
      if (count === 0) report.lostLines.push(`${realm}.md: ${line}`);
      if (count > 1) report.duplicatedLines.push(`${realm}.md: ${line} (${count} times)`);
    }
    const lines = (texts[realm] ?? '').split(/\r?\n/);
    lines.forEach((line, at) => {
      if (PENDING.test(line)) report.markersLeft.push(`${realm}.md line ${at + 1}: ${lines[at - 1]} / ${line}`);
      if (line.startsWith('#### 🚫')) report.failedReplies.push(`${realm}.md line ${at + 1}: ${line} ${lines.slice(at + 1, at + 4).join(' ')}`);
    });
    const footers = lines.filter((line) => line.startsWith(FOOTER_LINE)).length;
    if (footers !== 1) report.footers.push(`${realm}.md has ${footers} footers`);
  }
  for (let index = 0; index < agents.requests; index++) {
    const realm = requestRealm(index);
    const reply = `"req_${index}()"`;
    const replies = counts[realm].get(reply) ?? 0;
    if (replies === 0) report.lostReplies.push(`req_${index}() in ${realm}.md`);
    if (replies > 1) report.doubleReplies.push(`req_${index}() in ${realm}.md (${replies} replies)`);
    for (const other of STRESS_REALMS) {
      if (other !== realm && counts[other].has(reply)) report.strayReplies.push(`req_${index}() answered in ${other}.md`);
    }
    const runs = (ran[realm] ?? []).filter((code) => code === `req_${index}()`).length;
    if (runs === 0) report.neverRan.push(`req_${index}() in ${realm}`);
    if (runs > 1) report.ranTwice.push(`req_${index}() in ${realm} (${runs} times)`);
  }
  for (const realm of STRESS_REALMS) {
    for (const code of ran[realm] ?? []) {
      const index = /^req_(\d+)\(\)$/.exec(code)?.[1];
      if (index === undefined || Number(index) >= agents.requests || requestRealm(Number(index)) !== realm) report.unknownJobs.push(`${realm} ran ${JSON.stringify(code)}`);
    }
  }
  return report;
}

/** The kinds of loss countStress reports, with how a summary names them. */
export const LOSS_KINDS = {
  lostLines: 'lost lines',
  duplicatedLines: 'duplicated lines',
  lostReplies: 'lost replies',
  doubleReplies: 'double replies',
  strayReplies: 'replies in the wrong log',
  failedReplies: 'failed replies',
  markersLeft: 'markers left',
  footers: 'logs without exactly one footer',
  neverRan: 'requests never run',
  ranTwice: 'requests run twice',
  unknownJobs: 'unknown jobs',
  readsWithoutHistory: 'edits that read the log without its history',
};

/** Every loss in a report, listed (at most `limit` of each kind), or [] when there is none. */
export function stressProblems(report, limit = 15) {
  return Object.entries(LOSS_KINDS).flatMap(([key, name]) => {
    const items = report[key] ?? [];
    if (items.length === 0) return [];
    const more = items.length > limit ? `\n    ... and ${items.length - limit} more` : '';
    return [`${items.length} ${name}:\n    ${items.slice(0, limit).join('\n    ')}${more}`];
  });
}

/** One line: what the run covered and what it lost, to compare runs. */
export function stressSummary(report) {
  const losses = Object.entries(LOSS_KINDS).map(([key, name]) => `${(report[key] ?? []).length} ${name}`).join(', ');
  const { edits: count, save, middle, restarts } = report.agents;
  const edits = save === 'rename' ? `${count} safe saves (${restarts} restarts after a re-stat)` : `${count} in-place edits (${middle} mid-file, ${restarts} restarts after a re-stat)`;
  return `${report.scenario}: ${report.agents.requests} requests (${report.answeredWhileAgentsRan} answered while the agents ran), ${edits}, ${report.agents.historyLines} history lines, agents ${(report.agentsMs / 1000).toFixed(1)} s, settled after ${(report.waitedMs / 1000).toFixed(1)} s; ${losses}`;
}

/**
 * Runs one scenario against a daemon that already watches `logDir` (its logs written by
 * writeHistoryLogs, footers in place) and whose realms answer each job with its code as JSON:
 * a requester sends the scenario's requests (times `scale`) to the two logs in turn, every 20-60 ms,
 * while its editing agent makes its edits (times `scale`). Then it waits until everything is answered
 * (or nothing has changed for `stableMs`, or `waitMs` is up), waits `settleMs` more for late merges,
 * and counts. `ran()` gives the jobs each realm ran so far.
 */
export async function runStress({ logDir, scenario: scenarioName, historyLines, ran, scale = 1, waitMs = 15_000, stableMs = 3_000, settleMs = 1_000 }) {
  const scenario = STRESS_SCENARIOS[scenarioName];
  if (!scenario) throw new Error(`no stress scenario named ${scenarioName}`);
  const [requests, edits] = [scenario.requests * scale, scenario.edits * scale];
  const lockDir = mkdtempSync(join(tmpdir(), 'daebug-stress-locks-'));
  const logs = STRESS_REALMS.map((realm) => join(logDir, `${realm}.md`));
  const read = () => Object.fromEntries(STRESS_REALMS.map((realm, index) => [realm, readFileSync(logs[index], 'utf8')]));
  const started = Date.now();
  const children = [];
  let agents;
  try {
    const [sent, edited] = await Promise.all([
      runAgent(['requester', lockDir, requests, 20, 60, ...logs], children),
      runAgent(['editor', lockDir, edits, ...scenario.editMs, join(logDir, `${scenario.realm}.md`), scenario.save, scenario.place, scenario.prefix], children),
    ]);
    agents = { requests: sent.requests, edits: edited.edits, middle: edited.middle, restarts: edited.restarts, save: scenario.save, historyLines, readsWithoutHistory: edited.withoutHistory };
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill();
    rmSync(lockDir, { recursive: true, force: true });
  }
  const agentsMs = Date.now() - started;
  const clean = (report) => Object.keys(LOSS_KINDS).every((key) => (report[key] ?? []).length === 0);
  let [texts, changed] = [read(), Date.now()];
  // Replies already in the logs when the agents stopped: the race was on only for those.
  const answeredWhileAgentsRan = agents.requests - countStress(scenarioName, texts, ran(), agents).lostReplies.length;
  for (;;) {
    if (clean(countStress(scenarioName, texts, ran(), agents))) break;
    if (Date.now() - changed > stableMs || Date.now() - started - agentsMs > waitMs) break;
    await sleep(100);
    const now = read();
    if (STRESS_REALMS.some((realm) => now[realm] !== texts[realm])) [texts, changed] = [now, Date.now()];
  }
  const waitedMs = Date.now() - started - agentsMs;
  await sleep(settleMs);
  return { scenario: scenarioName, agents, agentsMs, answeredWhileAgentsRan, waitedMs, ...countStress(scenarioName, read(), ran(), agents), readsWithoutHistory: agents.readsWithoutHistory };
}
