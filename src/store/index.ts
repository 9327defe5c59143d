/**
 * The store: daebug's logs on disk, written so that no agent text is ever lost. One queue per log,
 * every write a new version put in place at once (write-atomic.ts), the old file watched for text an
 * agent was still writing into it (backup-keeper.ts), a version the daemon did not write reconciled
 * from the one it was made from (versions.ts, protocol/reconcile.ts), and what a killed daemon left
 * half done finished at the next start (recover-writes.ts). It knows nothing of requests or jobs: the
 * daemon hands it what to compute (daemon/outbox.ts: one group commit per write).
 */
export { createLogStore, type Computed, type LogContent, type LogStore, type LogStoreOptions, type Updated, type UpdateOptions } from './log-store.js';
export { folderProblem, readRealText } from './real-file.js';
export { DEFAULT_STORE_TIMING, type StoreTiming } from './settle.js';
export { STATE_DIR_NAME, ensureStateDir, notOwnOnly, stateDir } from './state-dir.js';
