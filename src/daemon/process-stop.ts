/**
 * Ties a daemon's stop to the process: Ctrl+C, SIGTERM and a crash each rewrite daebug.md to the
 * stopped state with the reason before the process ends. The exit itself is the caller's (src/cli).
 */
import type { Daemon } from './daemon.js';

/** Exit codes by reason: the shell's 128 + signal for signals, 1 for a crash, 0 otherwise. */
const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Installs the handlers; returns a function that removes them. */
export function stopOnProcessEnd(daemon: Daemon, exit: (code: number) => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    void daemon.stop(signal).finally(() => exit(EXIT_CODES[signal] ?? 1));
  };
  const onCrash = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`daebug crashed: ${error instanceof Error ? error.stack : message}\n`);
    void daemon.stop(`crashed: ${message.split('\n')[0]}`).finally(() => exit(1));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  };
}
