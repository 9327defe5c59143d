/**
 * What every served HTML page gets: the `node:test` / `node:assert` import map (merged into the page's
 * own map, whose entries win) and the client script. Both go at the start of `<head>`: the import map
 * must precede the page's module scripts, and a client that loads before the page's own scripts sees
 * their console output and uncaught errors from the first line (a script before `</body>`, as
 * daemon.md puts it, would miss everything the page does while it loads).
 */

/** What to inject. */
export interface Injection {
  /** URL of the client script, with the run's token. */
  clientUrl: string;
  /** Bare specifiers daebug provides, e.g. `node:test` → `/-daebug/node-test.js`. */
  imports: Record<string, string>;
  /** Put on both tags, and on the page's import map that daebug's entries are merged into, for the page's CSP (csp.ts). */
  nonce?: string;
}

const IMPORT_MAP = /<script\b[^>]*\btype\s*=\s*(["']?)importmap\1[^>]*>([\s\S]*?)<\/script\s*>/i;

/**
 * The page with daebug's import map and client script. Without a nonce daebug's entries are merged
 * into the page's own import map (its entries win). With one (a page behind `--proxy`, csp.ts) daebug
 * never changes the page's markup or gives it the nonce: the nonce would let through whatever map an
 * attacker put into the page (a `<textarea>`, the body) once daebug took it for the page's. daebug's
 * own map then follows the page's first one (a browser applies both, the page's entries first).
 */
export function injectIntoHtml(html: string, injection: Injection): string {
  const nonce = injection.nonce === undefined ? '' : ` nonce="${escapeAttribute(injection.nonce)}"`;
  const client = `<script src="${escapeAttribute(injection.clientUrl)}"${nonce}></script>`;
  const map = `<script type="importmap"${nonce}>${JSON.stringify({ imports: injection.imports })}</script>`;
  const existing = IMPORT_MAP.exec(html);
  // A map after the head (a `<textarea>` holding one, say) is no map of the page's to follow.
  if (existing && nonce && /<\/head\s*>|<body\b/i.test(html.slice(0, existing.index))) return insertAtHeadStart(html, map + client);
  if (existing) {
    const end = existing.index + existing[0].length;
    if (nonce) return insertAtHeadStart(html.slice(0, end) + map + html.slice(end), client);
    const merged = mergeImportMap(existing[2]!, injection.imports);
    const own = merged === null ? existing[0] : existing[0].replace(existing[2]!, () => merged);
    return insertAtHeadStart(html.slice(0, existing.index) + own + html.slice(end), client);
  }
  return insertAtHeadStart(html, map + client);
}

/** The page's import map with daebug's entries added where the page has none; null when it is not valid JSON. */
function mergeImportMap(source: string, imports: Record<string, string>): string | null {
  try {
    const map = JSON.parse(source) as { imports?: Record<string, string> };
    if (typeof map !== 'object' || map === null) return null;
    return JSON.stringify({ ...map, imports: { ...imports, ...map.imports } });
  } catch {
    return null;
  }
}

function insertAtHeadStart(html: string, tags: string): string {
  const head = /<head\b[^>]*>/i.exec(html);
  if (head) return html.slice(0, head.index + head[0].length) + tags + html.slice(head.index + head[0].length);
  const root = /<html\b[^>]*>/i.exec(html);
  if (root) return html.slice(0, root.index + root[0].length) + tags + html.slice(root.index + root[0].length);
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html);
  if (doctype) return doctype[0] + tags + html.slice(doctype[0].length);
  return tags + html;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
