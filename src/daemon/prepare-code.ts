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
 * instead: code compiled at run time resolves `import('./db.js')` against daebug's own module, and
 * the Node realm resolves it against the app's folder.
 */
import { parse, type Options, type Program } from 'acorn';
import { NODE_IMPORT } from '../protocol/messages.js';

/** A request ready to run (for browsers, and for Node processes), or why it cannot run. */
export type PreparedCode = { ok: true; body: string; nodeBody: string } | { ok: false; error: string };


const BASE_OPTIONS: Options = { ecmaVersion: 'latest', allowAwaitOutsideFunction: true, locations: true };

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Turns a request's code into an async function body with the console's semantics. */
export function prepareCode(code: string): PreparedCode {
  const prepared = prepareBody(code, 'import');
  if (!prepared.ok) return prepared;
  // Parsed again only when the code may hold an import; the edit cannot make valid code invalid.
  const node = /\bimport\b/.test(code) ? prepareBody(withImportCalls(code, NODE_IMPORT), NODE_IMPORT) : prepared;
  return { ok: true, body: prepared.body, nodeBody: node.ok ? node.body : prepared.body };
}

function prepareBody(code: string, loader: string): { ok: true; body: string } | { ok: false; error: string } {
  const objectLiteral = asObjectLiteral(code);
  if (objectLiteral !== null) return { ok: true, body: `return (${objectLiteral});` };
  let program: Program;
  try {
    program = parseRequest(code);
  } catch (error) {
    return { ok: false, error: syntaxError(error as SyntaxError & { loc?: { line: number; column: number } }) };
  }
  const edits: Edit[] = [];
  const hoisted: string[] = [];
  const statements = program.body;
  statements.forEach((statement, index) => {
    const last = index === statements.length - 1;
    switch (statement.type) {
      case 'VariableDeclaration':
        edits.push({ start: statement.start, end: statement.end, text: declarationAsAssignments(code, statement) });
        break;
      case 'FunctionDeclaration':
        // Declarations are hoisted: assign them before anything else runs.
        hoisted.push(`${statement.id.name} = ${code.slice(statement.start, statement.end)};`);
        edits.push({ start: statement.start, end: statement.end, text: '' });
        break;
      case 'ClassDeclaration':
        edits.push({ start: statement.start, end: statement.end, text: `${statement.id.name} = ${code.slice(statement.start, statement.end)};` });
        break;
      case 'ImportDeclaration':
        edits.push({ start: statement.start, end: statement.end, text: importAsAssignment(code, statement, loader) });
        break;
      case 'ExpressionStatement':
        if (last) {
          const expression = code.slice(statement.expression.start, statement.expression.end);
          edits.push({ start: statement.start, end: statement.end, text: `return (${expression});` });
        }
        break;
      default:
        break;
    }
  });
  return { ok: true, body: hoisted.join('\n') + (hoisted.length > 0 ? '\n' : '') + applyEdits(code, edits) };
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

/** `{ a: 1 }` alone is an object literal at the console, not a block. */
function asObjectLiteral(code: string): string | null {
  const trimmed = code.trim().replace(/;$/, '');
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return null;
  try {
    parse(`(${trimmed})`, { ...BASE_OPTIONS, sourceType: 'script' });
    return trimmed;
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

function declarationAsAssignments(code: string, declaration: Declaration): string {
  const parts = declaration.declarations.map((declarator) => {
    const target = code.slice(declarator.id.start, declarator.id.end);
    if (declarator.init) {
      const value = code.slice(declarator.init.start, declarator.init.end);
      // A leading `;` keeps the parenthesis from calling the previous line's value (no ASI before `(`).
      return declarator.id.type === 'Identifier' ? `${target} = ${value}` : `;(${target} = ${value})`;
    }
    // `var x;` keeps an earlier value, as a redeclaration would; `let x;` starts undefined.
    if (declarator.id.type !== 'Identifier') return '';
    return declaration.kind === 'var' ? `${JSON.stringify(target)} in globalThis || (globalThis.${target} = undefined)` : `${target} = undefined`;
  });
  return parts.filter(Boolean).join('; ') + ';';
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
function withImportCalls(code: string, hook: string): string {
  let program: Program;
  try {
    program = parseRequest(code);
  } catch {
    return code;
  }
  const edits: Edit[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const typed = node as { type?: unknown; start: number };
    if (typed.type === 'ImportExpression') edits.push({ start: typed.start, end: typed.start + 'import'.length, text: hook });
    for (const [key, value] of Object.entries(node)) if (key !== 'loc' && typeof value === 'object') visit(value);
  };
  visit(program);
  return applyEdits(code, edits);
}

function applyEdits(code: string, edits: readonly Edit[]): string {
  let result = '';
  let at = 0;
  for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
    result += code.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return result + code.slice(at);
}
