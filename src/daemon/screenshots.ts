/**
 * Screenshots of pages, for `daebug.screenshot()`: taken by a camera (the browser daebug launched with
 * --open, src/cli/open-browser.ts) and written beside the realm's log as `<log>.shots/<n>.png`, so the
 * answer can link it relative to the log.
 */
import { basename, dirname, join, relative } from 'node:path';
import type { NumberedFiles } from './beside-log.js';
import type { Realm } from './realms.js';

/** Takes a PNG of a realm's page (of the first element matching `selector`), or says why it cannot. */
export interface Camera {
  shoot(realmName: string, selector: string | null): Promise<Uint8Array | { reason: string }>;
}

/** What a screenshot request answers: the PNG's path relative to the log, or why there is none. */
export type ScreenshotAnswer = { ok: true; path: string; /** Older files removed to keep within the budget (beside-log.ts). */ removed?: number } | { ok: false; reason: string };

export const NO_CAMERA = 'this page runs in a browser daebug did not launch; run daebug --open <path> (and --headless for no window) and ask in that page';

/**
 * Takes a screenshot of `realm` with `camera` and writes it beside the log at `logPath`, as spills are
 * written (`files`: only into a real folder inside the root, only as a new file).
 */
export async function takeScreenshot(realm: Realm, selector: string | null, camera: Camera | null, logPath: string, files: NumberedFiles): Promise<ScreenshotAnswer> {
  if (realm.kind !== 'page') return { ok: false, reason: `${realm.name} is a ${realm.kind}, it has no screen; ask its page` };
  if (!camera) return { ok: false, reason: NO_CAMERA };
  const shot = await camera.shoot(realm.name, selector);
  if (!(shot instanceof Uint8Array)) return { ok: false, reason: shot.reason };
  const folder = join(dirname(logPath), `${basename(logPath, '.md')}.shots`);
  const written = files.write(folder, 'png', shot);
  return { ok: true, path: relative(dirname(logPath), written.path).split('\\').join('/'), removed: written.removed.files };
}
