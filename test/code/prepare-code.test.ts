// The REPL contract: requests run as the DevTools console would run them, exactly once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createContext, runInContext } from 'node:vm';
import { prepareCode } from '../../src/code/prepare-code.js';

/** A fresh global scope, like one realm; `run` prepares and runs requests in it. */
function realm() {
  const context = createContext({ calls: [] as string[] });
  const AsyncFunction = runInContext('(async function () {}).constructor', context) as FunctionConstructor;
  return {
    context,
    async run(code: string): Promise<unknown> {
      const prepared = prepareCode(code);
      if (!prepared.ok) throw new Error(prepared.error);
      return new AsyncFunction(prepared.body)();
    },
  };
}

test('the value of the last expression is the result', async () => {
  const r = realm();
  assert.equal(await r.run('let x = 5; x * 2'), 10);
  assert.equal(await r.run('1 + 1'), 2);
  assert.equal(await r.run('const a = 1'), undefined);
  assert.equal(await r.run('if (true) { 3 }'), undefined);
  assert.equal(await r.run('"a"; "b"'), 'b');
  assert.equal(await r.run('[1, 2].map((n) => n * 2).join()\n// trailing comment'), '2,4');
});

test('top-level await works', async () => {
  assert.equal(await realm().run('const v = await Promise.resolve(41); v + 1'), 42);
});

test('top-level declarations persist across requests', async () => {
  const r = realm();
  await r.run('const a = 1');
  assert.equal(await r.run('a + 1'), 2);
  await r.run('let { b, c: [d] } = { b: 2, c: [3] }');
  assert.equal(await r.run('b + d'), 5);
  await r.run('function twice(n) { return n * 2 }');
  assert.equal(await r.run('twice(a)'), 2);
  await r.run('class Point { constructor(x) { this.x = x } }');
  assert.equal(await r.run('new Point(7).x'), 7);
  await r.run('var kept = "yes"');
  await r.run('var kept;');
  assert.equal(await r.run('kept'), 'yes', 'a bare var keeps its value');
  await r.run('let fresh = 1');
  await r.run('let fresh;');
  assert.equal(await r.run('fresh'), undefined, 'a bare let starts undefined');
});

test('function declarations are hoisted above the code that uses them', async () => {
  assert.equal(await realm().run('const n = double(4);\nfunction double(x) { return x * 2 }\nn'), 8);
});

test('a destructuring declaration after a line without semicolon is not read as a call', async () => {
  assert.equal(await realm().run('const f = () => 1\nconst [x] = [f()]\nx'), 1);
});

test('an object literal alone is a value, not a block', async () => {
  assert.equal(JSON.stringify(await realm().run('{ a: 1, b: [2] }')), '{"a":1,"b":[2]}');
  assert.equal(await realm().run('{ let q = 3; q }'), undefined, 'a real block stays a block');
});

test('static imports become dynamic imports', () => {
  const prepared = prepareCode("import x, { y as z } from './m.js';\nimport * as ns from './n.js';\nz");
  assert.ok(prepared.ok);
  assert.match(prepared.body, /const __daebugModule = await import\('\.\/m\.js'\); x = __daebugModule\.default; z = __daebugModule\["y"\];/);
  assert.match(prepared.body, /ns = __daebugModule;/);
  assert.match(prepared.body, /return \(z\);$/);
});

test('a Node realm gets a body whose import() calls, nested ones too, go through its own resolver', () => {
  const prepared = prepareCode("import { a } from './m.js';\nconst lazy = () => import('./lazy.js');\nconst n = await import(`./n${1}.js`); import.meta === undefined");
  assert.ok(prepared.ok);
  assert.match(prepared.body, /await import\('\.\/m\.js'\)/, 'pages keep import()');
  assert.doesNotMatch(prepared.nodeBody, /\bimport\(/);
  assert.match(prepared.nodeBody, /await __daebugImport\('\.\/m\.js'\)/);
  assert.match(prepared.nodeBody, /lazy = \(\) => __daebugImport\('\.\/lazy\.js'\)/);
  assert.match(prepared.nodeBody, /n = await __daebugImport\(`\.\/n\$\{1\}\.js`\)/);
  assert.match(prepared.nodeBody, /import\.meta/, 'import.meta is not a call');
  const plain = prepareCode('const important = 1; important');
  assert.ok(plain.ok);
  assert.equal(plain.nodeBody, plain.body);
});

test('a syntax error is reported with its place in the fence and nothing runs', () => {
  const prepared = prepareCode('const a = 1;\nlet b = ;\ncalls.push("ran")');
  assert.equal(prepared.ok, false);
  assert.equal(!prepared.ok && prepared.error, 'SyntaxError: Unexpected token (line 2, column 9 of the request)');
});

test('code runs exactly once, even when it throws', async () => {
  const r = realm();
  await assert.rejects(r.run('calls.push("ran"); undefinedFunction()'), /undefinedFunction is not defined/);
  assert.deepEqual(runInContext('calls', r.context), ['ran']);
});
