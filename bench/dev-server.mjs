// A stand-in dev server for the proxy step of bench/run.mjs: a 1 MB script and small modules, on a
// free port it prints. Plain node:http, no work per request, so the figures show daebug's share.
import { createServer } from 'node:http';

const big = Buffer.from(`// ${'x'.repeat(1024 * 1024 - 4)}\n`);
const small = (index) => `export const value${index} = ${index};\n`;

const server = createServer((req, res) => {
  if (req.url === '/big.js') {
    res.writeHead(200, { 'content-type': 'text/javascript', 'content-length': big.length });
    return res.end(big);
  }
  const body = small(Number(/\/small\/(\d+)\.js/.exec(req.url ?? '')?.[1] ?? 0));
  res.writeHead(200, { 'content-type': 'text/javascript', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
