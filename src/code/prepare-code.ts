/**
 * The REPL contract of daemon.md, done on the daemon side with acorn so the realm's client stays
 * small. A request becomes the body of an async function that the realm runs exactly once:
 *
 * - the value of the last expression statement is returned (`let x = 5; x * 2` gives 10);
 * - top-level `await` works, since the body is an async function;
 * - top-level `var`, `let`, `const`, `function` and `class` declarations become assignments to global
 *   bindings, so they persist for later requests in the same realm, like the DevTools console; the body
 *   runs in sloppy mode, where an assignment to an undeclared name creates a global;
 * - static `import` declarations become dynamic imports;
 * - a syntax error is reported with its line and column in the fence, and nothing runs.
 *
 * A Node process gets its own body (`nodeBody`), where every `import()` calls `__daebugImport()`
 * instead: code compiled at run time resolves `import('../daemon/db.js')` against daebug's own module, and
 * the Node realm resolves it against the app's folder.
 */
import { parse, type Options, type Program } from 'acorn';
import { NODE_IMPORT } from '../protocol/messages.js';

/**
 * A run of the prepared body copied from the request: `length` characters at `from` in the body came
 * from `to` in the request. What is not in a run was written by daebug.
 */
export interface CopiedRun {
  from: number;
  to: number;
  length: number;
}

/** A prepared body and where its characters came from, so positions in it can be shown in the fence. */
export interface PreparedBody {
  body: string;
  runs: CopiedRun[];
}

/** A request ready to run (for browsers, and for Node processes), or why it cannot run. */
export type PreparedCode = { ok: true; body: string; nodeBody: string; runs: CopiedRun[]; nodeRuns: CopiedRun[] } | { ok: false; error: string };


const BASE_OPTIONS: Options = { ecmaVersion: 'latest', allowAwaitOutsideFunction: true, locations: true };

/** Text daebug writes, or a `[start, end)` range of the request copied as it is. */
type Piece = string | readonly [number, number];

interface Edit {
  start: number;
  end: number;
  text: Piece[];
}

/** The last code prepared and its result: the write that waits for a quick answer prepares it again. */
let lastPrepared: { code: string; result: PreparedCode } | null = null;

/** Turns a request's code into an async function body with the console's semantics. */
export function prepareCode(code: string): PreparedCode {
  if (lastPrepared?.code === code) return lastPrepared.result;
  const result = prepareFresh(code);
  lastPrepared = { code, result };
  return result;
}

function prepareFresh(code: string): PreparedCode {
  const prepared = prepareBody(code, 'import');
  if (!prepared.ok) return prepared;
  // Parsed again only when the code may hold an import; the edit cannot make valid code invalid.
  const node = /\bimport\b/.test(code) ? nodeBodyOf(code) : prepared;
  const nodeOk = node.ok ? node : prepared;
  return { ok: true, body: prepared.body, runs: prepared.runs, nodeBody: nodeOk.body, nodeRuns: nodeOk.runs };
}

/** The Node body: `import(` became a call of the realm's loader, and its runs point into the request still. */
function nodeBodyOf(code: string): ({ ok: true } & PreparedBody) | { ok: false; error: string } {
  const rewritten = withImportCalls(code, NODE_IMPORT);
  const prepared = prepareBody(rewritten.body, NODE_IMPORT);
  if (!prepared.ok) return prepared;
  return { ok: true, body: prepared.body, runs: composeRuns(prepared.runs, rewritten.runs) };
}

function prepareBody(code: string, loader: string): ({ ok: true } & PreparedBody) | { ok: false; error: string } {
  const objectLiteral = asObjectLiteral(code);
  if (objectLiteral !== null) return { ok: true, ...build(code, [{ start: 0, end: code.length, text: ['return (', [objectLiteral.start, objectLiteral.end], ');'] }]) };
  let program: Program;
  try {
    program = parseRequest(code);
  } catch (error) {
    return { ok: false, error: syntaxError(error as SyntaxError & { loc?: { line: number; column: number } }) };
  }
  const edits: Edit[] = [];
  const hoisted: Piece[] = [];
  const statements = program.body;
  statements.forEach((statement, index) => {
    const last = index === statements.length - 1;
    switch (statement.type) {
      case 'VariableDeclaration':
        edits.push({ start: statement.start, end: statement.end, text: declarationAsAssignments(code, statement) });
        break;
      case 'FunctionDeclaration':
        // Declarations are hoisted: assign them before anything else runs.
        hoisted.push(`${statement.id.name} = `, [statement.start, statement.end], ';\n');
        edits.push({ start: statement.start, end: statement.end, text: [] });
        break;
      case 'ClassDeclaration':
        edits.push({ start: statement.start, end: statement.end, text: [`${statement.id.name} = `, [statement.start, statement.end], ';'] });
        break;
      case 'ImportDeclaration':
        edits.push({ start: statement.start, end: statement.end, text: [importAsAssignment(code, statement, loader)] });
        break;
      case 'ExpressionStatement':
        if (last) {
          edits.push({ start: statement.start, end: statement.end, text: ['return (', [statement.expression.start, statement.expression.end], ');'] });
        }
        break;
      default:
        break;
    }
  });
  // Hoisted declarations go first: an edit at 0 that replaces nothing, applied before the others.
  return { ok: true, ...build(code, hoisted.length > 0 ? [{ start: 0, end: 0, text: hoisted }, ...edits] : edits) };
}

