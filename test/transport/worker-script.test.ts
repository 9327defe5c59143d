// The app's worker scripts as daebug sends them: the worker client loaded first, by the kind of script
// the browser will run (a module, or a classic script), with every line of the app's where it was.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { injectIntoWorker } from '../../src/transport/worker-script.js';
import { rawRequest, startTestServer } from '../helpers/serve.js';

const PATHS = { module: '/-daebug/worker.js', classic: '/-daebug/worker-classic.js' };
// Started before any test is declared: a file's `after` hooks may run once its first tests are done.
const server = await startTestServer((root) => {
  writeFileSync(join(root, 'totals.mjs'), 'export const total = 1;\n');
  writeFileSync(join(root, 'legacy.js'), 'var count = 0;\n');
});

const EITHER = 'try{importScripts("/-daebug/worker-classic.js")}catch{import("/-daebug/worker.js")}';

test('a script that can only be a module gets a static import on its first line', () => {
  for (const source of ["import { a } from './a.js';\nself.onmessage = () => a;\n", 'const x = import.meta.url;\n', 'await 1;\n', 'export {};\n']) {
    assert.equal(injectIntoWorker(source, PATHS), `import "/-daebug/worker.js";${source}`, source);
  }
});

test('a script that may be classic gets importScripts, with a dynamic import for a module worker', () => {
  assert.equal(injectIntoWorker('var count = 0;\nself.onmessage = () => count++;\n', PATHS), `${EITHER};var count = 0;\nself.onmessage = () => count++;\n`);
});

test('a classic script keeps its directives first, so "use strict" still holds, and keeps its line numbers', () => {
  const source = "// totals\n'use strict';\n\"another\"\nvar x = 1;\n";
  const injected = injectIntoWorker(source, PATHS);
  assert.equal(injected, `// totals\n'use strict';\n"another";${EITHER};\nvar x = 1;\n`);
  assert.equal(injected.split('\n').length, source.split('\n').length);
  assert.equal(injected.split('\n')[3], 'var x = 1;');
});

test('a hashbang stays first, and a script that does not parse gets the prelude that fits both kinds', () => {
  assert.equal(injectIntoWorker('#!/usr/bin/env node\nexport {};\n', PATHS), '#!/usr/bin/env node\nimport "/-daebug/worker.js";export {};\n');
  assert.equal(injectIntoWorker('let = = broken\n', PATHS), `${EITHER};let = = broken\n`);
});

test("daebug adds the client to a worker's own script only: not to its imports, not to scripts of the page", async () => {
  const worker = await rawRequest(server.at('/totals.mjs'), { headers: { 'sec-fetch-dest': 'worker', 'sec-fetch-mode': 'same-origin' } });
  assert.equal(worker.status, 200, worker.body);
  assert.equal(worker.body, 'import "/-daebug/worker.js";export const total = 1;\n');
  assert.equal(worker.headers['cache-control'], 'no-store');
  const classic = await rawRequest(server.at('/legacy.js'), { headers: { 'sec-fetch-dest': 'worker', 'sec-fetch-mode': 'same-origin' } });
  assert.equal(classic.body, `${EITHER};var count = 0;\n`);
  // A module worker's static imports are asked for as `worker` too, in cors mode: they stay as they are.
  const imported = await rawRequest(server.at('/totals.mjs'), { headers: { 'sec-fetch-dest': 'worker', 'sec-fetch-mode': 'cors' } });
  assert.equal(imported.body, 'export const total = 1;\n');
  for (const dest of ['script', 'sharedworker', undefined]) {
    const plain = await rawRequest(server.at('/legacy.js'), { headers: dest ? { 'sec-fetch-dest': dest, 'sec-fetch-mode': 'same-origin' } : {} });
    assert.equal(plain.body, 'var count = 0;\n', String(dest));
  }
});
