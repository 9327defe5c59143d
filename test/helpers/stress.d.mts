// Types of stress.mjs, for the TypeScript tests.

/** The page realm and its worker. */
export declare const STRESS_REALMS: readonly ['tab', 'tab-webworker'];

/** A scenario's name. */
export type StressScenario = 'editor safe saves' | 'edit tool in place';

/** How each scenario's editing agent works. */
export declare const STRESS_SCENARIOS: Record<StressScenario, { realm: string; save: 'rename' | 'in-place'; place: 'end' | 'alternate'; prefix: string; requests: number; edits: number; editMs: [number, number] }>;

/** What the agents did. */
export interface StressAgents {
  requests: number;
  edits: number;
  middle: number;
  restarts: number;
  save: 'rename' | 'in-place';
  historyLines: number;
  /** Mid-file edits that found no history line in the log they read (the log was missing its history). */
  readsWithoutHistory: string[];
}

/** Every kind of loss, each as a list of what went wrong. */
export interface StressLosses {
  lostLines: string[];
  duplicatedLines: string[];
  lostReplies: string[];
  doubleReplies: string[];
  strayReplies: string[];
  failedReplies: string[];
  markersLeft: string[];
  footers: string[];
  neverRan: string[];
  ranTwice: string[];
  unknownJobs: string[];
}

/** A finished run. */
export interface StressReport extends StressLosses {
  scenario: StressScenario;
  readsWithoutHistory: string[];
  agents: StressAgents;
  agentsMs: number;
  /** Requests with a reply in their log when the agents stopped. */
  answeredWhileAgentsRan: number;
  waitedMs: number;
}

/** The jobs each realm ran, by realm name. */
export type StressRuns = Record<string, string[]>;

/** Writes each realm's log with about `bytes` (default 300 KiB) of plain agent lines under a title; returns how many lines. */
export declare function writeHistoryLogs(logDir: string, bytes?: number): number;

/** Resolves once the daemon has put its footer under the history of every log. */
export declare function waitForFooters(logDir: string, timeoutMs?: number): Promise<void>;

/** Counts what the logs and the realms show against what the agents did. */
export declare function countStress(scenario: StressScenario, texts: Record<string, string>, ran: StressRuns, agents: Pick<StressAgents, 'requests' | 'edits' | 'historyLines'>): StressLosses;

/** How a summary names each kind of loss. */
export declare const LOSS_KINDS: Record<keyof StressLosses | 'readsWithoutHistory', string>;

/** Every loss in a report, listed, or [] when there is none. */
export declare function stressProblems(report: StressLosses & { readsWithoutHistory?: string[] }, limit?: number): string[];

/** One line: what the run covered and what it lost. */
export declare function stressSummary(report: StressReport): string;

/** Runs one scenario against a daemon that watches `logDir` and counts. */
export declare function runStress(options: {
  logDir: string;
  scenario: StressScenario;
  historyLines: number;
  ran: () => StressRuns;
  /** Multiplies the scenario's requests and edits. */
  scale?: number;
  waitMs?: number;
  stableMs?: number;
  settleMs?: number;
}): Promise<StressReport>;
