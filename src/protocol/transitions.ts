/**
 * The transitions of files.md for requests and their jobs: accept, start, tick, stream, finish,
 * late results, cancel and restart recovery. Each is (log text, event, clock) → new log text; the
 * text is decoded (see log-text.ts) and times are passed in as `HH:MM:SS`.
 */
import { appendSection, composeLog, type Above } from './compose.js';
import { scanLog } from './log-map.js';
import { agentHeaderLine, parseAgentHeader, noticeHeaderLine, pendingMarkerLines, replyHeaderLine, runningLine } from './grammar.js';
import { agentTextStart, fenceAbove, findMarkerUnderFence, findPendingMarkers, findUnansweredFence, matchMarkers, readLayout, type LogLayout, type PendingMarker } from './layout.js';
import { fencedBlock, lineAt, nextLineStart, trimLeadingBlankLines, trimTrailingBlankLines } from './log-text.js';
import { isSuccess, renderEvents, renderOutcome, type JobOutcome, type LogEvent } from './render.js';
import { classifyTailText, type TailClass } from './tail.js';
import { formatDuration } from './time.js';

/** What identifies a job in its log: the realm, the agent, and the request's fence as written. */
export interface JobRef {
  realm: string;
  agent: string;
  /** The request's fence exactly as in the file, opening line to closing line, without the final line break. */
  fence: string;
  /** `HH:MM:SS` when the request was accepted. */
  requestedAt: string;
}

/** A request taken from a chunk: becomes one job. */
export interface AcceptedRequest extends JobRef {
  code: string;
}

/** The result of accepting a tail. */
export interface AcceptResult {
  text: string;
  requests: AcceptedRequest[];
  /** What the tail was: a sync that accepted nothing need not classify it again. */
  tail: TailClass['kind'];
}

/** accept: moves the footer below a request chunk and puts a waiting marker under each executable fence. */
export function acceptChunk(text: string, realm: string, at: string): AcceptResult {
  const layout = withRequestAboveFooter(readLayout(text));
  const tail = classifyTailText(layout.tail);
  if (tail.kind !== 'request') return { text, requests: [], tail: tail.kind };

  const marker = pendingMarkerLines('waiting', realm, at).join('\n') + '\n';
  const agent = tail.agent;
  let chunk = '';
  let from = tail.header ? nextLineStart(layout.tail, tail.header.start) : 0;
  for (const fence of tail.requests) {
    const after = nextLineStart(layout.tail, fence.end);
    chunk += layout.tail.slice(from, after);
    if (!chunk.endsWith('\n')) chunk += '\n';
    // Keep the agent's next line out of the marker's paragraph, as a reply would.
    chunk += marker + (after < layout.tail.length && lineAt(layout.tail, after).trim() !== '' ? '\n' : '');
    from = after;
  }
  chunk += layout.tail.slice(from);
  const header = tail.header ? tail.header.line : agentHeaderLine(agent, at);
  const body = trimTrailingBlankLines(trimLeadingBlankLines(chunk));
  const above = appendSection(layout.above, `${header}\n${body}\n`);
  const requests = tail.requests.map((fence) => ({ realm, agent, fence: fence.raw, requestedAt: at, code: fence.code }));
  return { text: composeLog(above, '', realm), requests, tail: tail.kind };
}

/**
 * A request an edit tool put above the footer, after the last daemon section, is taken as if it were
 * below: that text joins the tail (the footer then moves below it, as for any request). Text there
 * without a closed executable fence is a note that was already moved above the footer: left alone.
 */
function withRequestAboveFooter(layout: LogLayout): LogLayout {
  if (layout.footer === null) return layout;
  const start = agentTextStart(layout.above);
  if (start >= layout.above.length || classifyTailText(layout.above.slice(start)).kind !== 'request') return layout;
  return { ...layout, above: layout.above.slice(0, start), tail: layout.above.slice(start) + layout.tail };
}

/** note: after a quiet second, the footer moves below text that holds no request. */
export function acceptNote(text: string, realm: string): string {
  const layout = readLayout(text);
  if (classifyTailText(layout.tail).kind !== 'note') return text;
  const note = trimTrailingBlankLines(trimLeadingBlankLines(layout.tail));
  return composeLog(appendSection(layout.above, note + '\n'), '', realm);
}

/** A transition that may not find what it looks for in the file. */
export interface EditResult {
  text: string;
  found: boolean;
}

/** Applies `edit` to the job's pending marker, if it is still in the log. */
function editMarker(text: string, job: JobRef, edit: (above: string, marker: PendingMarker) => Above): EditResult {
  const layout = readLayout(text);
  const marker = findMarkerUnderFence(layout.above, job.fence);
  if (!marker) return { text, found: false };
  return { text: composeLog(edit(layout.above, marker), layout.tail, job.realm), found: true };
}

