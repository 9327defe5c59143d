/**
 * A GET for the commands that must start quickly (`eval`, `realms`, finding a running daebug): plain
 * node:http, since the first `fetch` of a process loads undici, which costs about as much as
 * everything else such a command does.
 */
import { get } from 'node:http';

/** An answer: its status and its body as text. */
export interface GetAnswer {
  status: number;
  text: string;
}

/**
 * GETs `url`; rejects with the socket's error (its `code`, e.g. `ECONNREFUSED`), or with an error named
 * `TimeoutError` when no complete answer came within `timeoutMs`.
 */
export function httpGet(url: string, headers: Record<string, string> = {}, timeoutMs = 5_000): Promise<GetAnswer> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', reject);
    });
    const timer = setTimeout(() => request.destroy(Object.assign(new Error(`no answer from ${url} within ${timeoutMs} ms`), { name: 'TimeoutError' })), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
