/**
 * Positions in a job's code as the agent wrote it. A realm compiles a job's body as an async function
 * named by a `//# sourceURL=daebug-request-<job id>` comment, two lines below the function's head
 * (`async function anonymous(<params>\n) {\n`; a Node realm compiles with the same offset), and the
 * body is the request rewritten by prepare-code.ts. A frame's line and column in that function are
 * turned back into a line and column of the fence (line 1 is the fence's first code line).
 */
import type { CopiedRun } from './prepare-code.js';
export { REQUEST_SOURCE_PREFIX } from '../protocol/messages.js';

/** Lines a realm puts above a job's body in the function it compiles. */
export const BODY_LINE_OFFSET = 2;

/** What is needed to map a job's positions back into its fence. */
export interface RequestSource {
  code: string;
  body: string;
  runs: readonly CopiedRun[];
  nodeBody: string;
  nodeRuns: readonly CopiedRun[];
  /** `HH:MM:SS` of the request, to name it in frames of a later job. */
  requestedAt: string;
}

/** Jobs kept for their frames: a function a request declared may throw many requests later. */
const KEPT = 500;

/** The recent jobs' sources by job id, the oldest dropped first. */
export class RequestSources {
  private readonly sources = new Map<string, RequestSource>();

  remember(jobId: string, source: RequestSource): void {
    this.sources.set(jobId, source);
    if (this.sources.size > KEPT) this.sources.delete(this.sources.keys().next().value!);
  }

  /**
   * `request:<line>:<column>` for a frame in `jobId`'s code (`request@HH:MM:SS:...` when that is not
   * the job being answered), or null when the job is not known or the position is daebug's.
   */
  locate(jobId: string, line: number, column: number, node: boolean, current: string | null): string | null {
    const source = this.sources.get(jobId);
    if (!source) return null;
    const position = fencePosition(node ? source.nodeBody : source.body, node ? source.nodeRuns : source.runs, source.code, line - BODY_LINE_OFFSET, column);
    if (!position) return null;
    return `${jobId === current ? 'request' : `request@${source.requestedAt}`}:${position.line}:${position.column}`;
  }
}

/** The 1-based line and column in `code` of a 1-based `line` and `column` of `body`; null outside it. */
export function fencePosition(body: string, runs: readonly CopiedRun[], code: string, line: number, column: number): { line: number; column: number } | null {
  if (line < 1 || column < 1 || runs.length === 0) return null;
  let lineStart = 0;
  for (let seen = 1; seen < line; seen++) {
    const next = body.indexOf('\n', lineStart);
    if (next === -1) return null;
    lineStart = next + 1;
  }
  const offset = lineStart + column - 1;
  if (offset > body.length) return null;
  // Inside a copied run: exact. In daebug's own text (`return (`): the next character that is the agent's.
  const run = runs.find((candidate) => offset < candidate.from + candidate.length && offset >= candidate.from) ?? runs.find((candidate) => candidate.from >= offset) ?? runs[runs.length - 1]!;
  const at = run.to + Math.max(0, Math.min(offset - run.from, run.length - 1));
  const before = code.slice(0, at);
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}
