/**
 * Renders a value in the realm for the log (files.md, finish): JSON when JSON shows the value
 * faithfully, otherwise an inspect-style text in the manner of Node's `util.inspect`.
 *
 * Written by hand rather than taken from a package: the small browser inspectors (object-inspect and
 * the like) invoke getters and cannot cut long arrays with a count, both of which the format requires.
 * No DOM types are used (nodes are recognised by their shape), so the same code runs in pages,
 * workers and Node tests.
 */
import type { RenderedValue } from '../protocol/render.js';
import { ShownAsText } from './shown-as-text.js';

/** Limits of the inspect-style rendering. */
export interface InspectOptions {
  depth: number;
  maxArrayLength: number;
  maxStringLength: number;
  breakLength: number;
}

const DEFAULTS: InspectOptions = { depth: 4, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 80 };

/** A job's value as a result block: JSON when faithful, a multi-line string as is, else inspected text. */
export function renderValue(value: unknown): RenderedValue {
  if (value instanceof ShownAsText) return { lang: 'Text', text: value.text };
  if (typeof value === 'string' && /[\r\n]/.test(value)) return { lang: 'Text', text: value };
  if (isFaithfulJson(value, new Set())) return { lang: 'JSON', text: JSON.stringify(value, null, 2) };
  return { lang: 'Text', text: inspect(value) };
}

/** True when `JSON.parse(JSON.stringify(value))` would give back an equal value. */
export function isFaithfulJson(value: unknown, seen: Set<object>): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (seen.has(value)) return false;
      const proto = Object.getPrototypeOf(value);
      const isArray = Array.isArray(value);
      if (isArray ? proto !== Array.prototype : proto !== Object.prototype && proto !== null) return false;
      if (Object.getOwnPropertySymbols(value).length > 0) return false;
      seen.add(value);
      const descriptors = Object.getOwnPropertyDescriptors(value);
      for (const [key, descriptor] of Object.entries(descriptors)) {
        if (isArray && key === 'length') continue;
        if (!descriptor.enumerable || 'get' in descriptor || 'set' in descriptor) return false;
        if (!isFaithfulJson(descriptor.value, seen)) return false;
      }
      if (isArray && Object.keys(value).length !== (value as unknown[]).length) return false;
      seen.delete(value);
      return true;
    }
    default:
      return false;
  }
}

/** What a thrown value looks like in a failure block: the stack with its causes, or `Uncaught <value>`. */
export function renderError(thrown: unknown): string {
  if (!isErrorLike(thrown)) return `Uncaught ${inspect(thrown)}`;
  const lines: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = thrown;
  for (let depth = 0; current !== undefined && depth < 10 && !seen.has(current); depth++) {
    seen.add(current);
    const text = isErrorLike(current) ? errorText(current) : inspect(current);
    lines.push(depth === 0 ? text : `Caused by: ${text}`);
    current = isErrorLike(current) ? (current as { cause?: unknown }).cause : undefined;
  }
  return lines.join('\n');
}

interface ErrorLike {
  name: string;
  message: string;
  stack?: string;
}

function isErrorLike(value: unknown): value is ErrorLike {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as ErrorLike).message === 'string' && typeof (value as ErrorLike).stack === 'string');
}

function errorText(error: ErrorLike): string {
  const head = `${error.name}: ${error.message}`;
  const stack = typeof error.stack === 'string' ? error.stack.trimEnd() : '';
  // Chromium's stack starts with the message; Firefox's and Safari's hold only frames.
  const body = stack.startsWith(head) || stack.startsWith(error.name) ? stack : stack ? `${head}\n${indentFrames(stack)}` : head;
  const errors = (error as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return body;
  return `${body}\n  [errors]: ${inspect(errors)}`;
}

function indentFrames(stack: string): string {
  return stack
    .split('\n')
    .map((line) => (line.startsWith('    ') ? line : `    at ${line}`))
    .join('\n');
}

/** Renders console arguments the way the console prints them, with printf-style substitutions. */
export function renderConsoleArgs(args: readonly unknown[]): RenderedValue {
  if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null && isFaithfulJson(args[0], new Set())) {
    return { lang: 'JSON', text: JSON.stringify(args[0], null, 2) };
  }
  const rest = [...args];
  const parts: string[] = [];
  if (typeof rest[0] === 'string' && rest.length > 1 && /%[sdifoOjc%]/.test(rest[0])) {
    const format = rest.shift() as string;
    parts.push(
      format.replace(/%([sdifoOjc%])/g, (match, kind: string) => {
        if (kind === '%') return '%';
        if (rest.length === 0) return match;
        const arg = rest.shift();
        if (kind === 'c') return '';
        if (kind === 's') return typeof arg === 'string' ? arg : inspect(arg, { depth: 1 });
        if (kind === 'd' || kind === 'i') return String(kind === 'i' ? Math.trunc(Number(arg)) : Number(arg));
        if (kind === 'f') return String(Number(arg));
        if (kind === 'j') return safeJson(arg);
        return inspect(arg);
      }),
    );
  }
  for (const arg of rest) parts.push(typeof arg === 'string' ? arg : isErrorLike(arg) ? renderError(arg) : inspect(arg));
  return { lang: args.some(isErrorLike) ? 'Error' : 'Text', text: parts.join(' ') };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return '[Circular]';
  }
}

