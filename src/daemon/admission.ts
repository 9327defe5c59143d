/**
 * How many realms the daemon takes (issue 23: a page holding only the page token could connect
 * thousands, each with a log): at most `connected` realms connected at once, and at most
 * `newPerMinute` realms it has not seen before (each gets a log) in any minute. A refusal says which
 * limit, to the caller and once in the registry's notices.
 */
import type { Realm } from './realms.js';

/** The limits. */
export interface AdmissionLimits {
  connected: number;
  newPerMinute: number;
}

/** A developer's tabs and workers are a few dozen; the scale bench connects 100 realms at once. */
export const ADMISSION_LIMITS: AdmissionLimits = { connected: 300, newPerMinute: 200 };

/** Why a realm is not taken now. */
export interface AdmissionRefusal {
  code: 'ERR_TOO_MANY_REALMS' | 'ERR_TOO_MANY_LOGS';
  message: string;
}

const MINUTE_MS = 60_000;

/** Counts what the limits count; `refusal` is asked before a realm connects, `admitted` after. */
export function createAdmission(limits: AdmissionLimits = ADMISSION_LIMITS) {
  /** When realms not seen before were taken, within the last minute. */
  const created: number[] = [];
  return {
    /** Why `name` may not connect now, or null. `existing` is its entry in the realm table, if any. */
    refusal(all: readonly Realm[], existing: Realm | undefined, now: number): AdmissionRefusal | null {
      if (existing?.connected) return null;
      if (all.filter((realm) => realm.connected).length >= limits.connected) {
        return { code: 'ERR_TOO_MANY_REALMS', message: `daebug holds at most ${limits.connected} connected realms; close pages or workers, or restart daebug, to connect more` };
      }
      while (created.length > 0 && created[0]! <= now - MINUTE_MS) created.shift();
      if (!existing && created.length >= limits.newPerMinute) {
        return { code: 'ERR_TOO_MANY_LOGS', message: `daebug takes at most ${limits.newPerMinute} new realms (each with a log) a minute; try again in a minute` };
      }
      return null;
    },
    /** A realm connected; `isNew` when the table had no entry for it. */
    admitted(isNew: boolean, now: number): void {
      if (isNew) created.push(now);
    },
  };
}
