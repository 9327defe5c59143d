/**
 * The line grammar of files.md: every line the daemon writes or recognises, as builders and matchers.
 * Nothing here knows about files or positions; see layout.ts for that.
 */

/** The second line of the footer; the last line that starts with it is the footer. */
export const FOOTER_PROMPT = '> Append your JavaScript snippet below';

/** The footer line that follows the dashed rule. */
export const FOOTER_PROMPT_LINE = `${FOOTER_PROMPT} to execute against this page.`;

/** The dashed rule that opens the footer. */
export const FOOTER_RULE = '-'.repeat(70);

/** The whole footer as written: rule, prompt line, then two empty lines. */
export const FOOTER = `${FOOTER_RULE}\n${FOOTER_PROMPT_LINE}\n\n\n`;

const CLOCK = String.raw`\d{1,2}:\d{2}:\d{2}`;
// Emoji may arrive with or without the variation selector, depending on the editor that saved them.
const VS = '\uFE0F?';

/**
 * `### 🗣️agent at HH:MM:SS` as the daemon writes it; `### 🗣️agent to realm at HH:MM:SS` as 0.1.0 and
 * the earlier daebug wrote it (time optional), or the legacy `> **agent** to realm ...`.
 */
const AGENT_HEADER = new RegExp(String.raw`^### 🗣${VS}\s*(\S+?)(?: to (\S+?))?(?: at (${CLOCK}))?\s*$`, 'u');
const LEGACY_AGENT_HEADER = new RegExp(String.raw`^> \*\*(\S+?)\*\* to (\S+)(?: at (${CLOCK}))?\s*$`, 'u');

// Markers and replies name the realm that answers; 0.1.0 and the earlier daebug also named the agent (`to <agent>`).
const PENDING_HEADER = new RegExp(String.raw`^#### (👍|⏳)(\S+?)(?: to (\S+))? at (${CLOCK})\s*$`, 'u');
const REPLY_HEADER = new RegExp(String.raw`^#### (👍|🚫)(\S+?)(?: to (\S+))? at ${CLOCK} \([^)]*\)\s*$`, 'u');
const BACKGROUND_HEADER = new RegExp(String.raw`^#### 📣\S+ background at ${CLOCK}\s*$`, 'u');
const NOTICE_HEADER = new RegExp(String.raw`^#### ⚠${VS}daebug at ${CLOCK}\s*$`, 'u');
const TEST_HEADER = /^## Test (Progress|Results):/;
const RUNNING_LINE = /^executing \(\d+s\)(, not responding)?\s*$/;
const QUEUED_LINE = /^queued\s*$/;
const EVENT_HEADER = /^##### /;
const OMITTED_LINE = /^\.\.\. \(\d+ more [a-z ]+ omitted\) \.\.\.$/;
const TEST_LINE = /^(✓|✗|○|▶) /u;
const RULE_LINE = /^-{70}\s*$/;
const TITLE_LINE = /^# \S/;

/** Languages of the blocks the daemon writes; agent fences never need them. */
const DAEMON_BLOCK_LANGS = new Set(['JSON', 'Text', 'Error']);

/** What an agent header line says. */
export interface AgentHeader {
  agent: string;
  /** The realm, in the form 0.1.0 and the earlier daebug wrote; null in today's. */
  realm: string | null;
  at: string | null;
  legacy: boolean;
}

/** Reads an agent header line (current or legacy form), or returns null. */
export function parseAgentHeader(line: string): AgentHeader | null {
  const current = AGENT_HEADER.exec(line);
  if (current) return { agent: current[1]!, realm: current[2] ?? null, at: current[3] ?? null, legacy: false };
  const legacy = LEGACY_AGENT_HEADER.exec(line);
  if (legacy) return { agent: legacy[1]!, realm: legacy[2]!, at: legacy[3] ?? null, legacy: true };
  return null;
}

/** What a pending marker header says. */
export interface PendingHeader {
  state: 'running' | 'waiting';
  realm: string;
  /** The agent, in the form 0.1.0 and the earlier daebug wrote; null in today's. */
  agent: string | null;
  at: string;
}

