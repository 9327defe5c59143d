/**
 * The text of daebug.md, the registry: which realms are connected and where their logs are.
 */
import { isRealmName, markdownUrl, oneLine, printable } from './safe-text.js';

/** What kind of JavaScript context a realm is. */
export type RealmKind = 'page' | 'worker' | 'node';

/** A Node process as the registry lists it. */
export interface NodeProcess {
  pid: number;
  /** The command line, e.g. `node --watch app.js --port 3000`. */
  command: string;
}

/**
 * A realm's state as the registry shows it. `exited`: a Node process that ended; `hung` and
 * `terminated` are workers as their page reports them: not answering its pings, or ended by the app's
 * `terminate()`; `not responding`: its thread has not answered the daemon's pings for 3 s.
 */
export type RealmState = 'idle' | 'executing' | 'not responding' | 'unresponsive' | 'gone' | 'exited' | 'hung' | 'terminated';

/** One realm as listed in the registry. */
export interface RegistryRealm {
  name: string;
  kind: RealmKind;
  url: string;
  state: RealmState;
  /** Jobs waiting behind the running one. */
  queued: number;
  /** When the realm last polled or answered (any monotonic number; larger is more recent). */
  lastActive: number;
  /** A Node process: its pid and command line. */
  process?: NodeProcess;
  /** A worker's page: the worker is listed under it. */
  parent?: string;
  /** daebug's own helper worker, not one of the app's. */
  helper?: boolean;
}

/** The running daemon as the registry shows it. */
export interface RegistryDaemon {
  rootName: string;
  url: string;
  /** `HH:MM:SS` of the start. */
  since: string;
  /** With `--proxy`: the dev server whose pages daebug passes on. */
  proxy?: string;
  /** With the build-tool plugin: the dev server's URL, where the app's pages are opened (daebug's own port serves the files uncompiled). */
  devServer?: string;
  /** What daebug cannot do for the pages, one sentence each. */
  notices?: readonly string[];
}

/** The registry stays under 200 lines; realms beyond this are counted, not listed. */
const MAX_LISTED_REALMS = 150;
/** Notices beyond this are left out (the console has them all). */
const MAX_NOTICES = 10;

/** The line that asks the daemon to stop. */
export const SHUTDOWN_LINE = '%%SHUTDOWN%%';

/** A realm's log file name: lower case, runs outside `[a-z0-9]` become `-`, no `-` at either end. */
export function logFileName(realm: string): string {
  const name = realm.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return name === '' ? 'realm' : name;
}

/** The log's path relative to the root: `daebug/<file-name>.md`. */
export function logPath(realm: string): string {
  return `daebug/${logFileName(realm)}.md`;
}

/** `node pid 4242 \`node app.js\``: the command line cannot hold a backtick or a line break (oneLine). */
function processText(node: NodeProcess): string {
  return `node pid ${node.pid} \`${oneLine(node.command, 200)}\``;
}

function stateText(realm: RegistryRealm): string {
  if (realm.queued > 0) return `${realm.state} (${realm.queued} queued)`;
  return realm.state;
}

/** What a realm is, after its name: a page's URL, a worker's script, or daebug's helper worker. */
/** What the registry says after a realm's link: a page's URL, a Node process, a worker's script. */
export function realmWhere(realm: RegistryRealm): string {
  if (realm.kind === 'page') return markdownUrl(realm.url) || 'page';
  if (realm.process) return processText(realm.process);
  if (realm.kind !== 'worker') return realm.kind;
  if (realm.helper) return "daebug's helper worker, not the app's";
  const script = markdownUrl(realm.url);
  // A worker's script is on its page's origin: the path says which script it is.
  if (script) return `worker ${script.replace(/^https?:\/\/[^/]*/, '')}`;
  return /^[a-z]+:$/.test(realm.url) ? `worker (${realm.url.slice(0, -1)})` : 'worker';
}

/** The realms in the order they are listed: pages most recently active first, each followed by its workers. */
function listingOrder(realms: readonly RegistryRealm[]): { realm: RegistryRealm; nested: boolean }[] {
  const recentFirst = [...realms].sort((a, b) => b.lastActive - a.lastActive || a.name.localeCompare(b.name));
  const names = new Set(realms.map((realm) => realm.name));
  const order: { realm: RegistryRealm; nested: boolean }[] = [];
  for (const realm of recentFirst) {
    if (realm.parent !== undefined && names.has(realm.parent)) continue;
    order.push({ realm, nested: false });
    for (const worker of recentFirst) if (worker.parent === realm.name) order.push({ realm: worker, nested: true });
  }
  return order;
}

