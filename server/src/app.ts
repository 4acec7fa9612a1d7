/**
 * The Express application, separate from `listen()` so tests run it in-process.
 *
 * Middleware order: request log + id → metrics → security headers → drain handling → probes,
 * metrics, OpenAPI → /api/v1 routes → 404 → the one error handler. Bodies are read per route, after
 * authentication, up to the route's limit (http/api-router.ts, http/body-limits.ts).
 *
 * Unauthenticated: /health, /ready, /metrics (nginx keeps it off the public edge),
 * /api/v1/openapi.json and POST /api/v1/auth/login. Everything else needs a session.
 */
import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createServices, type AppServices } from './app.services.js';
import { AppointmentController } from './appointments/appointment.controller.js';
import { AuditController } from './audit/audit.controller.js';
import { AuthController } from './auth/auth.controller.js';
import { authenticate } from './auth/authenticate.middleware.js';
import { loginRateLimit } from './auth/login-rate-limit.middleware.js';
import type { Config } from './config/env.config.js';
import { ExportController } from './exports/export.controller.js';
import { healthRoutes } from './health/health.routes.js';
import type { ReadinessService } from './health/readiness.service.js';
import { ApiRouter, type RegisteredRoute } from './http/api-router.js';
import { maxParseableBodyBytes } from './http/body-limits.js';
import { errorHandler, notFoundHandler } from './http/error-handler.middleware.js';
import { contextOf } from './http/request-context.js';
import { JobController } from './jobs/job.controller.js';
import type { JobProducer } from './jobs/job.producer.js';
import { processMetricsSource, type MetricsSource } from './observability/cluster-metrics.js';
import { httpMetrics } from './observability/http-metrics.middleware.js';
import type { AppMetrics } from './observability/metrics.registry.js';
import { metricsRoutes } from './observability/metrics.routes.js';
import { requestLogger } from './observability/request-logger.middleware.js';
import { generateOpenApiDocument, OPENAPI_PATH, registerOperationalRoutes } from './openapi/openapi.document.js';
import { PatientController } from './patients/patient.controller.js';
import { UserController } from './users/user.controller.js';

/** Version of the API contract in the OpenAPI document (the path carries the major: /api/v1). */
export const API_VERSION = '1.0.0';
/** Mount path of the API. */
export const API_PREFIX = '/api/v1';

/** Everything the app needs, built by the process (see lifecycle/web.dependencies.ts) or a test. */
export interface AppDeps {
  config: Config;
  db: Knex;
  redis: Redis;
  logger: Logger<string>;
  metrics: AppMetrics;
  readiness: ReadinessService;
  jobs: JobProducer;
  /** What /metrics answers; default this process's registry (cluster workers pass the container-wide source). */
  metricsSource?: MetricsSource;
}

/** What the app exposes besides handling requests (tests and tooling). */
export interface AppInfo {
  services: AppServices;
  /** Every /api/v1 route as registered. */
  routes: readonly RegisteredRoute[];
  /** The OpenAPI document. */
  openapi(): Record<string, unknown>;
}

const infos = new WeakMap<Express, AppInfo>();

/** The services, routes and document of an app made by {@link createApp}. */
export function appInfo(app: Express): AppInfo {
  const info = infos.get(app);
  if (info === undefined) throw new Error('not an app made by createApp');
  return info;
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
 * @param services the services to route to (default: built from `deps`).
 * @returns the Express app, ready for `listen()` or supertest.
 */
export function createApp(deps: AppDeps, services: AppServices = createServices(deps)): Express {
  const { config } = deps;
  const app = express();
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('etag', false);

  app.use(requestLogger(deps.logger, { mode: config.REQUEST_LOG, slowMs: config.REQUEST_LOG_SLOW_MS }));
  app.use(httpMetrics(deps.metrics));
  // HSTS is the edge's: nginx sends it once, and only over TLS. Sent from here it went out twice
  // (with another max-age) and on plain HTTP, where browsers must ignore it.
  app.use(helmet({ strictTransportSecurity: false }));
  app.use(closeConnectionsWhileDraining(deps.readiness));

  app.use(healthRoutes(deps.readiness));
  app.use(metricsRoutes(deps.metricsSource ?? processMetricsSource(deps.metrics.registry)));

  const registry = new OpenAPIRegistry();
  registerOperationalRoutes(registry);
  const api = new ApiRouter({
    prefix: API_PREFIX,
    registry,
    authenticate: authenticate(services.sessions),
    maxBodyBytes: maxParseableBodyBytes(config.BODY_LIMIT_BYTES),
    recordDenial: (req, denied) =>
      services.audit.denied(
        contextOf(req),
        { action: denied.action, resourceType: denied.resourceType, resourceId: denied.resourceId, patientId: denied.patientId },
        { code: denied.code },
      ),
  });
  new AuthController(
    services.auth,
    loginRateLimit({
      redis: deps.redis,
      prefix: config.QUEUE_NAME_PREFIX,
      max: config.LOGIN_RATE_LIMIT_MAX,
      windowSeconds: config.LOGIN_RATE_LIMIT_WINDOW_SECONDS,
      logger: deps.logger,
    }),
  ).register(api);
  new UserController(services.users).register(api);
  new PatientController(services.patients).register(api);
  new AppointmentController(services.appointments).register(api);
  new ExportController(services.exports).register(api);
  new AuditController(services.audit).register(api);
  new JobController(deps.jobs, services.reports, config.HOSPITAL_TIMEZONE).register(api);

  let document: Record<string, unknown> | undefined;
  const openapi = (): Record<string, unknown> => (document ??= generateOpenApiDocument(registry, API_VERSION));
  app.get(OPENAPI_PATH, (_req, res) => {
    res.set('Cache-Control', 'no-cache').json(openapi());
  });
  app.use(API_PREFIX, api.router);

  app.use(notFoundHandler);
  app.use(errorHandler({ bodyLimitBytes: config.BODY_LIMIT_BYTES }));
  infos.set(app, { services, routes: api.routes, openapi });
  return app;
}