/** An inspect-style rendering: cycles marked, getters not invoked, depth and lengths limited. */
export function inspect(value: unknown, options: Partial<InspectOptions> = {}): string {
  const settings = { ...DEFAULTS, ...options };
  const circular = new Map<object, number>();
  findCycles(value, new Set(), circular, settings.depth + 1);
  return new Inspector(settings, circular).format(value, 0);
}

function findCycles(value: unknown, path: Set<object>, circular: Map<object, number>, depth: number): void {
  if (typeof value !== 'object' || value === null || depth < 0) return;
  if (path.has(value)) {
    if (!circular.has(value)) circular.set(value, circular.size + 1);
    return;
  }
  if (isDomNode(value)) return;
  path.add(value);
  for (const child of childValues(value)) findCycles(child, path, circular, depth - 1);
  path.delete(value);
}

function childValues(value: object): unknown[] {
  if (value instanceof Map) return [...value.entries()].flat();
  if (value instanceof Set) return [...value.values()];
  if (ArrayBuffer.isView(value)) return [];
  const children: unknown[] = [];
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor && 'value' in descriptor) children.push(descriptor.value);
  }
  return children;
}

interface DomNodeLike {
  nodeType: number;
  nodeName: string;
  outerHTML?: string;
  textContent?: string | null;
}

function isDomNode(value: unknown): value is DomNodeLike {
  return typeof value === 'object' && value !== null && typeof (value as DomNodeLike).nodeType === 'number' && typeof (value as DomNodeLike).nodeName === 'string' && 'ownerDocument' in value;
}

class Inspector {
  constructor(
    private readonly options: InspectOptions,
    private readonly circular: Map<object, number>,
  ) {}

  format(value: unknown, depth: number): string {
    switch (typeof value) {
      case 'undefined':
        return 'undefined';
      case 'number':
        return Object.is(value, -0) ? '-0' : String(value);
      case 'bigint':
        return `${value}n`;
      case 'boolean':
        return String(value);
      case 'symbol':
        return value.toString();
      case 'string':
        return this.string(value);
      case 'function':
        return this.fn(value as (...args: unknown[]) => unknown, depth);
      default:
        return value === null ? 'null' : this.object(value as object, depth);
    }
  }

  private string(value: string): string {
    if (value.length <= this.options.maxStringLength) return `'${escapeString(value)}'`;
    const more = value.length - this.options.maxStringLength;
    return `'${escapeString(value.slice(0, this.options.maxStringLength))}'... ${more} more characters`;
  }

  private fn(value: (...args: unknown[]) => unknown, depth: number): string {
    const source = Function.prototype.toString.call(value);
    const name = value.name ? `: ${value.name}` : ' (anonymous)';
    const kind = /^class\b/.test(source) ? 'class' : Object.prototype.toString.call(value).slice(8, -1);
    const base = kind === 'class' ? `[class ${value.name || '(anonymous)'}]` : `[${kind}${name}]`;
    const keys = Reflect.ownKeys(value).filter((key) => !['length', 'name', 'prototype', 'arguments', 'caller'].includes(String(key)));
    return keys.length === 0 ? base : this.braces(base + ' ', this.properties(value, keys, depth), depth);
  }

  /** Objects being rendered, outermost first; meeting one again is a cycle. */
  private readonly stack: object[] = [];

  private object(value: object, depth: number): string {
    if (this.stack.includes(value)) return `[Circular *${this.circular.get(value) ?? 1}]`;
    this.stack.push(value);
    try {
      return this.objectBody(value, depth);
    } finally {
      this.stack.pop();
    }
  }

