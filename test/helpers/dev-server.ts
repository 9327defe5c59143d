// A stand-in for a project's own dev server: a plain Node server on a free loopback port that serves
// the HTML it is given, so pages live on another origin than daebug's.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';

/** A running dev server. */
export interface DevServer {
  port: number;
}

/** Serves `page(path)` as HTML for every GET on 127.0.0.1 (a 404 when it gives null); closed after the test file. */
export async function startDevServer(page: (path: string, req: IncomingMessage) => string | null): Promise<DevServer> {
  const server = createServer((req, res) => {
    const html = page(new URL(req.url ?? '/', 'http://dev').pathname, req);
    res.writeHead(html === null ? 404 : 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html ?? 'not found');
  });
  return { port: await listenForTests(server) };
}

/** Listens on a free loopback port, closed (connections too) when the test file ends; resolves with the port. */
export async function listenForTests(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return (server.address() as AddressInfo).port;
}
