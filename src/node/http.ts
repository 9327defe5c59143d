/**
 * HTTP to the daemon from inside a user's Node process, on sockets that never keep it alive: every
 * request unrefs its socket, so a process whose own work is done exits even while a long-poll waits.
 * `fetch` (undici) would hold the event loop open for as long as the poll runs.
 */
import { Agent, request, type OutgoingHttpHeaders } from 'node:http';

/**
 * Connections kept between requests save a handshake per poll and result. Node unrefs a pooled socket
 * while it is free, and each request below unrefs the one it uses.
 */
const agent = new Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 2 });

/** Where requests go. */
export interface Target {
  hostname: string;
  port: number;
}

/** An answer: its status and its body parsed as JSON (null when it is not JSON). */
export interface Answer {
  status: number;
  body: unknown;
}

/**
 * Sends a request; rejects when the daemon cannot be reached or does not answer within `timeoutMs`
 * of silence on the socket.
 */
export function send(target: Target, method: 'GET' | 'POST', path: string, headers: OutgoingHttpHeaders, body?: unknown, timeoutMs = 10_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ hostname: target.hostname, port: target.port, method, path, agent, headers: { ...headers, ...(text === undefined ? {} : { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(text) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          parsed = null;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('socket', (socket) => socket.unref());
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from the daemon within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(text);
  });
}

/** A request whose head is sent now and whose body is written at the very end. */
export interface LastWords {
  /** Writes the body and ends the request; synchronous enough for an `exit` handler (a connected socket writes at once). */
  say(body: unknown): void;
  /** Drops the request (the daemon no longer knows this realm). */
  drop(): void;
}

/**
 * Opens a POST whose body is sent later, for the exit request: the daemon learns the exit code from
 * the body, and that the process died without one when the connection closes before it.
 */
export function openLastWords(target: Target, path: string, headers: OutgoingHttpHeaders): LastWords {
  const req = request({ hostname: target.hostname, port: target.port, method: 'POST', path, agent: false, headers: { ...headers, 'content-type': 'text/plain;charset=UTF-8', 'transfer-encoding': 'chunked' } });
  req.on('socket', (socket) => socket.unref());
  // The daemon answers only once the body is in, or goes away; either way nothing is left to do.
  req.on('error', () => {});
  req.on('response', (res) => res.resume());
  req.flushHeaders();
  return {
    say: (body) => {
      if (!req.destroyed) req.end(JSON.stringify(body));
    },
    drop: () => req.destroy(),
  };
}
