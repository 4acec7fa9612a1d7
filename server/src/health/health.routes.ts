/**
 * `GET /health` (liveness: the process answers; checks nothing) and `GET /ready` (readiness: 200
 * when `ready` or `degraded`, 503 when `not_ready` or `shutting_down`; see readiness.service.ts).
 * Neither is cached by clients or proxies.
 */
import { Router } from 'express';
import { isServing, type ReadinessService } from './readiness.service.js';

/** Router for the probes. */
export function healthRoutes(readiness: ReadinessService): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    const report = await readiness.check();
    res
      .status(isServing(report) ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(report);
  });
  return router;
}