/** The running registry: title, realms (pages most recently active first, each with its workers), how to use it. */
export function renderRegistry(daemon: RegistryDaemon, realms: readonly RegistryRealm[]): string {
  const sorted = listingOrder(realms);
  const listed = sorted.slice(0, MAX_LISTED_REALMS);
  const lines = listed.map(({ realm, nested }) => {
    // A realm chose its name and URL: neither may add a line (a `%%SHUTDOWN%%`) or break the link.
    const name = isRealmName(realm.name) ? realm.name : logFileName(realm.name);
    return `${nested ? '  ' : ''}* [${name}](${logPath(realm.name)}) ${realmWhere(realm)} · ${stateText(realm)}`;
  });
  if (sorted.length > listed.length) lines.push(`* ... and ${sorted.length - listed.length} more realms, less recently active`);
  const pagesAt = daemon.devServer === undefined ? daemon.url : oneLine(daemon.devServer, 200);
  if (lines.length === 0) lines.push(`* none yet: open ${pagesAt} in a browser and its page shows up here`);
  // A dev server's answers chose these texts: each stays one line, so none can be a `%%SHUTDOWN%%` line.
  const proxy =
    daemon.proxy !== undefined ? `> daebug proxies ${oneLine(daemon.proxy, 200)}: open its pages through ${daemon.url} and each becomes a realm.\n`
    : daemon.devServer !== undefined ? `> daebug is in the dev server: open its pages at ${pagesAt} and each becomes a realm.\n`
    : '';
  const notices = (daemon.notices ?? []).slice(0, MAX_NOTICES).map((notice) => `* ⚠️ ${oneLine(notice, 400)}`);
  return (
    `# 👾 daebug: ${daemon.rootName} on ${daemon.url} since ${daemon.since}\n` +
    `> Realms connected to this daemon. Open a realm's log and append a JS block to run code in it.\n` +
    proxy +
    '\n' +
    lines.join('\n') +
    '\n\n' +
    (notices.length > 0 ? `Notices:\n\n${notices.join('\n')}\n\n` : '') +
    'Each realm has a log, `daebug/<realm>.md` (create it if it is missing). Append a fenced ```js block at\n' +
    'its end: the code runs in that page, worker or Node process like a line typed into its console, and the\n' +
    'value, console output and errors are written under it. Top-level `const`, `let` and `await` work and persist.\n\n' +
    `To stop the daemon write ${SHUTDOWN_LINE} on a line of its own in this file.\n`
  );
}

/**
 * The URL in a running registry's title (`# 👾 daebug: <root> on <url> since <time>`), or null when
 * `text` is a stopped registry or anything else.
 */
export function registryUrl(text: string): string | null {
  const [title = ''] = text.split('\n', 1);
  return /^# 👾 daebug: .* on (https?:\/\/\S+) since \d\d:\d\d:\d\d\r?$/.exec(title)?.[1] ?? null;
}

/** How and when the daemon stopped. */
export interface RegistryStop {
  rootName: string;
  /** `HH:MM:SS` of the stop. */
  at: string;
  /** Why it stopped: `%%SHUTDOWN%%`, `SIGINT`, `SIGTERM`, or a crash's message. */
  reason: string;
  /** The shell command line that started the daemon; without it, `npx daebug` in the root. */
  command?: string;
}

/** The registry of a stopped daemon: when and why, and how to start it again. */
export function renderStoppedRegistry(stop: RegistryStop): string {
  const howToStart = stop.command === undefined ? 'Start it again in this folder with:' : 'Start it again with:';
  return (
    // A crash's message may hold anything, even a `%%SHUTDOWN%%` line that would stop the next start.
    `# 👾 daebug: ${stop.rootName} stopped at ${stop.at} (${oneLine(stop.reason, 200)})\n` +
    `> No daemon is running for this folder, so nothing reads the logs in daebug/ now. They are kept as they are.\n\n` +
    `${howToStart}\n\n` +
    `${shellBlock(stop.command ?? 'npx daebug')}\n\n` +
    'Open pages reconnect by themselves; requests appended meanwhile run when their page is back.\n'
  );
}

/**
 * A command line as a fenced `sh` block that nothing in it can end: it stays one line (control
 * characters are replaced, so no `%%SHUTDOWN%%` line can follow it), and the fence is longer than any
 * run of backticks in it.
 */
function shellBlock(command: string): string {
  const line = printable(command).replace(/\n/g, '\ufffd');
  const longestRun = Math.max(0, ...(line.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}sh\n${line}\n${fence}`;
}

/** True when the registry text holds `%%SHUTDOWN%%` on a line of its own. */
export function hasShutdownRequest(text: string): boolean {
  return /^[ \t]*%%SHUTDOWN%%[ \t]*\r?$/m.test(text);
}
