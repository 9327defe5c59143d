// Headless Chromium for the end-to-end tests (playwright-core with the system browser).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const KNOWN_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'];

/** The browser to drive: CHROME_PATH, or a well-known install path. A missing browser fails loudly. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROME_PATH, ...KNOWN_PATHS].filter((path): path is string => Boolean(path));
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(`no Chromium found (looked at ${candidates.join(', ')}): install Debian's chromium package (apt-get install chromium) or set CHROME_PATH. The browser tests never pass without a browser.`);
  }
  return found;
}

/** Launches headless Chromium with the flags this sandbox needs (no network beyond localhost), and `extraArgs`. */
export function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', ...extraArgs],
  });
}
