/**
 * The Express application, separate from `listen()` so tests run it in-process.
 *
 * Middleware order: request log + id → metrics → security headers → drain handling → JSON body
 * (BODY_LIMIT_BYTES) → routes → 404 → the one error handler.
 */
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config/env.config.js';
import { healthRoutes } from './health/health.routes.js';
import type { ReadinessService } from './health/readiness.service.js';
import { errorHandler, notFoundHandler } from './http/error-handler.middleware.js';
import type { JobProducer } from './jobs/job.producer.js';
import { httpMetrics } from './observability/http-metrics.middleware.js';
import type { AppMetrics } from './observability/metrics.registry.js';
import { metricsRoutes } from './observability/metrics.routes.js';
import { requestLogger } from './observability/request-logger.middleware.js';

/** Everything the app needs, built by the process (see lifecycle/web.dependencies.ts) or a test. */
export interface AppDeps {
  config: Config;
  db: Knex;
  redis: Redis;
  logger: Logger<string>;
  metrics: AppMetrics;
  readiness: ReadinessService;
  /** Job producer (issue 4's routes enqueue through it). */
  jobs: JobProducer;
}

/**
 * While the process drains, answer with `Connection: close` so keep-alive clients (nginx) open
 * their next request elsewhere instead of on a socket that is about to close.
 */
function closeConnectionsWhileDraining(readiness: ReadinessService): RequestHandler {
  return (_req, res, next) => {
    if (readiness.isShuttingDown) res.setHeader('Connection', 'close');
    next();
  };
}

/**
 * Builds the app. Does not listen and does not own the dependencies (the caller closes them).
 * @returns the Express app, ready for `listen()` or supertest.
 */
export function createApp(deps: AppDeps): Express {
  const { config } = deps;
  const app = express();
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('etag', false);

  app.use(requestLogger(deps.logger));
  app.use(httpMetrics(deps.metrics));
  app.use(helmet());
  app.use(closeConnectionsWhileDraining(deps.readiness));
  app.use(express.json({ limit: config.BODY_LIMIT_BYTES }));

  app.use(healthRoutes(deps.readiness));
  app.use(metricsRoutes(deps.metrics));

  app.use(notFoundHandler);
  app.use(errorHandler({ bodyLimitBytes: config.BODY_LIMIT_BYTES }));
  return app;
}
