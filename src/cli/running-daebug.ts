/**
 * Finds the daebug that already serves a root, for `--test`. A second daemon on the same root must not
 * start: the two would write over each other's daebug.md, `.daebug/daemon.json` and token, and the one
 * that stops first would tell agents in daebug.md that no daemon runs while the other still does.
 *
 * Asked in order, each by `/-daebug/health` (the root it names must be this folder): an explicit
 * `--port`; the daemon `.daebug/daemon.json` names; the loopback URL in a running registry's title
 * (left by a daemon whose daemon.json is gone); and, only without `--port`, every port derived from
 * the folder's name.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { namesLiveProcess, readDaemonFile, readToolToken } from '../daemon/daemon-file.js';
import { provesToken } from '../daemon/secrets.js';
import { registryUrl } from '../protocol/registry.js';
import { httpGet } from './http-get.js';
import { candidatePorts, portOwner, reachableAddress, sameFolder, servesRoot, type PortOwner } from './port.js';

/** A daebug for the root that can be used, none, or one that is there but cannot be used (why). */
export type RunningDaebug = { kind: 'found'; base: string; port: number; token: string } | { kind: 'none' } | { kind: 'unusable'; reason: string };

const LOOPBACK = '127.0.0.1';
/** The daemon that daemon.json names is expected to answer; a busy one gets longer than a guess does. */
const NAMED_ANSWER_MS = 5_000;
/** A daebug that has just started says ok once its token is written. */
const READY_MS = 5_000;

/** The daebug serving `root`, looked for as the module comment says; `port` is an explicit `--port`. */
export async function runningDaebug(root: string, port: number | null): Promise<RunningDaebug> {
  if (port !== null) {
    const owner = await portOwner(LOOPBACK, port);
    if (await servesRoot(owner, root)) return usable(root, LOOPBACK, port, owner);
  }
  const info = await readDaemonFile(root);
  // A daemon.json copied along with the folder names another root; one whose process is gone is stale.
  if (info && (await sameFolder(info.root, root)) && namesLiveProcess(info)) {
    const owner = await portOwner(info.host, info.port, NAMED_ANSWER_MS);
    if (await servesRoot(owner, root)) return usable(root, info.host, info.port, owner);
    if (owner.kind === 'silent') {
      return { kind: 'unusable', reason: `the daebug that .daebug/daemon.json names (process ${info.pid}, port ${info.port}) did not answer within ${NAMED_ANSWER_MS / 1000} s; try again, or stop it` };
    }
  }
  const hint = loopbackAddress(registryUrl(await readFile(join(root, 'daebug.md'), 'utf8').catch(() => '')));
  if (hint !== null) {
    const owner = await portOwner(hint.host, hint.port);
    if (await servesRoot(owner, root)) return usable(root, hint.host, hint.port, owner);
  }
  if (port === null) {
    // All of them: a daebug may sit behind a port that was taken when it started and is free now.
    const ports = candidatePorts(basename(root));
    const owners = await Promise.all(ports.map((candidate) => portOwner(LOOPBACK, candidate)));
    for (const [index, owner] of owners.entries()) {
      if (await servesRoot(owner, root)) return usable(root, LOOPBACK, ports[index]!, owner);
    }
  }
  return { kind: 'none' };
}

/** GETs `path` on `address:port` for `provesToken`: its status and its body as JSON (null when it is not). */
async function askDaemon(address: string, port: number, path: string): Promise<{ status: number; body: unknown }> {
  const answer = await httpGet(`http://${address}:${port}${path}`, {}, NAMED_ANSWER_MS);
  try {
    return { status: answer.status, body: JSON.parse(answer.text) as unknown };
  } catch {
    return { status: answer.status, body: null };
  }
}

/** Host and port of a loopback URL; null for any other: the registry is a file anyone may edit, so no other host is asked. */
function loopbackAddress(url: string | null): { host: string; port: number } | null {
  if (url === null) return null;
  const { hostname, port } = new URL(url);
  const host = hostname === '[::1]' ? '::1' : hostname;
  return (host === 'localhost' || host === '127.0.0.1' || host === '::1') && port !== '' ? { host, port: Number(port) } : null;
}

/** The daebug on `host:port`, once it has finished starting, with the token it left for local tools. */
async function usable(root: string, host: string, port: number, first: PortOwner): Promise<RunningDaebug> {
  const deadline = Date.now() + READY_MS;
  let owner = first;
  while (owner.kind === 'daebug' && !owner.ready && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 100));
    owner = await portOwner(host, port);
  }
  if (owner.kind !== 'daebug' || !owner.ready) return { kind: 'unusable', reason: `the daebug on port ${port} serves ${root} but was not ready within ${READY_MS / 1000} s` };
  const token = await readToolToken(root);
  if (!token) return { kind: 'unusable', reason: `the daebug on port ${port} serves ${root} but left no token in .daebug/token (an older daebug, or .daebug/ was removed); stop it and try again` };
  const address = reachableAddress(host);
  // Whatever answers health on that port must hold the token before the token is sent to it.
  if (!(await provesToken(token, (path) => askDaemon(address, port, path)))) {
    return { kind: 'unusable', reason: `the process on port ${port} answers for ${root} but cannot prove it holds the token of .daebug/token, so daebug does not join it (it may have taken the port of a daebug that was killed); stop it, or remove .daebug/daemon.json` };
  }
  return { kind: 'found', base: `http://${address === LOOPBACK ? 'localhost' : address}:${port}/`, port, token };
}