/** start: the job's marker turns from waiting to running. */
export function startJob(text: string, job: JobRef, at: string): EditResult {
  return editMarker(text, job, (above, marker) => {
    const lines = pendingMarkerLines('running', job.realm, at);
    return [above.slice(0, marker.start), lines[0] + '\n' + above.slice(marker.streamStart, marker.statusStart) + lines[1] + '\n', above.slice(marker.end)];
  });
}

/** tick: only the `executing (<n>s)` line of the running marker changes (with `, not responding` when its realm stopped answering). */
export function tickJob(text: string, job: JobRef, seconds: number, notResponding = false): EditResult {
  return editMarker(text, job, (above, marker) => [above.slice(0, marker.statusStart), runningLine(seconds, notResponding) + '\n', above.slice(marker.end)]);
}

/** stream: the events so far replace the previous copy between the marker's header and its status line. */
export function streamJobEvents(text: string, job: JobRef, events: readonly LogEvent[], budget?: number): EditResult {
  return editMarker(text, job, (above, marker) => [above.slice(0, marker.streamStart), renderEvents(events, budget), above.slice(marker.statusStart)]);
}

/** How a finished job is written. */
export interface Finish {
  outcome: JobOutcome;
  events: readonly LogEvent[];
  /** `HH:MM:SS` of the finish. */
  at: string;
  /** Finish time minus start time. */
  durationMs: number;
  /** The output budget of each block and of the events together (default 4 KiB). */
  maxOutputBytes?: number;
}

/** Where a reply landed: in place of its marker, under its fence, or above the footer with a notice. */
export type ReplyPlacement = 'marker' | 'fence' | 'footer';

/** The reply: header, result block, the job's events. */
function renderReply(job: JobRef, finish: Finish): string {
  const header = replyHeaderLine(isSuccess(finish.outcome), job.realm, finish.at, formatDuration(finish.durationMs));
  return `${header}\n${renderOutcome(finish.outcome, job.realm, finish.maxOutputBytes)}${renderEvents(finish.events, finish.maxOutputBytes)}`;
}

/** `text` with `section` put in place of `[start, end)`, keeping one empty line between it and what follows. */
function replaceRange(text: string, start: number, end: number, section: string): string[] {
  const followedByText = end < text.length && lineAt(text, end).trim() !== '';
  return [text.slice(0, start), section, followedByText ? '\n' : '', text.slice(end)];
}

/**
 * finish: the job's marker becomes its reply. When the marker was edited away the reply goes right
 * under the job's fence; when that is gone too, above the footer after a notice. Nothing is dropped.
 */
export function finishJob(text: string, job: JobRef, finish: Finish): { text: string; placement: ReplyPlacement } {
  const layout = readLayout(text);
  const reply = renderReply(job, finish);
  const marker = findMarkerUnderFence(layout.above, job.fence);
  if (marker) {
    return { text: composeLog(replaceRange(layout.above, marker.start, marker.end, reply), layout.tail, job.realm), placement: 'marker' };
  }
  const under = findUnansweredFence(layout.above, job.fence);
  if (under !== -1) {
    return { text: composeLog(replaceRange(layout.above, under, under, reply), layout.tail, job.realm), placement: 'fence' };
  }
  const why = `the request at ${job.requestedAt} was edited or removed while it ran; its reply follows.`;
  const above = appendSection(layout.above, renderNotice(why, finish.at) + reply);
  return { text: composeLog(above, layout.tail, job.realm), placement: 'footer' };
}

/** A late result (after its job timed out) as a notice above the footer. */
export function writeLateResult(text: string, job: JobRef, finish: Finish): string {
  const notice = renderNotice(`late result for the request at ${job.requestedAt}:`, finish.at);
  const blocks = renderOutcome(finish.outcome, job.realm, finish.maxOutputBytes) + renderEvents(finish.events, finish.maxOutputBytes);
  return writeAboveFooter(text, job.realm, notice + blocks);
}

/** `#### ⚠️daebug at <at>` and a Text block. */
export function renderNotice(message: string, at: string): string {
  return `${noticeHeaderLine(at)}\n${fencedBlock('Text', message)}`;
}

/** notice: something surprising, said above the footer. */
export function writeNotice(text: string, realm: string, message: string, at: string): string {
  return writeAboveFooter(text, realm, renderNotice(message, at));
}

/** Appends a section above the footer, keeping the tail. */
export function writeAboveFooter(text: string, realm: string, section: string): string {
  const layout = readLayout(text);
  return composeLog(appendSection(layout.above, section), layout.tail, realm);
}

/**
 * cancel: queued jobs whose fences are gone are dropped. Waiting markers that no longer sit under a
 * fence of a job still queued are removed, and a notice names each dropped request.
 */
