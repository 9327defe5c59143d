/**
 * `daebug --open [path|URL]`: launches Chromium (playwright-core, the system browser) on a page of
 * this daebug's, headless with --headless; a daebug already running launches it when asked (it is
 * joined, never replaced). The daemon keeps it as its camera: `daebug.screenshot()` in a page
 * of that browser is taken here, found by the realm name the page's client holds.
 */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { NO_CAMERA, type Camera } from '../daemon/screenshots.js';
import { ROUTES, TOKEN_HEADER } from '../protocol/routes.js';

/** Where Chrome and Chromium are usually installed. */
export const KNOWN_BROWSERS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'];

/** The browser to launch: `explicit`, CHROME_PATH, or a usual install path; null when none exists. */
export function findBrowser(explicit: string | null): string | null {
  return [explicit, process.env.CHROME_PATH, ...KNOWN_BROWSERS].find((candidate): candidate is string => Boolean(candidate) && existsSync(candidate!)) ?? null;
}

/** The flags every browser daebug launches gets (no network of its own, no GPU). */
export const BROWSER_ARGS = ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Why a window a person keeps using is not opened without Chromium's sandbox. */
export const NO_SANDBOX_REFUSAL =
  "the browser's sandbox cannot start here (daebug runs as root, or the system allows no sandbox), and daebug does not open a window a person keeps using without it: run daebug as a normal user, or add --headless";

/**
 * Launches Chromium with its sandbox; without it only where the sandbox cannot start (as root, or a
 * container without user namespaces) and only for a browser nobody works in (a test run's, or
 * --open --headless). A window a person keeps using (--open) is never opened without it.
 */
export async function launchChromium(path: string, headless: boolean, personUses: boolean): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const launch = (noSandbox: boolean) => chromium.launch({ executablePath: path, headless, args: noSandbox ? [...BROWSER_ARGS, '--no-sandbox'] : BROWSER_ARGS });
  const asRoot = process.getuid?.() === 0;
  if (!asRoot) {
    try {
      return await launch(false);
    } catch (error) {
      if (!/sandbox/i.test(String((error as Error).message))) throw error;
      if (personUses) throw new Error(NO_SANDBOX_REFUSAL);
    }
  } else if (personUses) {
    throw new Error(NO_SANDBOX_REFUSAL);
  }
  return launch(true);
}

/** How to launch the browser: `--headless`, `--browser`. */
export interface LaunchHow {
  headless: boolean;
  browser: string | null;
}

/** The browser a daebug launches on request (`--open`), and the camera it is for the daemon. */
export interface LaunchedBrowser {
  camera: Camera;
  /** Opens `url` in a new page: of the browser already open, else of one launched now; rejects with a one-line reason. */
  open(url: string, how: LaunchHow): Promise<void>;
  close(): Promise<void>;
}

const FIND_MS = 2_000;
const SHOT_MS = 10_000;

/** No browser until the first `open` (the daemon needs its camera before anything is opened). */
export function createLaunchedBrowser(): LaunchedBrowser {
  let browser: Browser | null = null;
  let context: BrowserContext | null = null;
  const camera: Camera = {
    async shoot(realmName, selector) {
      if (!browser) return { reason: NO_CAMERA };
      if (!context || !browser.isConnected()) return { reason: 'the browser daebug launched (--open) is not open any more; run daebug --open again' };
      const page = await pageOf(context, realmName);
      if (!page) return { reason: `${realmName} is not a page of the browser daebug launched (--open); open it there to take screenshots` };
      if (!selector) return page.screenshot({ timeout: SHOT_MS });
      const target = page.locator(selector).first();
      if ((await target.count()) === 0) return { reason: `no element matches ${JSON.stringify(selector)}` };
      return target.screenshot({ timeout: SHOT_MS });
    },
  };
  return {
    camera,
    async open(url, how) {
      if (!context || !browser?.isConnected()) {
        const path = findBrowser(how.browser);
        if (!path) throw new Error('--open found no browser: pass --browser <path> or set CHROME_PATH');
        await browser?.close().catch(() => {});
        browser = await launchChromium(path, how.headless, !how.headless);
        context = await browser.newContext(how.headless ? { viewport: { width: 1280, height: 800 } } : { viewport: null });
      }
      await (await context.newPage()).goto(url);
    },
    async close() {
      await browser?.close().catch(() => {});
    },
  };
}

/**
 * The page `target` names, as a URL: a path of the pages' server (`pagesAt`: the dev server's with the
 * plugin, else daebug's), or a URL of this machine; anything else is refused with the reason.
 */
export function openTarget(target: string, pagesAt: string): { url: string } | { refused: string } {
  if (target.startsWith('/') && !target.startsWith('//')) return { url: new URL(target, pagesAt).href };
  let url: URL | null = null;
  try {
    url = new URL(target);
  } catch {
    // Neither a path nor a URL: refused below.
  }
  const host = url?.hostname.replace(/^\[|\]$/g, '');
  if (url && /^https?:$/.test(url.protocol) && (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host!))) return { url: url.href };
  return { refused: `--open takes a path (/) or a URL of this machine (http://localhost:5173/): ${JSON.stringify(target.slice(0, 200))} is neither, and daebug opens no page of another origin` };
}

/** Asks the daebug at `base` (its tool token `token`) to open `target` in its browser: `--open` joining it. Resolves with the URL opened. */
export async function askToOpen(base: string, token: string, target: string, how: LaunchHow): Promise<string> {
  const answer = await fetch(new URL(ROUTES.open.path, base), { method: 'POST', headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token }, body: JSON.stringify({ target, ...how }) });
  const body = (await answer.json().catch(() => null)) as { url?: string; error?: string } | null;
  if (!answer.ok || typeof body?.url !== 'string') throw new Error(`the daebug at ${base} did not open ${target}: ${body?.error ?? `status ${answer.status}`}`);
  return body.url;
}

/** The page whose daebug client holds `realmName` (a busy page is skipped after a moment). */
async function pageOf(context: BrowserContext, realmName: string): Promise<Page | null> {
  for (const page of context.pages()) {
    const asked = page.evaluate(() => (globalThis as { __daebug?: { realm?: string } }).__daebug?.realm ?? null).catch(() => null);
    const name = await Promise.race([asked, new Promise<null>((resolve) => setTimeout(() => resolve(null), FIND_MS))]);
    if (name === realmName) return page;
  }
  return null;
}
