// The plugin's entry for bundlers without an HTML step (here esbuild): in dev, each entry imports a
// module that adds the client's script tag, loaded from the daemon of the project root; a production
// (minified) build gets nothing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from 'esbuild';
import daebug from '../../src/plugin/esbuild.js';
import { readDaemonFile } from '../../src/daemon/daemon-file.js';
import { tempRoot } from '../helpers/temp.js';

function project(): { root: string; entry: string } {
  const root = tempRoot();
  const entry = join(root, 'app.js');
  writeFileSync(entry, 'window.app = "ready";\n');
  return { root, entry };
}

test('a dev build of an entry adds the client, from the daebug of the project root, once', async () => {
  const { root, entry } = project();
  const result = await build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', plugins: [daebug({ root, onLog: () => {} })] });
  const code = result.outputFiles[0]!.text;
  assert.match(code, /-daebug\/client\.js\?t=[\w-]+/, 'the script tag points at the client with the page token');
  assert.match(code, /script\[data-daebug\]/, 'a page that has the client already does not get it twice');
  assert.match(code, /window\.app = "ready"/, 'the entry itself is unchanged');
  // A build that is not watched stops the daemon it started.
  assert.equal(await readDaemonFile(root), null);
});

test('a production build gets no client', async () => {
  const { root, entry } = project();
  const result = await build({ entryPoints: [entry], bundle: true, write: false, minify: true, format: 'esm', plugins: [daebug({ root, onLog: () => {} })] });
  assert.doesNotMatch(result.outputFiles[0]!.text, /daebug/);
});
