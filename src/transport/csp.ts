/**
 * A page's Content-Security-Policy with room for daebug's client and nothing more: the injected tags
 * get a nonce of their own, and daebug's own URLs (`<origin>/-daebug/`, where the client, the worker
 * and the test modules load from and the realm API answers) are added to the directives that would
 * refuse them. The client runs agents' requests through a script with that nonce where eval is
 * refused. What no change can allow is named as a problem, for the daemon's output and the registry.
 */

/** What daebug needs a policy to allow. */
export interface ClientSources {
  /** The nonce on the injected tags (base64, no quotes). */
  nonce: string;
  /** The page's origin as the browser sees it (daebug's), e.g. `http://localhost:8751`. */
  origin: string;
}

/** A rewritten policy and what it still keeps from daebug. */
export interface AllowedPolicy {
  policy: string;
  /** One sentence each, e.g. that agents' requests cannot run. */
  problems: string[];
}

type Directive = { name: string; values: string[] };

const SCRIPT_DIRECTIVES = ['script-src-elem', 'script-src'];

/**
 * Rewrites a header value or meta content, which may hold several policies separated by commas; every
 * one of them must allow the client, since the browser enforces each.
 */
export function allowClient(policies: string, sources: ClientSources): AllowedPolicy {
  const problems = new Set<string>();
  const rewritten = policies.split(',').map((policy) => {
    const { text, problems: found } = allowInPolicy(policy, sources);
    for (const problem of found) problems.add(problem);
    return text;
  });
  return { policy: rewritten.join(', '), problems: [...problems] };
}

const META_POLICY = /<meta\b[^>]*\bhttp-equiv\s*=\s*(["']?)content-security-policy\1[^>]*>/gi;
const CONTENT = /\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/i;

/** The page with every `<meta http-equiv="Content-Security-Policy">` rewritten like a header. */
export function allowClientInMeta(html: string, sources: ClientSources): { html: string; problems: string[] } {
  const problems = new Set<string>();
  const rewritten = html.replace(META_POLICY, (tag) => {
    const content = CONTENT.exec(tag);
    if (!content) return tag;
    const allowed = allowClient(decodeEntities(content[1] ?? content[2] ?? content[3] ?? ''), sources);
    for (const problem of allowed.problems) problems.add(problem);
    const attribute = `content="${allowed.policy.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`;
    return tag.slice(0, content.index) + attribute + tag.slice(content.index + content[0].length);
  });
  return { html: rewritten, problems: [...problems] };
}

function decodeEntities(text: string): string {
  return text.replace(/&(quot|apos|#39|#x27|amp);/gi, (entity) => (entity.toLowerCase() === '&amp;' ? '&' : entity.toLowerCase() === '&quot;' ? '"' : "'"));
}

function allowInPolicy(policy: string, sources: ClientSources): { text: string; problems: string[] } {
  const directives: Directive[] = policy
    .split(';')
    .map((part) => part.trim().split(/\s+/).filter(Boolean))
    .filter((tokens) => tokens.length > 0)
    .map(([name, ...values]) => ({ name: name!.toLowerCase(), values }));
  if (directives.length === 0) return { text: policy, problems: [] };
  const find = (name: string) => directives.find((directive) => directive.name === name);
  const ownUrls = ownSource(sources.origin);
  const problems: string[] = [];

  const sandbox = find('sandbox');
  if (sandbox && !sandbox.values.some((value) => value.toLowerCase() === 'allow-scripts')) {
    problems.push('its Content-Security-Policy sandboxes the page without allow-scripts, so no script runs there, daebug\'s neither');
  }

  const fallback = find('default-src');
  let scripts = directives.filter((directive) => SCRIPT_DIRECTIVES.includes(directive.name));
  // A new script-src keeps what default-src allowed scripts; default-src itself also governs styles, images and more.
  if (scripts.length === 0 && fallback) {
    const created = { name: 'script-src', values: [...fallback.values] };
    directives.push(created);
    scripts = [created];
  }
  // Jobs run through a script with daebug's nonce where eval is refused (src/client/compile-job.ts), but no script text passes Trusted Types.
  if (find('require-trusted-types-for')) {
    problems.push("its Content-Security-Policy requires Trusted Types for scripts, so agents' requests to it cannot run (the client still connects)");
  }
  for (const directive of scripts) allowScripts(directive, sources.nonce, ownUrls);

  // Workers fall back to child-src, then to the script directives handled above.
  const workers = find('worker-src') ?? find('child-src');
  if (workers) addSource(workers, ownUrls);

  const connect = find('connect-src') ?? (fallback && { name: 'connect-src', values: [...fallback.values] });
  if (connect && !directives.includes(connect)) directives.push(connect);
  if (connect) addSource(connect, ownUrls);
  // Realms wait for jobs on a WebSocket (realm-socket.ts), which http: sources do not match.
  if (connect && ownUrls !== "'self'") addSource(connect, ownUrls.replace(/^http/, 'ws'));

  const text = directives.map((directive) => [directive.name, ...directive.values].join(' ')).join('; ');
  return { text, problems };
}

/**
 * Lets daebug's tags and modules through one script directive. A directive that allows inline scripts
 * by 'unsafe-inline' alone gets no nonce: any nonce or hash would switch 'unsafe-inline' off for the
 * page's own inline scripts.
 */
function allowScripts(directive: Directive, nonce: string, ownUrls: string): void {
  const inlineAllowed = hasKeyword(directive.values, 'unsafe-inline') && !directive.values.some((value) => /^'(nonce-|sha256-|sha384-|sha512-)/i.test(value) || value.toLowerCase() === "'strict-dynamic'");
  if (!inlineAllowed) addSource(directive, `'nonce-${nonce}'`);
  addSource(directive, ownUrls);
}

function addSource(directive: Directive, source: string): void {
  // 'none' alone matches nothing; beside another source it is ignored, and browsers warn about it.
  directive.values = directive.values.filter((value) => value.toLowerCase() !== "'none'");
  if (!directive.values.includes(source)) directive.values.push(source);
}

function hasKeyword(values: readonly string[], keyword: string): boolean {
  return values.some((value) => value.toLowerCase() === `'${keyword}'`);
}

/**
 * daebug's own URLs as a source expression: a path ending in `/` matches everything under it. An IPv6
 * host has no host-source syntax, so there the page's own origin ('self') is allowed instead.
 */
function ownSource(origin: string): string {
  return origin.includes('[') ? "'self'" : `${origin}/-daebug/`;
}
