/**
 * daebug.md on disk: written at start, on changes of the realm list or a realm's state, at most once a
 * second and only when its text changes; read for `%%SHUTDOWN%%`.
 */
import { hasShutdownRequest } from '../protocol/registry.js';
import type { LogStore } from '../store/index.js';

/** The registry file's writer. */
export interface RegistryFile {
  /** Asks for a write; several asks within the interval become one write. */
  schedule(): void;
  /** Reads the file; resolves true when it asks the daemon to stop. */
  checkShutdown(): Promise<boolean>;
  /** Writes the stopped registry now and stops scheduling. */
  writeStopped(text: string): Promise<void>;
  /** Resolves after any scheduled write has happened. */
  flush(): Promise<void>;
}

/** Options of the registry writer. */
export interface RegistryFileOptions {
  path: string;
  store: LogStore;
  /** The current registry text. */
  render: () => string;
  minIntervalMs: number;
  /** Called when the file asks the daemon to stop. */
  onShutdownRequest: () => void;
  /** Called when a scheduled write fails. */
  onError: (error: Error) => void;
}

/** Creates the writer; nothing is written until `schedule` is called. */
export function createRegistryFile(options: RegistryFileOptions): RegistryFile {
  let timer: NodeJS.Timeout | null = null;
  let lastWrite = 0;
  let stopped = false;
  let pending: Promise<void> = Promise.resolve();

  const write = async () => {
    timer = null;
    if (stopped) return;
    lastWrite = Date.now();
    const { result } = await options.store.update(options.path, (content) => {
      // An agent's %%SHUTDOWN%% must be read, not overwritten by the next registry write.
      if (content.kind === 'text' && hasShutdownRequest(content.text)) return { text: null, result: 'shutdown' as const };
      if (content.kind === 'unreadable') return { text: null, result: 'kept' as const };
      return { text: options.render(), result: 'written' as const };
    });
    if (result === 'shutdown') options.onShutdownRequest();
  };

  return {
    schedule() {
      if (stopped || timer) return;
      const wait = Math.max(0, lastWrite + options.minIntervalMs - Date.now());
      timer = setTimeout(() => {
        pending = write().catch(options.onError);
      }, wait);
    },
    async checkShutdown() {
      const { result } = await options.store.update(options.path, (content) => ({
        text: null,
        result: content.kind === 'text' && hasShutdownRequest(content.text),
      }));
      return result;
    },
    async writeStopped(text) {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await pending;
      await options.store.update(options.path, (content) => ({ text: content.kind === 'unreadable' ? null : text, result: null }));
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        pending = write().catch(options.onError);
      }
      await pending;
    },
  };
}
