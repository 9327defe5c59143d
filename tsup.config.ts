import { defineConfig, type Options } from 'tsup';

/** What every browser bundle shares: self-contained ES modules for realms, served from dist/client. */
const browser: Options = {
  format: ['esm'],
  platform: 'browser',
  target: 'es2022',
  outDir: 'dist/client',
  tsconfig: 'src/client/tsconfig.json',
  splitting: false,
  sourcemap: false,
};

export default defineConfig([
  {
    entry: {
      'cli/main': 'src/cli/main.ts',
      'protocol/index': 'src/protocol/index.ts',
      // The build-tool plugin: one entry per bundler, imported as `daebug/plugin/<bundler>`.
      'plugin/index': 'src/plugin/index.ts',
      'plugin/vite': 'src/plugin/vite.ts',
      'plugin/webpack': 'src/plugin/webpack.ts',
      'plugin/rspack': 'src/plugin/rspack.ts',
      'plugin/rollup': 'src/plugin/rollup.ts',
      'plugin/esbuild': 'src/plugin/esbuild.ts',
      // Node processes as realms: `node --import daebug/node app.js`, and `expose` for apps.
      node: 'src/node/index.ts',
    },
    format: ['esm'],
    platform: 'node',
    target: 'node18',
    outDir: 'dist',
    sourcemap: true,
    splitting: true,
    // Types for the plugin's users (a typed vite.config.ts); the CLI needs none.
    dts: { entry: { node: 'src/node/index.ts', 'plugin/index': 'src/plugin/index.ts', 'plugin/vite': 'src/plugin/vite.ts', 'plugin/webpack': 'src/plugin/webpack.ts', 'plugin/rspack': 'src/plugin/rspack.ts', 'plugin/rollup': 'src/plugin/rollup.ts', 'plugin/esbuild': 'src/plugin/esbuild.ts' } },
  },
  {
    // `node --require daebug/node` (CommonJS apps, and Node versions without --import): one file.
    entry: { node: 'src/node/index.ts' },
    format: ['cjs'],
    platform: 'node',
    target: 'node18',
    outDir: 'dist',
    sourcemap: true,
  },
  {
    // Browser bundles served to realms; self-contained, no imports at run time.
    ...browser,
    entry: { page: 'src/client/page.ts', worker: 'src/client/worker.ts', evaluate: 'src/client/evaluate.ts', 'node-test': 'src/client/node-test.ts' },
    minify: false,
    define: { __DAEBUG_CLASSIC__: 'false' },
  },
  {
    // The worker client for classic workers, which load it with importScripts: a script, not a module.
    ...browser,
    entry: { 'worker-classic': 'src/client/worker.ts' },
    format: ['iife'],
    minify: false,
    define: { __DAEBUG_CLASSIC__: 'true' },
    outExtension: () => ({ js: '.js' }),
  },
  {
    // node:assert for browsers, with the bit of `process` the assert package reads.
    ...browser,
    entry: { 'node-assert': 'src/client/node-assert.ts', 'node-assert-strict': 'src/client/node-assert-strict.ts' },
    minify: true,
    noExternal: ['assert'],
    esbuildOptions(options) {
      options.inject = ['src/client/process-shim.ts'];
    },
  },
]);
