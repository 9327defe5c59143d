/**
 * Running one change on a log's text: on the whole text, or, for a long log, on a window of its end
 * (the history is left out unless the change needs it; see `windowOf`), and what then goes to disk:
 * the whole new text, or only the part after the history as read.
 */
import { lastPartAfter, windowOf } from '../protocol/layout.js';
import { decodeLog, encodeLog, logEncoding } from '../protocol/log-text.js';
import { rawText, type SharedStart } from './write-atomic.js';

/** A log as a change sees it. */
export type LogContent =
  | {
      kind: 'text';
      /** The log without BOM and with LF line breaks; a long log's history may be left out (see `windowOf`). */
      text: string;
      /** True when this is exactly what the daemon last wrote after reading every agent change in it. */
      ownWrite: boolean;
      /** Set when `text` is a window: its first `head` characters, then the log from offset `cut`. */
      window?: { head: number; cut: number };
    }
  | { kind: 'missing' }
  | { kind: 'unreadable'; reason: string };

/** A change sees about this many characters of the end of a long log (see `windowOf`). */
const WINDOW_CHARS = 64 * 1024;
/** Logs from this length on are changed through a window. */
const WINDOW_FROM_CHARS = 2 * WINDOW_CHARS;

/** What a change made of the log. */
export interface ChangeRun<T> {
  result: T;
  /** What to write: the whole text, or the part after a start shared with what was read; null for nothing. */
  next: string | SharedStart | null;
  /** Where the history left out of the window ends (0: none left out); searched already, next time not again. */
  checkedUpTo: number;
}

/** How the text was come by. */
export interface ChangeInput {
  /** The log's raw text (BOM and CRLF kept), as read or with an agent's text put back. */
  parts: { start: string; end: string };
  /** True when agent text was put back: the text must be written even if the change changes nothing. */
  merged: boolean;
  /** How far the history left out of the last window was searched (`checkedUpTo` of the last run). */
  checkedBefore: number;
  /** How many characters at the start are known to be those the last run saw (see `readLog`). */
  sameStart: number;
  ownWrite: boolean;
}

/** Runs `compute` on the log (through a window when it is long) and says what to write. */
export function runChange<T>(input: ChangeInput, compute: (content: LogContent) => { text: string | null; result: T }): ChangeRun<T> {
  const { parts, merged, ownWrite } = input;
  const encoding = logEncoding(parts.start.includes('\n') ? parts.start : rawText(parts));
  const bom = encoding.bom ? 1 : 0;
  // What the last window left out was scanned then; unless it changed, not again (see `windowOf`).
  const checked = !merged && input.sameStart - bom >= input.checkedBefore ? input.checkedBefore : 0;
  const long = !encoding.crlf && parts.start.length + parts.end.length - bom >= WINDOW_FROM_CHARS;
  const window = long ? windowOf(parts.start.slice(bom), parts.end, WINDOW_CHARS, checked) : null;
  let checkedUpTo = window?.cut ?? 0;
  // The whole text (a copy of the history), made only when the window does not do.
  let whole: string | null = null;
  const wholeText = () => (whole ??= decodeLog(rawText(parts)).text);
  let text = window?.text ?? wholeText();
  let computed = compute({ kind: 'text', text, ownWrite, ...(window ? { window: { head: window.head, cut: window.cut } } : {}) });
  let lastPart: string | null = null;
  if (window && computed.text !== null && computed.text !== text) {
    lastPart = lastPartAfter(window, computed.text);
    // The change rewrote the head (a file header): it runs again on the whole log.
    if (lastPart === null) {
      computed = compute({ kind: 'text', text: (text = wholeText()), ownWrite });
      checkedUpTo = 0;
    }
  }
  const unchanged = computed.text === null || computed.text === text;
  // Text put back from a backup is written even when the change itself changes nothing.
  if (unchanged && !merged) return { result: computed.result, next: null, checkedUpTo };
  let next: string | SharedStart;
  if (unchanged) next = encodeLog(wholeText(), encoding);
  // Before the window the new text is the history as read: only the last part is encoded.
  else if (window && lastPart !== null) next = merged ? encodeLog(wholeText().slice(0, window.cut) + lastPart, encoding) : { chars: window.cut + bom, rest: lastPart };
  else next = encodeLog(computed.text!, encoding);
  return { result: computed.result, next, checkedUpTo };
}

