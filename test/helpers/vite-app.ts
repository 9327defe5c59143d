// A real Vite + React + TypeScript app, made by a test in a folder of its own: a page whose React
// component uses the app's own TypeScript module and an npm package, and a module worker. The app
// finds its packages (react, micromark, vite) through a link to daebug's node_modules.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** daebug's own checkout: its node_modules serve the apps. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Writes the app into `root` (index.html, src/, a node_modules link). */
export function writeViteApp(root: string): void {
  mkdirSync(join(root, 'src'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  writeFileSync(join(root, 'index.html'), '<!doctype html><html><head><title>cart</title></head><body><div id="app"></div><script type="module" src="/src/main.tsx"></script></body></html>\n');
  writeFileSync(
    join(root, 'src/cart.ts'),
    ['export interface Line { name: string; price: number; quantity: number }', '', 'export function total(lines: Line[]): number {', '  return lines.reduce((sum, line) => sum + line.price * line.quantity, 0);', '}', ''].join('\n'),
  );
  writeFileSync(
    join(root, 'src/main.tsx'),
    [
      "import { createRoot } from 'react-dom/client';",
      "import { micromark } from 'micromark';",
      "import { total, type Line } from './cart';",
      '',
      "const lines: Line[] = [{ name: 'tea', price: 3, quantity: 2 }];",
      "const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });",
      "worker.onmessage = (event: MessageEvent<number>) => ((window as unknown as { doubled: number }).doubled = event.data);",
      'worker.postMessage(total(lines));',
      '',
      'function App() {',
      "  return <p id=\"total\" dangerouslySetInnerHTML={{ __html: micromark(`total *${total(lines)}*`) }} />;",
      '}',
      '',
      "createRoot(document.getElementById('app')!).render(<App />);",
      '',
    ].join('\n'),
  );
  writeFileSync(join(root, 'src/worker.ts'), 'self.onmessage = (event: MessageEvent<number>) => self.postMessage(event.data * 2);\n');
}

/** A TypeScript test file of the app: node:test, node:assert/strict, the app's own module and an npm package. */
export const CART_TEST = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { micromark } from 'micromark';",
  "import { total, type Line } from './cart';",
  '',
  "test('total adds price times quantity', () => {",
  "  const lines: Line[] = [{ name: 'tea', price: 3, quantity: 2 }];",
  '  assert.equal(total(lines), 6);',
  '});',
  '',
  "test('micromark renders emphasis', () => {",
  "  assert.equal(micromark('*x*'), '<p><em>x</em></p>');",
  '});',
  '',
].join('\n');

/** A failing one: its assertion stands on line 7 of the TypeScript source (types above it move the compiled line). */
export const BROKEN_TEST = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { total, type Line } from './cart';",
  '',
  "test('a wrong total fails at its TypeScript line', () => {",
  "  const lines: Line[] = [{ name: 'tea', price: 3, quantity: 2 }];",
  '  assert.equal(total(lines), 7);',
  '});',
  '',
].join('\n');
