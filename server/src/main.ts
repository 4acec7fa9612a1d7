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
import { createLogger } from './observability/logger.js';

// Each role loads only its own modules: the primary never builds the app, so it does not load
// Express, knex, zod-to-openapi and the rest (it stayed at ~85 MiB resident with them, next to
// the workers inside the same container memory limit).

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
      const { runPgBouncerSelfCheck } = await import('./db/pgbouncer.self-check.js');
      await runPgBouncerSelfCheck(config);
      logger.info('PgBouncer self-check passed');
    } catch (err) {
      logger.fatal({ err }, 'PgBouncer self-check failed');
      process.stderr.write(`carebox-server: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  }
  const { runClusterPrimary } = await import('./lifecycle/cluster.primary.js');
  runClusterPrimary(config, logger);
} else {
  const { runWebProcess } = await import('./lifecycle/web.process.js');
  runWebProcess(config, createLogger({ level: config.LOG_LEVEL, role: 'web' }));
}
