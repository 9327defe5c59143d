/**
 * Ties a daemon's stop to the process: Ctrl+C, SIGTERM and a crash each rewrite daebug.md to the
 * stopped state with the reason before the process ends. The exit itself is the caller's (src/cli).
 */

const SIGNAL_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** The exit code for a stop reason: 128 + the signal for signals, 1 for a crash, 0 otherwise. */
export function exitCodeFor(reason: string): number {
  return SIGNAL_CODES[reason] ?? (reason.startsWith('crashed') ? 1 : 0);
}

/** Installs the handlers; a second signal while stopping exits at once. Returns a function that removes them. */
export function stopOnProcessEnd(daemon: { stop(reason: string): Promise<void> }, exit: (code: number) => void): () => void {
  let stopping = false;
  const stopThenExit = (reason: string) => {
    if (stopping) return exit(exitCodeFor(reason));
    stopping = true;
    void daemon.stop(reason).finally(() => exit(exitCodeFor(reason)));
  };
  const onSignal = (signal: NodeJS.Signals) => stopThenExit(signal);
  const onCrash = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`daebug crashed: ${error instanceof Error ? error.stack : message}\n`);
    stopThenExit(`crashed: ${message.split('\n')[0]}`);
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
