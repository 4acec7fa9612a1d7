/**
 * Entry of the queue worker process: `node dist/server/src/worker.js`.
 *
 * Processes every queue with QUEUE_CONCURRENCY and schedules the periodic jobs (reminder scans,
 * the daily summary, maintenance). Redis connections: 3 per queue (see jobs/job.definitions.ts);
 * PostgreSQL: up to DB_POOL_MAX. With DB_PGBOUNCER=true a transaction is run through the pooler
 * first and a failure stops the process (exit 1) with the reason on stderr. On SIGTERM/SIGINT it
 * stops taking jobs, waits up to SHUTDOWN_TIMEOUT_MS for the active ones, closes its connections
 * and exits 0; jobs cut off by the timeout are re-queued by the stall check of the next worker. If
 * a queue's Redis client gives up for good it exits 1 so the container restarts. A bad
 * environment: message on stderr, exit 1.
 */
import { unlink } from 'node:fs/promises';
import { loadConfigOrExit } from './config/load-or-exit.js';
import { runPgBouncerSelfCheck } from './db/pgbouncer.self-check.js';
import { QUEUE_NAMES } from './jobs/job.definitions.js';
import { startWorkerProcess } from './lifecycle/worker.dependencies.js';
import { installFatalHandlers, onTerminationSignal } from './lifecycle/process-guards.js';
import { createLogger } from './observability/logger.js';

const config = loadConfigOrExit('carebox-worker');
const logger = createLogger({ level: config.LOG_LEVEL, role: 'worker' });
installFatalHandlers(logger);

if (config.DB_PGBOUNCER) {
  try {
    await runPgBouncerSelfCheck(config);
    logger.info('PgBouncer self-check passed');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.fatal({ err }, 'PgBouncer self-check failed');
    process.stderr.write(`carebox-worker: ${message}\n`);
    process.exit(1);
  }
}

let stopping = false;
const stop = async (reason: string, exitCode: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  logger.info({ reason, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down: waiting for active jobs');
  const clean = await running.close(config.SHUTDOWN_TIMEOUT_MS);
  await unlink(config.WORKER_HEARTBEAT_FILE).catch(() => undefined);
  logger.info({ clean }, clean ? 'worker stopped' : 'worker stopped; unfinished jobs will be re-queued as stalled');
  process.exit(exitCode);
};

const running = startWorkerProcess(config, {
  logger,
  onBroken: () => void stop('queue Redis connection broken', 1),
});
logger.info({ queues: QUEUE_NAMES, concurrency: config.QUEUE_CONCURRENCY, prefix: config.QUEUE_NAME_PREFIX }, 'queue worker started');
onTerminationSignal(logger, (signal) => void stop(signal, 0));