/** Reads a pending marker header (running or waiting), or returns null. */
export function parsePendingHeader(line: string): PendingHeader | null {
  const match = PENDING_HEADER.exec(line);
  if (!match) return null;
  return { state: match[1] === '👍' ? 'running' : 'waiting', realm: match[2]!, agent: match[3] ?? null, at: match[4]! };
}

/** True for the last line of a pending marker: `executing (<n>s)` or `queued`. */
export function isPendingStatusLine(line: string): boolean {
  return RUNNING_LINE.test(line) || QUEUED_LINE.test(line);
}

/** True for the first line of any section the daemon writes (reply, marker, background, notice, tests). */
export function isSectionHeader(line: string): boolean {
  if (line.startsWith('#### ')) {
    return PENDING_HEADER.test(line) || REPLY_HEADER.test(line) || BACKGROUND_HEADER.test(line) || NOTICE_HEADER.test(line);
  }
  return TEST_HEADER.test(line);
}

/** True for a reply header: `#### 👍realm at HH:MM:SS (4ms)` or its 🚫 form. */
export function isReplyHeader(line: string): boolean {
  return REPLY_HEADER.test(line);
}

/** True for lines that continue a daemon section: event headers, omission lines, test lines. */
export function isSectionBodyLine(line: string): boolean {
  return EVENT_HEADER.test(line) || OMITTED_LINE.test(line) || TEST_LINE.test(line) || isPendingStatusLine(line);
}

/** True when a fence with this info string is one the daemon wrote (result, event or error block). */
export function isDaemonBlockInfo(info: string): boolean {
  return DAEMON_BLOCK_LANGS.has(info.trim().split(/\s+/)[0] ?? '');
}

/** True for the dashed rule of the footer. */
export function isFooterRule(line: string): boolean {
  return RULE_LINE.test(line);
}

/** True for a level-1 heading line. */
export function isTitleLine(line: string): boolean {
  return TITLE_LINE.test(line);
}

/** True for a line that holds only white space. */
export function isBlankLine(line: string): boolean {
  return line.trim() === '';
}

/** True when the test section header is a progress header (replaced in place while a run goes on). */
export function isTestProgressHeader(line: string): boolean {
  return line.startsWith('## Test Progress:');
}

/**
 * `### 🗣️agent at HH:MM:SS`. The realm is the log's own, so it is not repeated here (0.1.0 wrote
 * `### 🗣️agent to realm at HH:MM:SS`, which is still read).
 */
export function agentHeaderLine(agent: string, at: string): string {
  return `### 🗣️${agent} at ${at}`;
}

/** The two lines of a pending marker, running or waiting: `#### ⏳realm at HH:MM:SS` / `queued`. */
export function pendingMarkerLines(state: 'running' | 'waiting', realm: string, at: string, seconds = 0): [string, string] {
  return state === 'running' ? [`#### 👍${realm} at ${at}`, runningLine(seconds)] : [`#### ⏳${realm} at ${at}`, 'queued'];
}

/** `executing (<n>s)`, and `, not responding` while the realm's thread has stopped answering. */
export function runningLine(seconds: number, notResponding = false): string {
  return `executing (${Math.max(0, Math.floor(seconds))}s)${notResponding ? ', not responding' : ''}`;
}

/**
 * `#### 👍realm at HH:MM:SS (4ms)` or the 🚫 form for failures: who answered, when, how long. The
 * agent is named by the request's header just above (0.1.0 wrote `👍realm to agent at ...`).
 */
export function replyHeaderLine(ok: boolean, realm: string, at: string, duration: string): string {
  return `#### ${ok ? '👍' : '🚫'}${realm} at ${at} (${duration})`;
}

/** `#### 📣realm background at HH:MM:SS` */
export function backgroundHeaderLine(realm: string, at: string): string {
  return `#### 📣${realm} background at ${at}`;
}

/** `#### ⚠️daebug at HH:MM:SS` */
export function noticeHeaderLine(at: string): string {
  return `#### ⚠️daebug at ${at}`;
}

/** `... (<n> more background events omitted) ...` */
export function omittedLine(count: number): string {
  return `... (${count} more background events omitted) ...`;
}

/** True when an info string marks a fence as code to run: empty, `js`, `javascript` or `mjs`. */
export function isExecutableInfo(info: string): boolean {
  const word = info.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return word === '' || word === 'js' || word === 'javascript' || word === 'mjs';
}
