/**
 * Checks that a body is the realm message its route expects; a malformed one is a 400 with a short
 * reason, never a crash further in.
 */
import type { ConnectMessage, DiagnosticMessage, NodeConnectMessage, NodeExitMessage, TestProgressEvent, TestProgressMessage, EventsMessage, HeartbeatMessage, ResultMessage, WireEvent, WireOutcome, WorkerHealth } from '../protocol/messages.js';
import type { EventSource } from '../protocol/render.js';
import { REALM_NAME_RULE, isRealmName } from '../protocol/safe-text.js';
import { HttpError } from './http.js';

const SOURCES = new Set<EventSource>([
  'console.log', 'console.info', 'console.warn', 'console.error', 'console.debug', 'console.trace',
  'console.table', 'console.dir', 'console.group', 'console.assert', 'console.count', 'console.time', 'window.onerror', 'self.onerror', 'unhandledrejection', 'uncaughtException',
  'unhandledRejection', 'network',
]);
const LANGS = new Set(['JSON', 'Text', 'Error']);
const WORKER_STATES = new Set<WorkerHealth>(['alive', 'restarted', 'hung', 'terminated']);

function bad(reason: string): never {
  throw new HttpError(400, 'ERR_BAD_MESSAGE', reason);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') bad(`${what} must be a string`);
  return value;
}

function events(value: unknown): WireEvent[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) bad('events must be an array');
  return value.map((item, index) => {
    const event = record(item, `events[${index}]`);
    if (!SOURCES.has(event.source as EventSource)) bad(`events[${index}].source is not a known source`);
    if (!LANGS.has(event.lang as string)) bad(`events[${index}].lang must be JSON, Text or Error`);
    const time = typeof event.time === 'number' && Number.isFinite(event.time) ? event.time : Date.now();
    const location = typeof event.location === 'string' ? event.location : undefined;
    return { source: event.source as EventSource, lang: event.lang as WireEvent['lang'], text: text(event.text, `events[${index}].text`), time, ...(location ? { location } : {}) };
  });
}

function outcome(value: unknown): WireOutcome {
  const body = record(value, 'outcome');
  if (body.kind === 'error') return { kind: 'error', error: text(body.error, 'outcome.error') };
  if (body.kind !== 'value') bad('outcome.kind must be value or error');
  const rendered = record(body.value, 'outcome.value');
  if (!LANGS.has(rendered.lang as string)) bad('outcome.value.lang must be JSON, Text or Error');
  return { kind: 'value', value: { lang: rendered.lang as 'JSON' | 'Text' | 'Error', text: text(rendered.text, 'outcome.value.text') } };
}

/** A job's result; the job id comes from the path. */
export function resultMessage(body: unknown, jobId: string): ResultMessage {
  const message = record(body, 'the body');
  const durationMs = typeof message.durationMs === 'number' && Number.isFinite(message.durationMs) ? message.durationMs : 0;
  return { type: 'result', jobId, outcome: outcome(message.outcome), durationMs, events: events(message.events) };
}

/** Events streamed during a job or in the background. */
export function eventsMessage(body: unknown): EventsMessage {
  const message = record(body, 'the body');
  const jobId = message.jobId === undefined || message.jobId === null ? undefined : text(message.jobId, 'jobId');
  return { type: 'events', ...(jobId ? { jobId } : {}), events: events(message.events) };
}

/** A realm name from a path or a body; anything else is a 400 ERR_BAD_REALM. */
export function realmName(value: string, what: string): string {
  if (!isRealmName(value)) throw new HttpError(400, 'ERR_BAD_REALM', `${what}: ${REALM_NAME_RULE}`);
  return value;
}

