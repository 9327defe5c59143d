/**
 * Applies stack-text.ts to what realms send before it is rendered: outcomes and events. Everything a
 * realm sends goes through `inOrder`, so a slow source map never lets a later message overtake an
 * earlier one of the same realm (events streamed during a job must land before its result).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WireEvent, WireOutcome } from '../protocol/messages.js';
import { packageRoot } from '../package-root.js';
import type { RequestSources } from './request-positions.js';
import type { SourceMaps } from './source-maps.js';
import { mayHoldFrames, rewriteLocations, scriptPositions, withoutOwnFrames } from './stack-text.js';

/** Rewrites the stacks in what one realm sent. */
export interface StackMapper {
  /** `work` after every earlier call for the same realm key has finished. */
  inOrder<T>(realmKey: string, work: () => Promise<T>): Promise<T>;
  outcome(outcome: WireOutcome, node: boolean, current: string | null): Promise<WireOutcome>;
  events(events: WireEvent[], node: boolean, current: string | null): Promise<WireEvent[]>;
  /** Any other text holding a stack (a failed test's error). */
  text(text: string, node: boolean): Promise<string>;
}

/** A stack mapper over the jobs of `sources` and the maps of `maps`. */
export function createStackMapper(sources: RequestSources, maps: SourceMaps): StackMapper {
  const dist = join(packageRoot(), 'dist');
  // daebug's own frames: its browser client (served under /-daebug/) and its Node realm's files.
  const ownMarkers = ['/-daebug/', pathToFileURL(dist).href, dist];
  const chains = new Map<string, Promise<unknown>>();

  const mapText = async (text: string, node: boolean, current: string | null): Promise<string> => {
    if (!mayHoldFrames(text) && !text.includes('/-daebug/')) return text;
    const cleaned = withoutOwnFrames(text, ownMarkers);
    const found = new Map<string, string | null>();
    await Promise.all(
      scriptPositions(cleaned).map(async (position) => {
        const key = `${position.url}:${position.line}:${position.column}`;
        found.set(key, await maps.locate(position).catch(() => null));
      }),
    );
    return rewriteLocations(cleaned, {
      request: (jobId, line, column) => sources.locate(jobId, line, column, node, current),
      script: (position) => found.get(`${position.url}:${position.line}:${position.column}`) ?? null,
    });
  };

  return {
    inOrder(realmKey, work) {
      const previous = chains.get(realmKey) ?? Promise.resolve();
      const next = previous.then(work, work);
      const settled = next.catch(() => undefined);
      chains.set(realmKey, settled);
      void settled.then(() => chains.get(realmKey) === settled && chains.delete(realmKey));
      return next;
    },
    async outcome(outcome, node, current) {
      if (outcome.kind === 'error') return { ...outcome, error: await mapText(outcome.error, node, current) };
      if (outcome.value.lang === 'JSON') return outcome;
      return { ...outcome, value: { ...outcome.value, text: await mapText(outcome.value.text, node, current) } };
    },
    text: (text, node) => mapText(text, node, null),
    events(events, node, current) {
      return Promise.all(
        events.map(async (event) => {
          const text = await mapText(event.text, node, current);
          const location = event.location ? await mapText(event.location, node, current) : undefined;
          return { ...event, text, ...(location ? { location } : {}) };
        }),
      );
    },
  };
}
