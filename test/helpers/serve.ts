// Starts daebug (HTTP server and daemon) on a temp folder, on a free port.
import { request } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve, type Serving } from '../../src/cli/serve.js';
import type { DaemonLogEntry, DaemonTiming } from '../../src/daemon/daemon.js';
import { FAST } from './daemon.js';
import { tempRoot } from './temp.js';

export interface TestServer extends Serving {
  root: string;
  entries: DaemonLogEntry[];
  /** An absolute URL on this server. */
  at(path: string): string;
}

/** Serves a fresh temp folder prepared by `setup`; stopped when the test file ends. */
export async function startTestServer(setup?: (root: string) => void, timing: Partial<DaemonTiming> = {}, options: { allowedOrigins?: string[]; requestTimeoutMs?: number } = {}): Promise<TestServer> {
  let serving: Serving | undefined;
  const root = tempRoot(() => serving?.stop('test finished') ?? Promise.resolve());
  mkdirSync(join(root, 'daebug'));
  setup?.(root);
  const entries: DaemonLogEntry[] = [];
  serving = await serve({ root, port: 0, host: '127.0.0.1', version: '0.0.0-test', timing: { ...FAST, ...timing }, onLog: (entry) => entries.push(entry), allowedOrigins: options.allowedOrigins, requestTimeoutMs: options.requestTimeoutMs });
  return { ...serving, root, entries, at: (path) => new URL(path, serving!.url).href };
}

/** A request with full control over headers (fetch cannot set Host). */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; path?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, method: options.method ?? 'GET', path: options.path ?? target.pathname + target.search, headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
