#!/usr/bin/env node
/**
 * The `daebug` command. Until the daemon lands (see the project's issues) it answers `--help` and
 * `--version` and says plainly that serving is not available yet.
 */
import { readFileSync } from 'node:fs';

const HELP = `daebug: run JavaScript in live browser pages and workers through Markdown files

Usage:
  npx daebug [--root <dir>] [--port <n>] [--host <addr>] [--timeout <ms>]
  npx daebug --test [<glob>...] [--page <text>] [--timeout <ms>] [--browser <path>]
  npx daebug --help | --version

This build has the file protocol only; the daemon that serves pages is not part of it yet.
The format of the files is described in docs/file-format.md.
`;

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function main(argv: readonly string[]): number {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  process.stderr.write('daebug: the daemon is not implemented in this build yet; see `daebug --help`\n');
  return 2;
}

process.exit(main(process.argv.slice(2)));
