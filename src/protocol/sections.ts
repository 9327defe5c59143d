/**
 * Sections the daemon writes above the footer on its own: background events and test runs.
 */
import { composeLog } from './compose.js';
import { backgroundHeaderLine, isTestProgressHeader } from './grammar.js';
import { readLayout } from './layout.js';
import { mapLog } from './log-map.js';
import { fencedBlock, lineAt, nextLineStart } from './log-text.js';
import { renderEvents, type LogEvent } from './render.js';
import { oneLine } from './safe-text.js';
import { formatDuration } from './time.js';
import { writeAboveFooter } from './transitions.js';

/** background: events that arrived while no job ran, batched into one section above the footer. */
export function writeBackground(text: string, realm: string, events: readonly LogEvent[], at: string, budget?: number): string {
  if (events.length === 0) return text;
  return writeAboveFooter(text, realm, `${backgroundHeaderLine(realm, at)}\n${renderEvents(events, budget)}`);
}

/** Where a test run stands. */
export interface TestProgress {
  done: number;
  total: number;
  passed: number;
  failed: number;
  skipped: number;
  durationMs: number;
  /** The test running now, as `suite > name`. */
  current?: string;
}

/** One finished test. */
export interface TestEntry {
  /** Suite names, then the test name. */
  path: readonly string[];
  status: 'pass' | 'fail' | 'skip' | 'todo';
  durationMs: number;
  /** The error of a failed test (stack, actual/expected, diff). */
  error?: string;
  /** Why a test was skipped or is a todo, when given. */
  reason?: string;
}

/** Passing tests listed one per line; beyond this they are summed up in one line. */
const PASSES_LISTED = 50;

/** Test names and skip reasons are cut to this many characters. */
const NAME_MAX = 200;

/**
 * A test as one line, `suite > name`: names come from the realm's test files and must not add lines
 * (a fake request or reply) or open a fence in the log.
 */
function testName(path: readonly string[]): string {
  return oneLine(path.map((name) => oneLine(name, NAME_MAX)).join(' > '), NAME_MAX * 2);
}

/** The `## Test Progress` section: header and, while a test runs, its name. */
export function renderTestProgress(progress: TestProgress): string {
  const counts = `${progress.passed} pass, ${progress.failed} fail, ${progress.skipped} skip`;
  const header = `## Test Progress: ${progress.done}/${progress.total} · ${counts} (${formatDuration(progress.durationMs)})`;
  return progress.current ? `${header}\n▶ ${oneLine(progress.current, NAME_MAX * 2)}\n` : `${header}\n`;
}

/** The `## Test Results` section: failures with their errors first, then skips, then passes. */
export function renderTestResults(entries: readonly TestEntry[], durationMs: number): string {
  const failed = entries.filter((entry) => entry.status === 'fail');
  const skipped = entries.filter((entry) => entry.status === 'skip' || entry.status === 'todo');
  const passed = entries.filter((entry) => entry.status === 'pass');
  let text = `## Test Results: ${passed.length} pass, ${failed.length} fail, ${skipped.length} skip (${formatDuration(durationMs)})\n`;
  for (const entry of failed) {
    text += `✗ ${testName(entry.path)} (${formatDuration(entry.durationMs)})\n`;
    if (entry.error) text += fencedBlock('Error', entry.error);
  }
  for (const entry of skipped) {
    const mark = entry.status === 'todo' ? '# TODO' : '# SKIP';
    text += `○ ${testName(entry.path)} ${mark}${entry.reason ? ' ' + oneLine(entry.reason, NAME_MAX) : ''}\n`;
  }
  for (const entry of passed.slice(0, PASSES_LISTED)) text += `✓ ${testName(entry.path)} (${formatDuration(entry.durationMs)})\n`;
  if (passed.length > PASSES_LISTED) text += `✓ ... and ${passed.length - PASSES_LISTED} more passed\n`;
  return text;
}

/** Replaces the last test progress section in place, or appends `section` above the footer. */
function replaceTestProgress(text: string, realm: string, section: string): string {
  const layout = readLayout(text);
  const start = lastProgressHeader(layout.above);
  if (start === -1) return writeAboveFooter(text, realm, section);
  let end = nextLineStart(layout.above, start);
  while (end < layout.above.length && lineAt(layout.above, end).startsWith('▶ ')) end = nextLineStart(layout.above, end);
  return composeLog([layout.above.slice(0, start), section, layout.above.slice(end)], layout.tail, realm);
}

function lastProgressHeader(text: string): number {
  const { sections } = mapLog(text);
  for (let index = sections.length - 1; index >= 0; index--) {
    if (isTestProgressHeader(lineAt(text, sections[index]!.start))) return sections[index]!.start;
  }
  return -1;
}

/** test progress: one section, replaced in place as results arrive. */
export function writeTestProgress(text: string, realm: string, progress: TestProgress): string {
  return replaceTestProgress(text, realm, renderTestProgress(progress));
}

/** test results: the final section replaces the progress section. */
export function writeTestResults(text: string, realm: string, entries: readonly TestEntry[], durationMs: number): string {
  return replaceTestProgress(text, realm, renderTestResults(entries, durationMs));
}