/** A page's report on its worker. */
export function heartbeatMessage(body: unknown): HeartbeatMessage {
  const worker = record(record(body, 'the body').worker, 'worker');
  if (!WORKER_STATES.has(worker.state as WorkerHealth)) bad(`worker.state must be one of ${[...WORKER_STATES].join(', ')}`);
  // The reason is written into the worker's log: a short line.
  const reason = typeof worker.reason === 'string' ? worker.reason.slice(0, 200) : undefined;
  return { type: 'heartbeat', worker: { name: realmName(text(worker.name, 'worker.name'), 'worker.name'), state: worker.state as WorkerHealth, ...(reason ? { reason } : {}) } };
}

/** A client's report of its own failure. */
export function diagnosticMessage(body: unknown): DiagnosticMessage {
  const message = record(body, 'the body');
  if (message.about !== undefined && message.about !== 'shared-worker') throw new HttpError(400, 'ERR_BAD_MESSAGE', 'about must be "shared-worker"');
  return { type: 'diagnostic', message: text(message.message, 'message'), ...(message.about ? { about: message.about } : {}) };
}

/** A realm asking to connect; `kind` comes from the route. */
export function connectMessage(body: unknown): Omit<ConnectMessage, 'kind'> {
  const message = record(body, 'the body');
  const name = realmName(text(message.name, 'name'), 'name');
  const url = message.url === undefined ? '' : text(message.url, 'url');
  const secret = message.secret === undefined || message.secret === null ? undefined : text(message.secret, 'secret');
  if (url.length > 4096) bad('url is longer than 4096 characters');
  return { type: 'connect', name, url, ...(secret ? { secret } : {}), ...(message.helper === true ? { helper: true } : {}) };
}

/** A Node process asking to connect: `node-<script>`, its process id and command line. */
export function nodeConnectMessage(body: unknown): NodeConnectMessage {
  const message = record(body, 'the body');
  const name = realmName(text(message.name, 'name'), 'name');
  if (!name.startsWith('node-')) bad('a Node process connects as node-<name>');
  const pid = message.pid;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1) bad('pid must be a process id');
  const command = text(message.command, 'command');
  if (command.length > 4096) bad('command is longer than 4096 characters');
  return { type: 'connect-node', name, pid, command, reconnect: message.reconnect === true };
}

/** What a Node process writes as it exits. */
export function nodeExitMessage(body: unknown): NodeExitMessage {
  const message = record(body, 'the body');
  const code = typeof message.code === 'number' && Number.isInteger(message.code) ? message.code : bad('code must be a whole number');
  return { type: 'node-exit', code, events: events(message.events) };
}

function duration(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function strings(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) bad(`${what} must be an array of strings`);
  return value.map((item, index) => text(item, `${what}[${index}]`));
}

/** One step of a test run, each field checked: its names end up in the realm's log. */
function testEvent(value: unknown, index: number): TestProgressEvent {
  const event = record(value, `events[${index}]`);
  const path = () => strings(event.path, `events[${index}].path`);
  const reason = typeof event.reason === 'string' ? { reason: event.reason } : {};
  switch (event.kind) {
    case 'plan':
      return { kind: 'plan', total: duration(event.total), files: event.files === undefined ? [] : strings(event.files, `events[${index}].files`) };
    case 'suite':
    case 'start':
      return { kind: event.kind, path: path() };
    case 'pass':
    case 'skip':
    case 'todo':
      return { kind: event.kind, path: path(), durationMs: duration(event.durationMs), ...reason };
    case 'fail':
      return { kind: 'fail', path: path(), durationMs: duration(event.durationMs), error: text(event.error, `events[${index}].error`), ...(event.cancelled === true ? { cancelled: true } : {}) };
    case 'end':
      return { kind: 'end', durationMs: duration(event.durationMs) };
    default:
      bad(`events[${index}].kind is not a test event`);
  }
}

/** Test progress streamed by a realm. */
export function testProgressMessage(body: unknown): TestProgressMessage {
  const message = record(body, 'the body');
  if (!Array.isArray(message.events)) bad('events must be an array');
  return { type: 'test-progress', runId: text(message.runId, 'runId'), events: message.events.map(testEvent) };
}
