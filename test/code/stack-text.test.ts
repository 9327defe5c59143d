// Stacks as an agent reads them: daebug's frames and tokens gone, job frames at their place in the fence.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prepareCode } from '../../src/code/prepare-code.js';
import { BODY_LINE_OFFSET, RequestSources, fencePosition } from '../../src/code/request-positions.js';
import { rewriteLocations, scriptPositions, withoutOwnFrames } from '../../src/code/stack-text.js';

/** Where `needle` is in `text`, 1-based. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const before = text.slice(0, text.indexOf(needle)).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

test('a position in the prepared body is found in the fence, through declarations, hoisting and the returned expression', () => {
  const code = 'const a = 1;\nlet { b } = { b: null };\nconst c = b.missing;\nfunction f() {\n  return g();\n}\nf() + a';
  const prepared = prepareCode(code);
  assert.ok(prepared.ok);
  for (const needle of ['b.missing', 'g()', 'f() + a', '{ b: null }']) {
    const inBody = positionOf(prepared.body, needle);
    assert.deepEqual(fencePosition(prepared.body, prepared.runs, code, inBody.line, inBody.column), positionOf(code, needle), needle);
  }
});

test('the Node body maps the same way, though import() became a call of the realm loader', () => {
  const code = "const m = await import('./m.js');\nm.run(x.y)";
  const prepared = prepareCode(code);
  assert.ok(prepared.ok);
  const inBody = positionOf(prepared.nodeBody, 'x.y');
  assert.deepEqual(fencePosition(prepared.nodeBody, prepared.nodeRuns, code, inBody.line, inBody.column), { line: 2, column: 7 });
});

test('daebug frames and tokens are dropped; job and script frames are rewritten', () => {
  const stack = [
    'Error: boom',
    '    at inner (daebug-request-abc_1:3:5)',
    '    at eval (daebug-request-abc_1:4:1)',
    '    at runJob (http://localhost:8342/-daebug/client.js?t=SECRETTOKEN:1:2000)',
    '    at http://localhost:8342/app.min.js:1:104',
    'fn@http://localhost:8342/-daebug/client.js?t=SECRETTOKEN:1:5',
  ].join('\n');
  const cleaned = withoutOwnFrames(stack, ['/-daebug/']);
  assert.doesNotMatch(cleaned, /SECRETTOKEN|-daebug/);
  assert.deepEqual(scriptPositions(cleaned), [{ url: 'http://localhost:8342/app.min.js', line: 1, column: 104 }]);
  const sources = new RequestSources();
  // The body is the request as it is: line 3 of the compiled function is line 1 of the fence.
  sources.remember('abc_1', { code: 'inner(1);\nouter()', body: 'inner(1);\nouter()', runs: [{ from: 0, to: 0, length: 17 }], nodeBody: '', nodeRuns: [], requestedAt: '08:00:00' });
  const resolve = (current: string) => ({ request: (id: string, line: number, column: number) => sources.locate(id, line, column, false, current), script: () => 'src/app.ts:12:5' });
  assert.equal(rewriteLocations(cleaned, resolve('abc_1')), ['Error: boom', '    at inner (request:1:5)', '    at request:2:1', '    at src/app.ts:12:5'].join('\n'));
  assert.match(rewriteLocations(cleaned, resolve('later')), /at inner \(request@08:00:00:1:5\)/, 'a frame of an earlier request names its time');
  assert.equal(BODY_LINE_OFFSET, 2);
});
