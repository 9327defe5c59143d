/**
 * `daebug eval` and `daebug realms`: one call per question, for agents with a shell. `eval` appends
 * the code to the realm's log as an agent would (the log stays the transcript, and whoever watches it
 * sees the same), waits until the daemon has written the answer under it, and prints just that answer.
 * `realms` lists the realms of the daebug serving the folder, as the registry does.
 *
 * Both find the daebug the way `--test` does (running-daebug.ts) and load nothing of the daemon, so
 * they start quickly.
 */
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FOOTER_PROMPT, FOOTER_RULE, isBlankLine } from '../protocol/grammar.js';
import { sectionEnd } from '../protocol/layout.js';
import { fenceFor, lineAt, nextLineStart } from '../protocol/log-text.js';
import { logPath } from '../protocol/registry.js';
import { ROUTES, TOKEN_HEADER } from '../protocol/routes.js';
import { oneLine, visibleControls } from '../protocol/safe-text.js';
import { httpGet } from './http-get.js';
import { runningDaebug } from './running-daebug.js';

/** What `eval` was asked. */
export interface EvalSettings {
  root: string;
  /** Text in the realm's name or URL; null to take the only realm. */
  realm: string | null;
  /** How long to wait for the answer. */
  timeoutMs: number;
  code: string;
}

/** A realm as the daemon lists it. */
interface RealmInfo {
  name: string;
  kind: string;
  url: string;
  /** What daebug.md says after the realm's link (a worker's script, daebug's helper worker, a Node process). */
  where?: string;
  state: string;
}

/** Exit codes: 0 the answer is 👍, 1 it is 🚫 (or the daemon would not run it), 2 no answer, no daebug or no such realm. */
const EXIT = { ok: 0, failed: 1, none: 2 } as const;

/** A refusal with one line to print, and exit code 2. */
class EvalError extends Error {}

/** `daebug realms`: one line per realm, most recently active first. */
export async function runRealms(root: string, say: (line: string) => void, fail: (line: string) => void): Promise<number> {
  try {
    const realms = await listRealms(root);
    if (realms.length === 0) say('no realms: open a page daebug serves (or proxies) in a browser');
    for (const { realm, nested } of listingOrder(realms)) say(`${nested ? '  ' : ''}${realmLine(realm)}`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof EvalError)) throw error;
    fail(`daebug: ${error.message}`);
    return EXIT.none;
  }
}

/** `daebug eval`: resolves with the exit code once the answer is printed. */
export async function runEval(settings: EvalSettings, say: (text: string) => void, fail: (line: string) => void): Promise<number> {
  try {
    const realm = chooseRealm(await listRealms(settings.root), settings.realm);
    const log = join(settings.root, logPath(realm.name));
    const { block, offset, floor } = appendRequest(log, settings.code);
    const answer = await waitForAnswer(log, block, offset, floor, settings.timeoutMs);
    if (answer === null) {
      fail(`daebug: no answer from ${realm.name} within ${settings.timeoutMs} ms; the request stays in ${logPath(realm.name)} and its answer will be written there`);
      return EXIT.none;
    }
    // What a realm sent reaches the terminal with its escapes shown, never obeyed.
    say(visibleControls(answer.text));
    return answer.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    if (!(error instanceof EvalError)) throw error;
    fail(`daebug: ${error.message}`);
    return EXIT.none;
  }
}

async function listRealms(root: string): Promise<RealmInfo[]> {
  const running = await runningDaebug(root, null);
  if (running.kind === 'unusable') throw new EvalError(running.reason);
  if (running.kind === 'none') throw new EvalError(`no daebug serves ${root}: start it there with npx daebug (or give --root)`);
  const answer = await httpGet(new URL(ROUTES.realms.path, running.base).href, { [TOKEN_HEADER]: running.token });
  if (answer.status !== 200) throw new EvalError(`the daebug on ${running.base} refused its realm list (${answer.status}): ${oneLine(answer.text, 200)}`);
  return JSON.parse(answer.text) as RealmInfo[];
}

