/**
 * `daebug --open [path]`: launches Chromium (playwright-core, the system browser) on a page of this
 * daebug, headless with --headless. The daemon keeps it as its camera: `daebug.screenshot()` in a page
 * of that browser is taken here, found by the realm name the page's client holds.
 */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Camera } from '../daemon/screenshots.js';

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

/** A browser daebug launched, and the camera it is for the daemon. */
export interface LaunchedBrowser {
  camera: Camera;
  /** Launches the browser on `url`; rejects with a one-line reason. */
  open(url: string): Promise<void>;
  close(): Promise<void>;
}

const FIND_MS = 2_000;
const SHOT_MS = 10_000;

/** A browser to launch later (the daemon needs its camera before the server knows its URL). */
export function createLaunchedBrowser(options: { headless: boolean; browser: string | null }): LaunchedBrowser {
  let browser: Browser | null = null;
  let context: BrowserContext | null = null;
  const camera: Camera = {
    async shoot(realmName, selector) {
      if (!context || !browser?.isConnected()) return { reason: 'the browser daebug launched (--open) is not open any more; start daebug with --open again' };
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
    async open(url) {
      const path = findBrowser(options.browser);
      if (!path) throw new Error('--open found no browser: pass --browser <path> or set CHROME_PATH');
      browser = await launchChromium(path, options.headless, !options.headless);
      context = await browser.newContext(options.headless ? { viewport: { width: 1280, height: 800 } } : { viewport: null });
      const page = await context.newPage();
      await page.goto(url);
    },
    async close() {
      await browser?.close().catch(() => {});
    },
  };
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
