/**
 * Entry of the queue worker process: `node dist/server/src/worker.js`.
 *
 * Processes every queue with QUEUE_CONCURRENCY. Redis connections: 3 per queue (see
 * jobs/job.definitions.ts). On SIGTERM/SIGINT it stops taking jobs, waits up to
 * SHUTDOWN_TIMEOUT_MS for the active ones, closes its connections and exits 0; jobs cut off by the
 * timeout are re-queued by the stall check of the next worker. If a queue's Redis client gives up
 * for good it exits 1 so the container restarts. A bad environment: message on stderr, exit 1.
 */
import { unlink } from 'node:fs/promises';
import { loadConfigOrExit } from './config/load-or-exit.js';
import { QUEUE_NAMES } from './jobs/job.definitions.js';
import { startQueueWorker } from './jobs/queue.worker.js';
import { installFatalHandlers, onTerminationSignal } from './lifecycle/process-guards.js';
import { createLogger } from './observability/logger.js';

const config = loadConfigOrExit('carebox-worker');
const logger = createLogger({ level: config.LOG_LEVEL, role: 'worker' });
installFatalHandlers(logger);

let stopping = false;
const stop = async (reason: string, exitCode: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  logger.info({ reason, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutting down: waiting for active jobs');
  const clean = await worker.close(config.SHUTDOWN_TIMEOUT_MS);
  await unlink(config.WORKER_HEARTBEAT_FILE).catch(() => undefined);
  logger.info({ clean }, clean ? 'worker stopped' : 'worker stopped; unfinished jobs will be re-queued as stalled');
  process.exit(exitCode);
};

const worker = startQueueWorker(config, {
  logger,
  onBroken: () => void stop('queue Redis connection broken', 1),
});
logger.info(
  { queues: QUEUE_NAMES, concurrency: config.QUEUE_CONCURRENCY, prefix: config.QUEUE_NAME_PREFIX },
  'queue worker started',
);
onTerminationSignal(logger, (signal) => void stop(signal, 0));
