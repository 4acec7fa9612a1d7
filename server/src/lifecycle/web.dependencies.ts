/**
 * Builds (and closes) the dependencies of one web process: the knex pool, the ioredis client,
 * the job producer, the metrics registry and the readiness service.
 */
import type { Logger } from 'pino';
import type { AppDeps } from '../app.js';
import { closeRedisClient, createRedisClient } from '../cache/redis.client.js';
import type { Config } from '../config/env.config.js';
import { createKnex } from '../db/knex.factory.js';
import { ReadinessService } from '../health/readiness.service.js';
import { JobProducer } from '../jobs/job.producer.js';
import type { BrokenConnectionHandler } from '../jobs/queue.factory.js';
import { createMetrics } from '../observability/metrics.registry.js';
import { withTimeout } from '../util/with-timeout.js';

/** The app's dependencies plus a way to release them. */
export interface WebDependencies extends AppDeps {
  /**
   * Closes the producer queues, the pool and Redis, each bounded (about 2 s in all). Never throws.
   */
  close(): Promise<void>;
}

/** How long each dependency may take to close, in ms. */
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * Creates the dependencies. Nothing connects synchronously: an unreachable database or Redis
 * shows up in readiness, not as a start-up crash.
 * @param onBroken called if a queue's Redis client gives up for good.
 */
export function createWebDependencies(config: Config, logger: Logger<string>, onBroken: BrokenConnectionHandler): WebDependencies {
  const db = createKnex(config, { applicationName: 'carebox-web', logger });
  const redis = createRedisClient(config.redis, { logger, connectionName: 'carebox-web' });
  const jobs = JobProducer.create(config, logger, onBroken);
  const metrics = createMetrics({ db, poolMax: config.DB_POOL_MAX, queueDepths: () => jobs.depths() });
  const readiness = new ReadinessService({ db, redis });
  return {
    config,
    db,
    redis,
    logger,
    metrics,
    readiness,
    jobs,
    async close() {
      await Promise.all([
        jobs.close(CLOSE_TIMEOUT_MS / 2),
        withTimeout(db.destroy(), CLOSE_TIMEOUT_MS, 'close database pool').catch((err: unknown) => logger.warn({ err }, 'database pool did not close in time')),
        closeRedisClient(redis, CLOSE_TIMEOUT_MS),
      ]);
    },
  };
}