/** As the registry lists them: each page (most recent first) with its workers under it, then the rest. */
function listingOrder(realms: readonly RealmInfo[]): { realm: RealmInfo; nested: boolean }[] {
  const order: { realm: RealmInfo; nested: boolean }[] = [];
  const placed = new Set<RealmInfo>();
  for (const page of realms.filter((realm) => realm.kind === 'page')) {
    order.push({ realm: page, nested: false });
    placed.add(page);
    for (const worker of realms.filter((realm) => realm.kind === 'worker' && realm.name.startsWith(`${page.name}-`))) {
      order.push({ realm: worker, nested: true });
      placed.add(worker);
    }
  }
  for (const realm of realms) if (!placed.has(realm)) order.push({ realm, nested: false });
  return order;
}

/** A realm as the registry lists it: name, log, where it is, state. */
function realmLine(realm: RealmInfo): string {
  return `* [${realm.name}](${logPath(realm.name)}) ${realm.where ?? (realm.kind === 'page' ? realm.url : realm.kind)} · ${realm.state}`;
}

/**
 * The realm `wanted` names (case-insensitive text of its name or URL; an exact name wins), or the only
 * one there is. A page's workers share its URL, so among several the one page is taken (a worker is
 * named with `--realm`). Gone realms are left out: a request to them would wait for a page that may
 * never come back.
 */
function chooseRealm(all: readonly RealmInfo[], wanted: string | null): RealmInfo {
  const realms = all.filter((realm) => realm.state !== 'gone');
  const listed = realms.length > 0 ? `; realms: ${realms.map((realm) => `${realm.name} (${realm.kind === 'page' ? realm.url : realm.kind})`).join(', ')}` : '; none is connected: open a page daebug serves';
  const text = wanted?.toLowerCase() ?? '';
  const exact = realms.find((realm) => realm.name.toLowerCase() === text);
  if (exact) return exact;
  const matches = realms.filter((realm) => realm.name.toLowerCase().includes(text) || realm.url.toLowerCase().includes(text));
  const pages = matches.filter((realm) => realm.kind === 'page');
  const chosen = matches.length === 1 ? matches[0] : pages.length === 1 ? pages[0] : undefined;
  if (chosen) return chosen;
  if (wanted === null) throw new EvalError(matches.length === 0 ? `no realm to run in${listed}` : `${pages.length} pages: choose a realm with --realm <text of its name or URL>${listed}`);
  throw new EvalError(matches.length === 0 ? `no realm matches --realm ${JSON.stringify(wanted)}${listed}` : `${matches.length} realms match --realm ${JSON.stringify(wanted)}: ${matches.map((realm) => realm.name).join(', ')}`);
}

/**
 * Appends the code as a fenced js block, on a line of its own; returns the block, the log's size before
 * it and `floor`, the byte where the footer was (or the end of the text above the block when there is
 * none): the daemon moves the block to just below that, never above it.
 */
function appendRequest(log: string, code: string): { block: string; offset: number; floor: number } {
  const body = code.replace(/\r\n/g, '\n').replace(/\n+$/, '');
  const fence = fenceFor(body);
  const block = `${fence}js\n${body}\n${fence}\n`;
  const offset = existsSync(log) ? statSync(log).size : 0;
  // Only the end of the log says where the block goes; a long log is not read for it.
  const from = Math.max(0, offset - FOOTER_SEARCH_BYTES);
  const end = offset > 0 ? readBytes(log, from) : Buffer.alloc(0);
  const footer = end.lastIndexOf(`\n${FOOTER_RULE}\n${FOOTER_PROMPT}`);
  let text = end.length;
  while (text > 0 && WHITE.includes(end[text - 1]!)) text--;
  const floor = from + (footer !== -1 ? footer + 1 : text);
  const needsBreak = end.length > 0 && end[end.length - 1] !== 0x0a;
  appendFileSync(log, `${needsBreak ? '\n' : ''}${block}`);
  return { block, offset, floor };
}