function parseRequest(code: string): Program {
  try {
    return parse(code, { ...BASE_OPTIONS, sourceType: 'script' });
  } catch (error) {
    // `import` declarations only parse as a module; everything else keeps script semantics.
    if (!/\bimport\b/.test(code)) throw error;
    try {
      return parse(code, { ...BASE_OPTIONS, sourceType: 'module' });
    } catch {
      throw error;
    }
  }
}

/** `{ a: 1 }` alone is an object literal at the console, not a block: where it is in the request. */
function asObjectLiteral(code: string): { start: number; end: number } | null {
  const trimmed = code.trim().replace(/;$/, '');
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return null;
  try {
    parse(`(${trimmed})`, { ...BASE_OPTIONS, sourceType: 'script' });
    const start = code.indexOf(trimmed);
    return { start, end: start + trimmed.length };
  } catch {
    return null;
  }
}

function syntaxError(error: SyntaxError & { loc?: { line: number; column: number } }): string {
  const message = error.message.replace(/ \(\d+:\d+\)$/, '');
  const where = error.loc ? ` (line ${error.loc.line}, column ${error.loc.column + 1} of the request)` : '';
  return `SyntaxError: ${message}${where}`;
}

type Declaration = Extract<Program['body'][number], { type: 'VariableDeclaration' }>;
type Import = Extract<Program['body'][number], { type: 'ImportDeclaration' }>;

function declarationAsAssignments(code: string, declaration: Declaration): Piece[] {
  const parts = declaration.declarations.map((declarator): Piece[] => {
    const target = [declarator.id.start, declarator.id.end] as const;
    if (declarator.init) {
      const value = [declarator.init.start, declarator.init.end] as const;
      // A leading `;` keeps the parenthesis from calling the previous line's value (no ASI before `(`).
      return declarator.id.type === 'Identifier' ? [target, ' = ', value] : [';(', target, ' = ', value, ')'];
    }
    // `var x;` keeps an earlier value, as a redeclaration would; `let x;` starts undefined.
    if (declarator.id.type !== 'Identifier') return [];
    const name = code.slice(declarator.id.start, declarator.id.end);
    return declaration.kind === 'var' ? [`${JSON.stringify(name)} in globalThis || (globalThis.${name} = undefined)`] : [target, ' = undefined'];
  });
  return [...parts.filter((part) => part.length > 0).flatMap((part, index) => (index === 0 ? part : ['; ', ...part])), ';'];
}

function importAsAssignment(code: string, declaration: Import, loader: string): string {
  const source = code.slice(declaration.source.start, declaration.source.end);
  const loaded = `await ${loader}(${source})`;
  if (declaration.specifiers.length === 0) return `${loaded};`;
  const named: string[] = [];
  const assignments: string[] = [];
  for (const specifier of declaration.specifiers) {
    if (specifier.type === 'ImportNamespaceSpecifier') assignments.push(`${specifier.local.name} = __daebugModule`);
    else if (specifier.type === 'ImportDefaultSpecifier') assignments.push(`${specifier.local.name} = __daebugModule.default`);
    else {
      const imported = specifier.imported.type === 'Identifier' ? specifier.imported.name : String(specifier.imported.value);
      named.push(`${specifier.local.name} = __daebugModule[${JSON.stringify(imported)}]`);
    }
  }
  return `{ const __daebugModule = ${loaded}; ${[...assignments, ...named].join('; ')}; }`;
}

/** `code` with the `import` of every `import(...)` expression replaced by a call of `hook`; as it is when it does not parse. */
function withImportCalls(code: string, hook: string): PreparedBody {
  let program: Program;
  try {
    program = parseRequest(code);
  } catch {
    return { body: code, runs: [{ from: 0, to: 0, length: code.length }] };
  }
  const edits: Edit[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const typed = node as { type?: unknown; start: number };
    if (typed.type === 'ImportExpression') edits.push({ start: typed.start, end: typed.start + 'import'.length, text: [hook] });
    for (const [key, value] of Object.entries(node)) if (key !== 'loc' && typeof value === 'object') visit(value);
  };
  visit(program);
  return build(code, edits);
}

/** `code` with the edits applied (in order of their start; equal starts keep their order), and the runs it copied. */
function build(code: string, edits: readonly Edit[]): PreparedBody {
  let body = '';
  const runs: CopiedRun[] = [];
  const copy = (start: number, end: number) => {
    if (end <= start) return;
    runs.push({ from: body.length, to: start, length: end - start });
    body += code.slice(start, end);
  };
  let at = 0;
  for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
    copy(at, edit.start);
    for (const piece of edit.text) {
      if (typeof piece === 'string') body += piece;
      else copy(piece[0], piece[1]);
    }
    at = Math.max(at, edit.end);
  }
  copy(at, code.length);
  return { body, runs };
}

/** Runs into `middle` (whose runs point into the request) followed through: runs from the outer body into the request. */
function composeRuns(outer: readonly CopiedRun[], middle: readonly CopiedRun[]): CopiedRun[] {
  const composed: CopiedRun[] = [];
  for (const run of outer) {
    for (const inner of middle) {
      const start = Math.max(run.to, inner.from);
      const end = Math.min(run.to + run.length, inner.from + inner.length);
      if (end > start) composed.push({ from: run.from + (start - run.to), to: inner.to + (start - inner.from), length: end - start });
    }
  }
  return composed;
}
