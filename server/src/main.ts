/**
 * Entry of the web server: `node dist/server/src/main.js`.
 *
 * The same file runs as the cluster primary (forks WEB_CONCURRENCY workers, restarts crashed ones,
 * forwards SIGTERM, merges the workers' metrics for /metrics) and as each worker (the Express app).
 * A bad environment stops it before anything starts: the bad variables are printed to stderr and it
 * exits 1. With DB_PGBOUNCER=true the primary first runs one transaction through the pooler; if
 * that fails the reason goes to stderr and it exits 1 before forking.
 */
import cluster from 'node:cluster';
import { describeTargets } from './config/env.config.js';
import { loadConfigOrExit } from './config/load-or-exit.js';
import { runPgBouncerSelfCheck } from './db/pgbouncer.self-check.js';
import { runClusterPrimary } from './lifecycle/cluster.primary.js';
import { runWebProcess } from './lifecycle/web.process.js';
import { createLogger } from './observability/logger.js';

const config = loadConfigOrExit('carebox-server');

if (cluster.isPrimary) {
  const logger = createLogger({ level: config.LOG_LEVEL, role: 'primary' });
  logger.info(
    {
      ...describeTargets(config),
      nodeEnv: config.NODE_ENV,
      webConcurrency: config.WEB_CONCURRENCY,
      pool: { min: config.DB_POOL_MIN, max: config.DB_POOL_MAX, acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS },
      pgbouncer: config.DB_PGBOUNCER,
    },
    'starting carebox server',
  );
  if (config.DB_PGBOUNCER) {
    try {
      await runPgBouncerSelfCheck(config);
      logger.info('PgBouncer self-check passed');
    } catch (err) {
      logger.fatal({ err }, 'PgBouncer self-check failed');
      process.stderr.write(`carebox-server: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  }
  runClusterPrimary(config, logger);
} else {
  runWebProcess(config, createLogger({ level: config.LOG_LEVEL, role: 'web' }));
}
