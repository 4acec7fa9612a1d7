/**
 * GET /health answered before Express. Liveness checks nothing by definition (the process answers),
 * so it needs none of Express's routing, security headers for HTML, body parsing or request log;
 * yet Docker's healthchecks, nginx and monitors call it all day. Answering it in the raw request
 * listener costs a few microseconds instead of Express's ~80 µs per request (`npm run bench`,
 * scenario b). It is still counted in the request metrics under route `/health`, like any request.
 * The Express route stays for in-process tests and for a server built without this listener.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AppMetrics } from '../observability/metrics.registry.js';

const BODY = Buffer.from('{"status":"ok"}');
const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': String(BODY.length),
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/**
 * Wrap an app's request listener so `GET|HEAD /health` is answered directly with `{"status":"ok"}`.
 * @param app the Express app (any request listener) that handles everything else.
 * @param metrics the app's request counter and latency histogram.
 */
export function withLivenessFastPath(app: RequestListener, metrics: Pick<AppMetrics, 'httpRequests' | 'httpDuration'>): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/health' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      app(req, res);
      return;
    }
    const start = process.hrtime.bigint();
    res.writeHead(200, HEADERS);
    res.end(req.method === 'HEAD' ? undefined : BODY);
    const labels = { method: req.method, route: '/health', status_code: '200' };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
  };
}
