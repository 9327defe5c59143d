// A bare http-proxy-3 proxy for the proxy step of bench/run.mjs: what any proxy in front of the dev
// server costs, measured beside daebug's --proxy. Forwards everything (WebSockets too) to the origin
// it is given, on a free port, which it prints. Its own process, as daebug's is.
import { createServer } from 'node:http';
import { Agent } from 'node:http';
import { createProxyServer } from 'http-proxy-3';

const proxy = createProxyServer({ target: new URL(process.argv[2]), agent: new Agent({ keepAlive: true }), ws: true, xfwd: true });
proxy.on('error', (_error, _req, res) => ('writeHead' in res && !res.headersSent ? res.writeHead(502).end() : res.destroy()));
const server = createServer((req, res) => proxy.web(req, res));
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
