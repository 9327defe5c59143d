/**
 * Reads a log's tail with a CommonMark tokenizer (micromark), so fences are recognised exactly as a
 * Markdown viewer shows them: backticks or tildes, longer fences holding shorter ones, indented
 * fences, fences in lists and quotes. Only the tail is tokenized; the history above the footer is
 * never parsed.
 */
import { parse, postprocess, preprocess } from 'micromark';
import type { Event, Token } from 'micromark-util-types';
import { isBlankLine, isExecutableInfo, parseAgentHeader, type AgentHeader } from './grammar.js';
import { readLayout } from './layout.js';
import { decodeLog, lineAt, lineStartAt, nextLineStart } from './log-text.js';

/** Tails longer than this (in UTF-16 units) are kept as notes instead of being read as requests. */
export const MAX_TOKENIZED_TAIL = 256 * 1024;

/** One fenced block in the tail, with offsets relative to the tail's first character. */
export interface TailFence {
  /** Offset of the start of the opening line (including any list or quote prefix). */
  start: number;
  /** Offset just past the closing line's text (before its line break). */
  end: number;
  /** 1-based line numbers of the opening and closing lines within the tail. */
  openLine: number;
  closeLine: number;
  /** The info string as written (e.g. `js title="x"`). */
  info: string;
  /** The code, with the fence's indentation removed. */
  code: string;
  /** The fence's lines exactly as in the file, opening to closing line. */
  raw: string;
  closed: boolean;
  executable: boolean;
}

/** The agent header line of a chunk, with its offsets in the tail. */
export interface ChunkHeader extends AgentHeader {
  start: number;
  end: number;
  line: string;
}

/** What the tail of a log holds, and what the daemon does about it (files.md, The tail and its chunk). */
export type TailClass =
  | { kind: 'empty' }
  | { kind: 'draft'; fences: TailFence[] }
  | { kind: 'note'; fences: TailFence[]; /** Set when the tail was too long to read as requests. */ oversized?: number }
  | { kind: 'request'; agent: string; header: ChunkHeader | null; requests: TailFence[]; fences: TailFence[] };

/** The classification of a log, with where its tail starts (in the decoded text). */
export type LogTail = TailClass & { tailStart: number; tail: string; hasFooter: boolean };

/** Finds a log's tail and classifies it. Accepts raw file text (BOM and CRLF are handled). */
export function classifyTail(raw: string): LogTail {
  const { text } = decodeLog(raw);
  const layout = readLayout(text);
  return { ...classifyTailText(layout.tail), tailStart: layout.tailStart, tail: layout.tail, hasFooter: layout.footer !== null };
}

/**
 * The last tail classified and what it was: a write that waits for a quick answer reads the same
 * tail again (log-sync.ts), and tokenizing is most of the cost of a read. Results are not changed by
 * their users.
 */
let lastTail: { tail: string; result: TailClass } | null = null;

/** Classifies tail text on its own (offsets in the result are relative to `tail`). */
export function classifyTailText(tail: string): TailClass {
  if (lastTail?.tail === tail) return lastTail.result;
  const result = classifyFreshTail(tail);
  lastTail = { tail, result };
  return result;
}

function classifyFreshTail(tail: string): TailClass {
  if (isBlankLine(tail)) return { kind: 'empty' };
  // Every fence needs three backticks or tildes; without them there is nothing to tokenize.
  if (!tail.includes('```') && !tail.includes('~~~')) return { kind: 'note', fences: [] };
  // micromark reads about 1 MB a second; a huge paste must not stall every realm for minutes.
  if (tail.length > MAX_TOKENIZED_TAIL) return { kind: 'note', fences: [], oversized: tail.length };
  const fences = readFences(tail);
  if (fences.some((fence) => !fence.closed)) return { kind: 'draft', fences };
  const requests = fences.filter((fence) => fence.executable);
  if (requests.length === 0) {
    // An empty ```js fence is what an editor leaves while a person is about to type the code.
    const emptyCode = fences.some((fence) => isExecutableInfo(fence.info));
    return emptyCode ? { kind: 'draft', fences } : { kind: 'note', fences };
  }
  const header = readChunkHeader(tail);
  return { kind: 'request', agent: header?.agent ?? 'agent', header, requests, fences };
}

function readChunkHeader(tail: string): ChunkHeader | null {
  for (let at = 0; at < tail.length; at = nextLineStart(tail, at)) {
    const line = lineAt(tail, at);
    if (isBlankLine(line)) continue;
    const header = parseAgentHeader(line.trimEnd());
    return header ? { ...header, start: at, end: at + line.length, line } : null;
  }
  return null;
}

interface OpenFence {
  token: Token;
  fences: number;
  info: string;
  values: Map<number, string>;
  lastFenceEnd: number;
  lastFenceLine: number;
}

/** Every fenced block in `tail`, as a Markdown viewer shows them (offsets relative to `tail`). */
export function readFences(tail: string): TailFence[] {
  const events: Event[] = postprocess(parse().document().write(preprocess()(tail, undefined, true)));
  const fences: TailFence[] = [];
  let open: OpenFence | null = null;
  for (const [kind, token, context] of events) {
    if (token.type === 'codeFenced') {
      if (kind === 'enter') {
        open = { token, fences: 0, info: '', values: new Map(), lastFenceEnd: 0, lastFenceLine: 0 };
      } else if (open) {
        fences.push(toTailFence(tail, open));
        open = null;
      }
      continue;
    }
    if (!open || kind !== 'enter') continue;
    if (token.type === 'codeFencedFence') {
      open.fences += 1;
      open.lastFenceEnd = token.end.offset;
      open.lastFenceLine = token.end.line;
    } else if (token.type === 'codeFencedFenceInfo' && open.fences === 1) {
      open.info = context.sliceSerialize(token);
    } else if (token.type === 'codeFencedFenceMeta' && open.fences === 1) {
      open.info += ' ' + context.sliceSerialize(token);
    } else if (token.type === 'codeFlowValue') {
      open.values.set(token.start.line, context.sliceSerialize(token));
    }
  }
  return fences;
}

function toTailFence(tail: string, open: OpenFence): TailFence {
  const openLine = open.token.start.line;
  const closed = open.fences >= 2;
  const closeLine = closed ? open.lastFenceLine : open.token.end.line;
  const start = lineStartAt(tail, open.token.start.offset);
  const closeLineStart = lineStartAt(tail, closed ? open.lastFenceEnd : open.token.end.offset);
  const end = closeLineStart + lineAt(tail, closeLineStart).length;
  const codeLines: string[] = [];
  for (let line = openLine + 1; line < (closed ? closeLine : closeLine + 1); line++) codeLines.push(open.values.get(line) ?? '');
  const code = codeLines.join('\n');
  return {
    start,
    end,
    openLine,
    closeLine,
    info: open.info,
    code,
    raw: tail.slice(start, end),
    closed,
    executable: closed && isExecutableInfo(open.info) && code.trim() !== '',
  };
}