export function cancelJobs(text: string, realm: string, cancelled: readonly JobRef[], remaining: readonly JobRef[], at: string): string {
  const layout = readLayout(text);
  const kept = new Set(matchMarkers(layout.above, remaining.map((job) => job.fence)).map((marker) => marker?.start));
  const times = cancelled.map((job) => job.requestedAt).join(', ');
  const message =
    cancelled.length === 1
      ? `the request at ${times} was edited or removed before it ran, so it was not run. Append it again at the end to run it.`
      : `${cancelled.length} requests (at ${times}) were edited or removed before they ran, so they were not run. Append them again at the end to run them.`;
  // The notice takes the place of the first marker it is about, not a place below later replies.
  const above: string[] = [];
  let from = 0;
  let placed = false;
  for (const marker of findPendingMarkers(layout.above)) {
    if (marker.header.state !== 'waiting' || kept.has(marker.start)) continue;
    above.push(layout.above.slice(from, marker.start));
    if (!placed) above.push(renderNotice(message, at));
    placed = true;
    from = marker.end;
  }
  above.push(layout.above.slice(from));
  return composeLog(placed ? above : appendSection(above, renderNotice(message, at)), layout.tail, realm);
}

/**
 * drop: requests that will not run (their realm is gone) get a notice in place of their waiting
 * marker, saying why and what to do. A request whose marker is not found is left as it is.
 */
export function dropJobs(text: string, realm: string, jobs: readonly JobRef[], message: string, at: string): string {
  const layout = readLayout(text);
  const markers = matchMarkers(layout.above, jobs.map((job) => job.fence)).filter((marker): marker is PendingMarker => marker !== null);
  if (markers.length === 0) return text;
  let above = layout.above;
  for (const marker of markers.sort((a, b) => b.start - a.start)) above = replaceRange(above, marker.start, marker.end, renderNotice(message, at)).join('');
  return composeLog(above, layout.tail, realm);
}

/**
 * stale: every pending marker that no live job accounts for (`live`: the fences of the jobs still
 * queued, running or being written, in file order) gets a notice in its place. Such a marker came
 * back with an older copy of the log, or lost its fence to an edit while its job ran; left alone it
 * would say `queued` or `executing` for good.
 */
export function unmarkStale(text: string, realm: string, live: readonly string[], at: string): string {
  const layout = readLayout(text);
  const stale = staleMarkers(layout.above, live);
  if (stale.length === 0) return text;
  const message = 'this request is not running: its job ended, or an older copy of the log brought this marker back, and its answer is not known. Append the request again at the end to run it.';
  let above = layout.above;
  for (const marker of stale.reverse()) above = replaceRange(above, marker.start, marker.end, renderNotice(message, at)).join('');
  return composeLog(above, layout.tail, realm);
}

/** The pending markers in `above` that sit under none of the `live` fences (or under no fence at all). */
export function staleMarkers(above: string, live: readonly string[]): PendingMarker[] {
  const fences = new Set(live);
  return findPendingMarkers(above).filter((marker) => {
    const fence = fenceAbove(above, marker.start);
    return fence === null || !fences.has(fence);
  });
}

/** The notice of a request whose job an earlier daemon handed to `realm` and did not see end. */
export function interruptedMessage(realm: string): string {
  return `this request was interrupted: daebug restarted before ${realm} answered. Append it again to run it.`;
}

/**
 * Restart recovery: every pending marker left by an earlier daemon becomes a notice in its place, but
 * for the markers under the fences in `keep` (first ones first, each fence as often as it is listed):
 * requests that were never handed to their realm, which run now.
 */
export function interruptPendingMarkers(text: string, realm: string, at: string, keep: readonly string[] = []): { text: string; interrupted: number } {
  const layout = readLayout(text);
  const left = [...keep];
  const markers = findPendingMarkers(layout.above).filter((marker) => {
    const index = left.indexOf(fenceAbove(layout.above, marker.start) ?? '');
    if (index !== -1) left.splice(index, 1);
    return index === -1;
  });
  if (markers.length === 0) return { text, interrupted: 0 };
  let above = layout.above;
  for (const marker of markers.reverse()) above = replaceRange(above, marker.start, marker.end, renderNotice(interruptedMessage(marker.header.realm), at)).join('');
  return { text: composeLog(above, layout.tail, realm), interrupted: markers.length };
}

/** A request whose pending marker an earlier daemon left: its fence, code and agent. */
export interface LeftRequest {
  fence: string;
  code: string;
  agent: string;
  /** The marker's time. */
  at: string;
}

/** The requests under the pending markers of `text`, in file order (their fences as a job's `fence`). */
export function leftRequests(text: string): LeftRequest[] {
  const { above } = readLayout(text);
  const headers = scanLog(above).agentHeaders;
  const out: LeftRequest[] = [];
  for (const marker of findPendingMarkers(above)) {
    const fence = fenceAbove(above, marker.start);
    const tail = fence === null ? null : classifyTailText(fence + '\n');
    const code = tail?.kind === 'request' ? tail.requests[0]?.code : undefined;
    if (fence === null || code === undefined) continue;
    const header = headers.filter((start) => start < marker.start).at(-1);
    const agent = header === undefined ? null : parseAgentHeader(lineAt(above, header))?.agent;
    out.push({ fence, code, agent: agent ?? 'agent', at: marker.header.at });
  }
  return out;
}