  private objectBody(value: object, depth: number): string {
    const ref = this.circular.get(value);
    const prefix = ref ? `<ref *${ref}> ` : '';
    if (isDomNode(value)) return prefix + domNode(value);
    if (isErrorLike(value)) return prefix + renderError(value);
    if (value instanceof Date) return prefix + (Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString());
    if (value instanceof RegExp) return prefix + String(value);
    if (typeof Promise !== 'undefined' && value instanceof Promise) return prefix + 'Promise { <state unknown> }';
    if (value instanceof WeakMap || value instanceof WeakSet) return prefix + `${value.constructor.name} { <items unknown> }`;
    const window = (globalThis as { window?: unknown }).window;
    if (window !== undefined && value === window) return '[Window]';
    if (depth > this.options.depth) return Array.isArray(value) ? '[Array]' : `[${constructorName(value) ?? 'Object'}]`;
    if (value instanceof Map) {
      const entries = [...value.entries()].slice(0, this.options.maxArrayLength).map(([key, item]) => `${this.child(key, depth)} => ${this.child(item, depth)}`);
      if (value.size > this.options.maxArrayLength) entries.push(`... ${value.size - this.options.maxArrayLength} more items`);
      return prefix + this.braces(`Map(${value.size}) `, entries, depth);
    }
    if (value instanceof Set) {
      const entries = [...value.values()].slice(0, this.options.maxArrayLength).map((item) => this.child(item, depth));
      if (value.size > this.options.maxArrayLength) entries.push(`... ${value.size - this.options.maxArrayLength} more items`);
      return prefix + this.braces(`Set(${value.size}) `, entries, depth);
    }
    if (value instanceof ArrayBuffer) return prefix + `ArrayBuffer { byteLength: ${value.byteLength} }`;
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const items = Array.from(value as unknown as ArrayLike<number | bigint>);
      return prefix + this.list(`${constructorName(value)}(${items.length}) `, items, depth, []);
    }
    if (Array.isArray(value)) {
      const extra = Reflect.ownKeys(value).filter((key) => key !== 'length' && !(typeof key === 'string' && /^\d+$/.test(key)));
      const name = Object.getPrototypeOf(value) === Array.prototype ? '' : `${constructorName(value) ?? 'Array'}(${value.length}) `;
      return prefix + this.list(name, value, depth, this.properties(value, extra, depth));
    }
    const name = constructorName(value);
    const label = Object.getPrototypeOf(value) === null ? '[Object: null prototype] ' : name && name !== 'Object' ? `${name} ` : '';
    return prefix + this.braces(label, this.properties(value, Reflect.ownKeys(value), depth), depth);
  }

  private list(label: string, items: ArrayLike<unknown>, depth: number, extra: string[]): string {
    const shown: string[] = [];
    let holes = 0;
    const limit = Math.min(items.length, this.options.maxArrayLength);
    for (let index = 0; index < limit; index++) {
      if (!(index in (items as object))) {
        holes++;
        continue;
      }
      if (holes > 0) shown.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
      holes = 0;
      shown.push(this.child(items[index], depth));
    }
    if (holes > 0) shown.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
    if (items.length > limit) shown.push(`... ${items.length - limit} more item${items.length - limit > 1 ? 's' : ''}`);
    return this.braces(label, [...shown, ...extra], depth, '[', ']');
  }

  private properties(value: object, keys: readonly (string | symbol)[], depth: number): string[] {
    return keys.flatMap((key) => {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (!descriptor || (!descriptor.enumerable && typeof key !== 'symbol')) return [];
      const name = typeof key === 'symbol' ? `[${key.toString()}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? key : `'${escapeString(key)}'`;
      if (descriptor.get || descriptor.set) return [`${name}: [${descriptor.get && descriptor.set ? 'Getter/Setter' : descriptor.get ? 'Getter' : 'Setter'}]`];
      return [`${name}: ${this.child(descriptor.value, depth)}`];
    });
  }

  private child(value: unknown, depth: number): string {
    return this.format(value, depth + 1);
  }

  private braces(label: string, entries: string[], depth: number, open = '{', close = '}'): string {
    if (entries.length === 0) return `${label}${open}${close}`;
    const single = `${label}${open} ${entries.join(', ')} ${close}`;
    if (single.length + depth * 2 <= this.options.breakLength && !single.includes('\n')) return single;
    const indent = '  '.repeat(depth + 1);
    const lines = open === '[' ? packShortEntries(entries, this.options.breakLength - indent.length) : entries;
    return `${label}${open}\n${lines.map((entry) => indent + entry.replace(/\n/g, `\n${indent}`)).join(',\n')}\n${'  '.repeat(depth)}${close}`;
  }
}

/** Short array items share lines, as Node prints long lists of numbers; a `... more items` line stays alone. */
function packShortEntries(entries: readonly string[], width: number): string[] {
  const more = entries.length > 0 && entries[entries.length - 1]!.startsWith('... ') ? entries[entries.length - 1]! : null;
  const items = more ? entries.slice(0, -1) : entries;
  if (items.length <= 6 || items.some((item) => item.length > 16 || item.includes('\n'))) return [...entries];
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    if (line && line.length + 2 + item.length > width) {
      lines.push(line);
      line = item;
    } else {
      line = line ? `${line}, ${item}` : item;
    }
  }
  if (line) lines.push(line);
  return more ? [...lines, more] : lines;
}

function constructorName(value: object): string | undefined {
  const proto = Object.getPrototypeOf(value);
  const ctor = proto && Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  return typeof ctor === 'function' && ctor.name ? ctor.name : undefined;
}

function escapeString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

const MAX_NODE_HTML = 300;

/** A DOM node as short HTML: elements by their opening tag and a cut inner text, others by name. */
function domNode(node: DomNodeLike): string {
  if (node.nodeType === 1 && typeof node.outerHTML === 'string') {
    const html = node.outerHTML;
    return html.length <= MAX_NODE_HTML ? html : `${html.slice(0, MAX_NODE_HTML)}... (${html.length - MAX_NODE_HTML} more characters)`;
  }
  if (node.nodeType === 3) return `#text '${escapeString((node.textContent ?? '').slice(0, MAX_NODE_HTML))}'`;
  if (node.nodeType === 9) return '#document';
  return node.nodeName;
}
