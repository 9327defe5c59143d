/**
 * Text that comes from a realm (its name, its URL, test names, messages) is untrusted: it could hold
 * line breaks that forge a `%%SHUTDOWN%%` line or a request in a Markdown file, or terminal escape
 * sequences. These helpers decide what such text may look like before the daemon writes or prints it.
 */

/** 1 to 80 characters of `[A-Za-z0-9._-]`, starting with a letter or digit: `42-fox-1830-12`, `42-fox-1830-12-webworker`. */
const REALM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/** What `isRealmName` accepts, said for a refusal. */
export const REALM_NAME_RULE = 'a realm name is 1 to 80 letters, digits, dots, dashes or underscores, starting with a letter or digit';

/** True when `name` may name a realm. */
export function isRealmName(name: string): boolean {
  return REALM_NAME.test(name);
}

/** C0 controls, DEL and C1 controls (ESC among them), and the Unicode line and paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** The same without the line feed, for text that may keep its lines. */
const CONTROL_BUT_LF = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;
/** White space among the controls: it reads as a space. */
const BLANK = /[\t\n\v\f\r\u2028\u2029]/;

function replaceControl(char: string): string {
  return BLANK.test(char) ? ' ' : '\ufffd';
}

/**
 * `text` as one printable line of at most `max` characters: line breaks and tabs become spaces, other
 * control characters U+FFFD, backticks `'` (so it cannot open a code span or a fence), and a longer
 * text ends in `…`.
 */
export function oneLine(text: string, max: number): string {
  const line = text.replace(CONTROL, replaceControl).replace(/`/g, "'");
  return line.length > max ? line.slice(0, Math.max(0, max - 1)) + '…' : line;
}

/**
 * `text` safe to print on a terminal: line feeds stay (a warning may carry a stack), carriage returns
 * and tabs become spaces, every other control character, ESC first of all, becomes U+FFFD.
 */
export function printable(text: string): string {
  return text.replace(CONTROL_BUT_LF, replaceControl);
}

/**
 * `text` for a terminal with its control characters shown rather than obeyed: line feeds and tabs
 * stay, every other control character (ESC first of all, carriage returns, C1 controls, the Unicode
 * line and paragraph separators) is written as its escape, `\x1B`, `\r`, `\u2028`.
 */
export function visibleControls(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (char) => {
    if (char === '\r') return '\\r';
    const code = char.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
  });
}

/** `text` as an http: or https: URL (normalised), or '' when it is anything else. */
export function httpUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '';
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
}

/** What may not appear raw in a URL written into a Markdown line. */
const NOT_IN_MARKDOWN_URL = /[\u0000-\u0020\u007f-\u009f\u2028\u2029`<>[\]()]/g;

function escapeForMarkdown(text: string): string {
  return text.replace(NOT_IN_MARKDOWN_URL, (char) => encodeURIComponent(char).replace(/[()]/g, (paren) => `%${paren.charCodeAt(0).toString(16).toUpperCase()}`));
}

/** An http(s) URL without its query string and fragment, which may hold a page's secrets; '' for anything else. */
export function originAndPath(text: string): string {
  const href = httpUrl(text);
  if (href === '') return '';
  const url = new URL(href);
  return url.origin + url.pathname;
}

/**
 * How a realm's URL is shown in daebug.md: origin and path only (a query or fragment may hold a
 * secret), with everything that could end the line, open a code span or a link percent-encoded; ''
 * when it is not an http(s) URL.
 */
export function markdownUrl(text: string): string {
  const href = httpUrl(text);
  if (href === '') return '';
  const url = new URL(href);
  // An IPv6 host keeps its brackets: the URL parser allows nothing else in them.
  const host = url.hostname.startsWith('[') ? url.host : escapeForMarkdown(url.host);
  return `${url.protocol}//${host}${escapeForMarkdown(url.pathname)}`;
}
