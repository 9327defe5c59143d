/**
 * `await daebug.screenshot(selector?)`: asks the daemon to photograph this page (the daemon can only
 * where it launched the browser, `daebug --open`), which writes the PNG beside the log; answers with a
 * Markdown image link to it, or with one line saying why there is none and how to get one.
 */
import { ShownAsText } from './shown-as-text.js';

/** Sends the request to the daemon's screenshot route; null when the daemon cannot be reached. */
export type ScreenshotCall = (body: { selector?: string }) => Promise<Response | null>;

/** The `screenshot` helper of a realm. */
export function screenshotHelper(call: ScreenshotCall): (selector?: string) => Promise<ShownAsText> {
  return async (selector) => {
    if (selector !== undefined && typeof selector !== 'string') throw new TypeError('daebug.screenshot(selector?) takes a CSS selector');
    const response = await call(selector ? { selector } : {});
    if (!response) return new ShownAsText('no screenshot: the daemon cannot be reached');
    const answer = (await response.json().catch(() => null)) as { ok?: boolean; path?: string; reason?: string; error?: string } | null;
    if (answer?.ok && answer.path) return new ShownAsText(`![screenshot${selector ? ` of ${selector}` : ''}](${answer.path})`);
    return new ShownAsText(`no screenshot: ${answer?.reason ?? answer?.error ?? `the daemon answered ${response.status}`}`);
  };
}
