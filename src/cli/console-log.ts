/**
 * What daebug prints: a start-up banner, then one line per realm connect, accepted request and
 * result; colour only on a terminal; or one JSON object per line with `--log json`.
 */
import type { DaemonLogEntry } from '../daemon/daemon.js';
import { routePath } from '../protocol/routes.js';
import { printable } from '../protocol/safe-text.js';
import { formatClock, formatDuration } from '../protocol/time.js';

/** The console printer. */
export interface ConsoleLog {
  entry(entry: DaemonLogEntry): void;
  line(text: string): void;
  banner(info: { version: string; root: string; url: string; host: string; allowedOrigins?: readonly string[]; proxy?: string }): void;
}

const COLORS = { dim: '\x1b[2m', green: '\x1b[32m', red: '\x1b[31m', yellow: '\x1b[33m', cyan: '\x1b[36m', bold: '\x1b[1m', reset: '\x1b[0m' };

/** Creates the printer for this process's stdout and stderr. */
export function createConsoleLog(options: { json: boolean; color: boolean }): ConsoleLog {
  const paint = (color: keyof typeof COLORS, text: string) => (options.color ? `${COLORS[color]}${text}${COLORS.reset}` : text);
  const time = () => paint('dim', formatClock(new Date()));
  return {
    entry(entry) {
      if (options.json) {
        process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');
        return;
      }
      if (entry.event === 'job-started' || entry.event === 'realm-state' || entry.event === 'started') return;
      const color = entry.level === 'warn' || entry.event === 'job-failed' || entry.event === 'job-timed-out' ? 'red' : entry.event === 'job-finished' ? 'green' : entry.event === 'accepted' ? 'cyan' : 'dim';
      const duration = entry.durationMs !== undefined ? ` ${paint('dim', formatDuration(entry.durationMs))}` : '';
      const stream = entry.level === 'warn' ? process.stderr : process.stdout;
      // Messages carry realm names, URLs and diagnostics: no escape sequence of theirs reaches the terminal.
      stream.write(`${time()} ${paint(color, printable(entry.message))}${duration}\n`);
    },
    line(text) {
      if (options.json) process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', event: 'message', message: text }) + '\n');
      else process.stdout.write(`${time()} ${printable(text)}\n`);
    },
    banner({ version, root, url, host, allowedOrigins = [], proxy }) {
      if (options.json) {
        process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', event: 'listening', version, root, url, ...(proxy ? { proxy } : {}) }) + '\n');
        return;
      }
      const lines = [
        proxy ? `${paint('bold', `👾 daebug ${version}`)} proxying ${proxy} (logs in ${root})` : `${paint('bold', `👾 daebug ${version}`)} serving ${root}`,
        `   open ${paint('cyan', url)} in a browser: each page becomes a realm`,
        `   realms: ${root}/daebug.md   logs: ${root}/daebug/<realm>.md`,
        `   pages on your own dev server: <script src="${new URL(routePath('client'), url).href}"></script>`,
      ];
      if (allowedOrigins.length > 0) lines.push(`   pages on ${allowedOrigins.join(', ')} may connect too (--allow-origin)`);
      if (!['127.0.0.1', 'localhost', '::1'].includes(host)) lines.push(paint('yellow', `   listening on ${host}: anyone who can reach it can run code in your pages once they have its token`));
      process.stdout.write(lines.join('\n') + '\n');
    },
  };
}
