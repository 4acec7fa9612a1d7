/**
 * `GET /metrics` in the Prometheus text format, for the whole container when it runs several
 * cluster workers (see cluster-metrics.ts). Unauthenticated: nginx keeps it off the public edge and
 * the console scrapes the containers directly. `X-Carebox-Metrics-Scope` says whether the answer
 * covers the container or only the process that answered.
 */
import { Router } from 'express';
import type { MetricsSource } from './cluster-metrics.js';

/** Router for the metrics endpoint. */
export function metricsRoutes(source: MetricsSource): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const payload = await source();
    res.set('Content-Type', payload.contentType).set('Cache-Control', 'no-store').set('X-Carebox-Metrics-Scope', payload.scope).send(payload.body);
  });
  return router;
}
