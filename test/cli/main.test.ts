// Spawns the built CLI (npm test builds it first) and checks what a user sees.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const cli = new URL('../../dist/cli/main.js', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };

function run(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

test('the package bin points at the built CLI', () => {
  assert.equal(manifest.bin.daebug, 'dist/cli/main.js');
  assert.match(readFileSync(cli, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('--version prints the package version', () => {
  for (const flag of ['--version', '-v']) {
    const result = run(flag);
    assert.equal(result.status, 0);
    assert.equal(result.stdout, `${manifest.version}\n`);
  }
});

test('--help prints the usage', () => {
  const result = run('--help');
  assert.equal(result.status, 0);
  assert.match(result.stdout, /npx daebug \[--root <dir>\] \[--port <n>\]/);
  assert.match(result.stdout, /npx daebug --test \[<glob>\.\.\.\] \[--root <dir>\] \[--port <n>\]/);
  assert.match(result.stdout, /with --test: use the daebug serving the folder there, or start one there/);
  assert.match(result.stdout, /\[--allow-origin <origin>\]\.\.\./);
  assert.match(result.stdout, /--allow-origin <origin>\n +also let pages on <origin> \(exactly/);
  assert.match(result.stdout, /npx daebug --proxy <url\|port>/);
  assert.match(result.stdout, /--proxy <target> pass every request outside \/-daebug\/ to your dev server/);
  assert.match(result.stdout, /npx daebug node \[node options\] <app\.js> \[args\]/);
  assert.match(result.stdout, /node --import daebug\/node app\.js \(--require daebug\/node for CommonJS apps/);
  assert.match(result.stdout, /import \{ expose \} from 'daebug\/node'; expose\(\{ app, db \}\)/);
  assert.match(result.stdout, /\[--open \[<path>\|<url>\] \[--headless\] \[--browser <path>\]\]/);
  assert.match(result.stdout, /--open \[<path>\|<url>\]\n +launch Chromium on <path> of the pages' server \(default \/: daebug's, or\n +the dev server's with the plugin\) or on a URL of this machine/);
  assert.match(result.stdout, /--headless       with --open: no window/);
});

test('usage errors exit 2 with a one-line reason and a --help hint', () => {
  for (const [args, reason] of [
    [['--bogus'], 'daebug: unknown option --bogus'],
    [['--port', '0'], 'daebug: port "0" is not a whole number from 1 to 65535'],
    [['--port=70000'], 'daebug: port "70000" is not a whole number from 1 to 65535'],
    [['--root', '/no/such/folder'], 'daebug: --root /no/such/folder is not a folder'],
    [['--timeout', 'soon'], 'daebug: --timeout "soon" is not a positive whole number of milliseconds'],
    [['--log', 'xml'], 'daebug: --log takes only "json"'],
    [['--max-output', '100'], 'daebug: --max-output "100" is not a number of bytes from 256 (like 4096 or 4k)'],
    [['--max-output', 'lots'], 'daebug: --max-output "lots" is not a number of bytes from 256 (like 4096 or 4k)'],
    [['--test', '--max-output', '4k'], 'daebug: --max-output goes with serving, not with --test'],
    [['--allow-origin', 'app.test:3000'], 'daebug: --allow-origin "app.test:3000" is not an origin like http://app.test:3000'],
    [['--allow-origin', 'http://a.test', '--allow-origin=*'], 'daebug: --allow-origin "*" is not an origin like http://app.test:3000'],
    [['--test', '--allow-origin', 'http://a.test'], 'daebug: --allow-origin goes with serving, not with --test'],
    [['--proxy', 'http://localhost:5173/app'], "daebug: --proxy http://localhost:5173/app: give the dev server's origin (such as http://localhost:5173) and open the path through daebug"],
    [['--test', '--proxy', '5173'], 'daebug: --proxy does not go with --test: start daebug --proxy, open a page, then run daebug --test'],
    [['node'], 'daebug: daebug node needs the app to run, like daebug node app.js'],
    [['--headless'], 'daebug: --headless goes with --open'],
    [['--browser', '/usr/bin/chromium'], 'daebug: --browser goes with --test or --open'],
    [['--test', '--open'], 'daebug: --open does not go with --test, which launches its own browser when no page is open'],
    [['--open', 'javascript:alert(1)'], 'daebug: --open takes a path (/) or a URL of this machine (http://localhost:5173/): "javascript:alert(1)" is neither, and daebug opens no page of another origin'],
  ] as const) {
    const result = run(...args);
    assert.equal(result.status, 2, args.join(' '));
    assert.equal(result.stderr, `${reason}\nRun daebug --help for usage.\n`);
  }
});
