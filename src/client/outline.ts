/**
 * `daebug.outline(selector?)`: what a user sees on the page, one line per element, the way agents read
 * accessibility snapshots: role, name, value and states, indented by nesting; text between elements
 * as `text:` lines. Hidden elements (and what is inside them) are left out. Budgeted: past
 * MAX_LINES lines or MAX_CHARS characters it stops with a line saying how much was left out.
 */
import { ShownAsText } from './shown-as-text.js';

const MAX_LINES = 200;
const MAX_CHARS = 12_000;
const MAX_TEXT = 80;

const ROLES: Record<string, string> = {
  A: 'link', BUTTON: 'button', H1: 'heading', H2: 'heading', H3: 'heading', H4: 'heading', H5: 'heading', H6: 'heading',
  SELECT: 'combobox', TEXTAREA: 'textbox', IMG: 'img', NAV: 'navigation', MAIN: 'main', HEADER: 'banner', FOOTER: 'contentinfo',
  ASIDE: 'complementary', FORM: 'form', UL: 'list', OL: 'list', LI: 'listitem', TABLE: 'table', TR: 'row', TH: 'columnheader',
  TD: 'cell', DIALOG: 'dialog', FIELDSET: 'group', LABEL: '', OPTION: 'option', PROGRESS: 'progressbar', SUMMARY: 'button', DETAILS: 'group',
};
const INPUT_ROLES: Record<string, string> = { checkbox: 'checkbox', radio: 'radio', button: 'button', submit: 'button', reset: 'button', range: 'slider', search: 'searchbox', number: 'spinbutton' };
/** Roles whose name is their text: the text is not repeated as `text:` lines under them. */
const NAMED_BY_TEXT = new Set(['link', 'button', 'heading', 'option', 'cell', 'columnheader', 'listitem', 'tab', 'menuitem']);

/** The outline of the page (or of the first element matching `selector`). */
export function outline(selector?: string): ShownAsText {
  const root = selector ? document.querySelector(selector) : document.body;
  if (!root) return new ShownAsText(`no element matches ${JSON.stringify(selector)}`);
  const lines: string[] = [];
  let chars = 0;
  let left = 0;
  const add = (depth: number, line: string) => {
    if (lines.length >= MAX_LINES || chars + line.length > MAX_CHARS) return void left++;
    const text = `${'  '.repeat(depth)}- ${line}`;
    lines.push(text);
    chars += text.length + 1;
  };
  walk(root, 0, add);
  if (left > 0) lines.push(`... (${left} more lines left out; outline a part: daebug.outline('main'))`);
  return new ShownAsText(lines.length > 0 ? lines.join('\n') : '(nothing visible)');
}

function walk(node: Node, depth: number, add: (depth: number, line: string) => void): void {
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE) {
      const text = squash(child.textContent ?? '');
      if (text) add(depth, `text: ${cut(text)}`);
      continue;
    }
    if (!(child instanceof Element) || !isVisible(child)) continue;
    const described = describe(child);
    if (described === null) {
      walk(child, depth, add);
      continue;
    }
    add(depth, described.line);
    if (!described.coversText) walk(child, depth + 1, add);
  }
}

function isVisible(element: Element): boolean {
  if (['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT', 'HEAD'].includes(element.tagName)) return false;
  if (element.getAttribute('aria-hidden') === 'true' || (element as HTMLElement).hidden) return false;
  const style = getComputedStyle(element);
  if (style.display === 'none' || style.visibility === 'hidden') return false;
  // `display: contents` boxes have no rectangles of their own but show their children.
  return style.display === 'contents' || element.getClientRects().length > 0;
}

/** An element's line, or null for a plain container whose children are listed in its place. */
function describe(element: Element): { line: string; coversText: boolean } | null {
  const role = roleOf(element);
  if (!role) return null;
  const parts = [role];
  const name = nameOf(element, role);
  if (name) parts.push(JSON.stringify(cut(name)));
  parts.push(...statesOf(element));
  if (element instanceof HTMLAnchorElement && element.getAttribute('href')) parts.push(`-> ${element.getAttribute('href')}`);
  return { line: parts.join(' '), coversText: NAMED_BY_TEXT.has(role) || role === 'textbox' || role === 'combobox' };
}

function roleOf(element: Element): string {
  const explicit = element.getAttribute('role');
  if (explicit) return explicit.split(' ')[0]!;
  if (element instanceof HTMLInputElement) return element.type === 'hidden' ? '' : (INPUT_ROLES[element.type] ?? 'textbox');
  if (element.tagName === 'A' && !element.hasAttribute('href')) return '';
  return ROLES[element.tagName] ?? '';
}

function nameOf(element: Element, role: string): string {
  const label = element.getAttribute('aria-label');
  if (label) return label;
  const by = element.getAttribute('aria-labelledby');
  if (by) return by.split(/\s+/).map((id) => squash(document.getElementById(id)?.textContent ?? '')).join(' ').trim();
  if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement) {
    const labels = [...(element.labels ?? [])].map((node) => squash(node.textContent ?? '')).join(' ').trim();
    if (labels) return labels;
    if (element instanceof HTMLInputElement && ['submit', 'button', 'reset'].includes(element.type)) return element.value;
    return element.getAttribute('placeholder') ?? element.getAttribute('title') ?? '';
  }
  if (element instanceof HTMLImageElement) return element.alt;
  if (role === 'form' || role === 'group') return squash(element.querySelector(':scope > legend')?.textContent ?? '') || (element.getAttribute('title') ?? '');
  if (NAMED_BY_TEXT.has(role)) return squash((element as HTMLElement).innerText ?? element.textContent ?? '');
  return element.getAttribute('title') ?? '';
}

function statesOf(element: Element): string[] {
  const states: string[] = [];
  if (/^H[1-6]$/.test(element.tagName)) states.push(`[level=${element.tagName[1]}]`);
  if (element instanceof HTMLInputElement && (element.type === 'checkbox' || element.type === 'radio')) {
    if (element.checked) states.push('[checked]');
  } else if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement) {
    if (element.value) states.push(`value=${JSON.stringify(cut(element.type === 'password' ? '•'.repeat(element.value.length) : element.value))}`);
  } else if (element instanceof HTMLSelectElement) {
    states.push(`value=${JSON.stringify(cut(element.selectedOptions[0]?.text ?? ''))}`);
  }
  if ((element as HTMLInputElement).disabled || element.getAttribute('aria-disabled') === 'true') states.push('[disabled]');
  if ((element as HTMLInputElement).required) states.push('[required]');
  if (element.getAttribute('aria-invalid') === 'true' || (element instanceof HTMLInputElement && element.value && !element.checkValidity())) states.push('[invalid]');
  const expanded = element.getAttribute('aria-expanded');
  if (expanded) states.push(`[expanded=${expanded}]`);
  if (element instanceof HTMLDetailsElement) states.push(element.open ? '[expanded=true]' : '[expanded=false]');
  if (document.activeElement === element && element !== document.body) states.push('[focused]');
  return states;
}

function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function cut(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}
