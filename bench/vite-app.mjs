// A real Vite dev server for the proxy step of bench/run.mjs: a page whose module imports 100 small
// modules, as an app of modest size does. Writes the app into the folder it is given, starts Vite
// there on a free port and prints the port. Its own process, so that Vite's work is not daebug's.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'vite';

const MODULES = 100;
const app = process.argv[2];
mkdirSync(join(app, 'src'), { recursive: true });
writeFileSync(join(app, 'index.html'), '<!doctype html><html><head><title>bench app</title></head><body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>\n');
const imports = Array.from({ length: MODULES }, (_, index) => `import { part${index} } from './part${index}.js';`);
const uses = Array.from({ length: MODULES }, (_, index) => `part${index}()`);
writeFileSync(join(app, 'src', 'main.js'), `${imports.join('\n')}\ndocument.querySelector('#app').textContent = [${uses.join(', ')}].reduce((sum, value) => sum + value, 0);\nwindow.benchLoaded = performance.now();\n`);
for (let index = 0; index < MODULES; index++) {
  writeFileSync(join(app, 'src', `part${index}.js`), `// part ${index} of the app\nexport function part${index}() {\n  const values = [${index}, ${index + 1}, ${index + 2}];\n  return values.reduce((sum, value) => sum + value, 0);\n}\n`);
}
const vite = await createServer({ root: app, configFile: false, logLevel: 'silent', server: { port: 0, host: '127.0.0.1' } });
await vite.listen();
process.stdout.write(`${new URL(vite.resolvedUrls.local[0]).port}\n`);
