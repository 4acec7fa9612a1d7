/**
 * Records every response into the request counter and latency histogram, labelled by the route
 * pattern (`/api/v1/patients/:id`, never the concrete path, which would explode the series and
 * could carry identifiers). Requests no route matched are labelled `unmatched`.
 */
import type { Request, RequestHandler } from 'express';
import type { AppMetrics } from './metrics.registry.js';

/** The route pattern that handled `req`, or `unmatched`. */
export function routeLabel(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return 'unmatched';
}

/** Middleware: observe each response once it is finished (or the client went away). */
export function httpMetrics(metrics: AppMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    let recorded = false;
    const record = (finished: boolean): void => {
      if (recorded) return;
      recorded = true;
      // 499 (nginx's "client closed request") when the client left before the response ended.
      // Not `res.writableFinished`: at 'finish' it is still false while the socket has unsent
      // bytes (under load), which counted answered requests as 499.
      const status = finished || res.writableEnded ? String(res.statusCode) : '499';
      const labels = { method: req.method, route: routeLabel(req), status_code: status };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    };
    res.once('finish', () => record(true));
    res.once('close', () => record(false));
    next();
  };
}
