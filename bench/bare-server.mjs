// Baseline (a) of `npm run bench`: a bare Node.js `http` server answering every request with the
// JSON body of the Carebox server's `GET /health`, in one process. It measures what this machine
// and the load generator allow, so every other row is read as a share of it.
// Usage: node bench/bare-server.mjs PORT   (prints "listening <port>" on stdout when ready)
import { createServer } from 'node:http';

const body = JSON.stringify({ status: 'ok' });
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
