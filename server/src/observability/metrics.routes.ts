/**
 * `GET /metrics` in the Prometheus text format. Keep it off the public edge: nginx should only
 * serve it to the monitoring network.
 */
import { Router } from 'express';
import type { AppMetrics } from './metrics.registry.js';

/** Router for the metrics endpoint. */
export function metricsRoutes(metrics: AppMetrics): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.set('Content-Type', metrics.registry.contentType).set('Cache-Control', 'no-store').send(body);
  });
  return router;
}