/** How much of the end of a log is read for its footer before a request is appended. */
const FOOTER_SEARCH_BYTES = 4096;
/** Line feed, carriage return, tab and space. */
const WHITE = [0x0a, 0x0d, 0x09, 0x20];

/** How far before the request's place the answer is looked for: the daemon may shorten what is above it a little (a marker, the footer). */
const LOOK_BACK_BYTES = 64 * 1024;

/** The bytes of the log from `from` to its end (all of it when it became shorter than that). */
function readBytes(path: string, from: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    // A log that became shorter than that (someone cut its history) is read whole.
    const start = from > size ? 0 : from;
    const bytes = Buffer.alloc(size - start);
    readSync(fd, bytes, 0, bytes.length, start);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/**
 * The log from byte `from` to its end, and where byte `floor` is in that text (a character cut at
 * `from` only spoils text before the request).
 */
function readFrom(path: string, from: number, floor: number): { text: string; floor: number } {
  const bytes = readBytes(path, from);
  return { text: bytes.toString('utf8'), floor: bytes.subarray(0, Math.max(0, floor - from)).toString('utf8').length };
}

/** The answer under the block, once the daemon has written it; null when `timeoutMs` passes first. */
function waitForAnswer(log: string, block: string, offset: number, floor: number, timeoutMs: number): Promise<{ ok: boolean; text: string } | null> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | null = null;
    const finish = (answer: { ok: boolean; text: string } | null) => {
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
      resolve(answer);
    };
    const check = () => {
      // Only the end of the log, where the request went: a long history is not read at each event.
      const end = readFrom(log, Math.max(0, offset - LOOK_BACK_BYTES), floor);
      const answer = answerUnder(end.text, block, end.floor);
      if (answer) finish(answer);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    // Folder events where the platform has them; a slow poll as well, since network folders may drop them.
    const poll = setInterval(check, 250);
    try {
      // The folder, not the file: the daemon writes a log by renaming a new file over it, and a watch
      // on the file would follow the old one.
      watcher = watch(dirname(log), (_event, name) => {
        if (name === null || name === basename(log)) check();
      });
    } catch {
      watcher = null;
    }
    check();
  });
}

/**
 * The reply to the request `block`: the section right under it when that is a reply (`👍` or `🚫` with
 * a duration) or a notice that stands alone (the daemon will not run it); null while it waits or runs.
 * The request is the first copy of the block from `floor` on, where it was appended: a copy further
 * down is a realm's text (a page can print the code it was sent and a reply under it). Without one
 * there (an edit moved the request up), the last copy in the log.
 */
export function answerUnder(text: string, block: string, floor = 0): { ok: boolean; text: string } | null {
  const first = text.indexOf(block, floor);
  const start = first !== -1 ? first : text.lastIndexOf(block);
  if (start === -1 || (start > 0 && text[start - 1] !== '\n')) return null;
  let at = start + block.length;
  while (at < text.length && isBlankLine(lineAt(text, at))) at = nextLineStart(text, at);
  if (at >= text.length) return null;
  const header = lineAt(text, at);
  const reply = /^#### (👍|🚫)\S.* \([^)]+\)\s*$/u.exec(header);
  const notice = /^#### ⚠️daebug at /u.test(header);
  if (!reply && !notice) return null;
  const end = sectionEnd(text, at);
  const section = text.slice(at, end).replace(/\n+$/, '\n');
  if (reply) return { ok: reply[1] === '👍', text: section };
  // A notice followed by the request's marker or reply is about something else: keep waiting.
  let next = end;
  while (next < text.length && isBlankLine(lineAt(text, next))) next = nextLineStart(text, next);
  return next < text.length && /^#### (👍|🚫|⏳)/u.test(lineAt(text, next)) ? answerUnder(text.slice(0, at) + text.slice(next), block, start) : { ok: false, text: section };
}
