/**
 * The dev server `--proxy` names: a port (`5173` is `http://localhost:5173`) or an http(s) origin.
 */

/** The target's origin, or why the text names none. */
export type ProxyTarget = { ok: true; url: URL } | { ok: false; reason: string };

/** Reads the value of `--proxy`. */
export function parseProxyTarget(text: string): ProxyTarget {
  const value = text.trim();
  if (/^\d+$/.test(value)) {
    const port = Number(value);
    if (port < 1 || port > 65535) return { ok: false, reason: `--proxy ${value}: a port is a whole number from 1 to 65535` };
    return { ok: true, url: new URL(`http://localhost:${port}`) };
  }
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    return { ok: false, reason: `--proxy ${JSON.stringify(value)} is neither a port nor a URL such as http://localhost:5173` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: `--proxy ${value}: daebug proxies http: and https: servers, not ${url.protocol}` };
  // Paths are the browser's to choose: daebug forwards /a/b as /a/b, so the target is an origin.
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return { ok: false, reason: `--proxy ${value}: give the dev server's origin (such as ${url.origin}) and open the path through daebug` };
  }
  return { ok: true, url: new URL(url.origin) };
}
