/**
 * The queue worker: runs the job handlers on every queue with QUEUE_CONCURRENCY, re-queues stalled
 * jobs, and writes a heartbeat file while it can reach Redis (the container healthcheck reads it).
 *
 * How jobs never stay orphaned in `active`:
 * - every queue has an `error` listener, so Redis errors never kill the process mid-job;
 * - the worker reports its active jobs every STALL_INTERVAL_MS/2 and runs `checkStalledJobs`
 *   every STALL_INTERVAL_MS: a job whose worker died goes back to `waiting`;
 * - each attempt has a timeout, and failed attempts are retried with backoff;
 * - on SIGTERM the worker stops taking jobs and waits (bounded) for the active ones.
 */
import type Queue from 'bee-queue';
import type { Logger } from 'pino';
import type { Config } from '../config/env.config.js';
import { withTimeout } from '../util/with-timeout.js';
import {
  isJobType,
  JOB_DEFINITIONS,
  jobEnvelopeSchema,
  QUEUE_NAMES,
  STALL_INTERVAL_MS,
  type JobInput,
  type JobType,
  type QueueName,
} from './job.definitions.js';
import type { JobContext, JobHandlers } from './job.handlers.js';
import { saveJob, type EnqueuedJob, type EnqueueOptions } from './job.producer.js';
import { pruneFinishedJobs, type RetentionPolicy } from './job-retention.js';
import { closeQueue, createWorkerQueue, type BrokenConnectionHandler } from './queue.factory.js';
import { HEARTBEAT_INTERVAL_MS, touchHeartbeat } from './worker-heartbeat.js';

/** A running worker. */
export interface RunningWorker {
  /** Saves a job on the worker's own queue for `type` (the scheduler uses it). */
  enqueue<T extends JobType>(type: T, input: JobInput<T>, options?: EnqueueOptions): Promise<EnqueuedJob>;
  /** Removes finished jobs older than the policy from every queue. */
  pruneFinishedJobs(policy: RetentionPolicy, signal?: AbortSignal): Promise<{ succeeded: number; failed: number }>;
  /**
   * Stops taking jobs, waits up to `timeoutMs` for active ones, closes the connections.
   * @returns true when every queue closed cleanly (no job cut off).
   */
  close(timeoutMs: number): Promise<boolean>;
}

/** Options of {@link startQueueWorker}. */
export interface QueueWorkerOptions {
  logger: Logger<string>;
  onBroken: BrokenConnectionHandler;
  /** What each job type does (see job.handlers.ts `createJobHandlers`). */
  handlers: JobHandlers;
}

/**
 * Starts processing every queue. Returns at once; connecting to Redis happens in the background
 * and survives Redis being down (jobs start when it is back).
 */
export function startQueueWorker(config: Config, options: QueueWorkerOptions): RunningWorker {
  const { logger } = options;
  const shutdown = new AbortController();
  const queues = new Map<QueueName, Queue>();

  for (const name of QUEUE_NAMES) {
    const queue = createWorkerQueue(config, name, options);
    queues.set(name, queue);
    const log = logger.child({ component: 'queue', queue: name });
    queue.process(config.QUEUE_CONCURRENCY, jobRunner(name, options.handlers, shutdown.signal, log));
    watchQueue(queue, log);
  }
  const heartbeat = startHeartbeat([...queues.values()], config, logger);

  return {
    enqueue(type, input, enqueueOptions = {}) {
      const queue = queues.get(JOB_DEFINITIONS[type].queue);
      if (queue === undefined) throw new Error(`no queue for ${type}`);
      return saveJob(queue, type, input, enqueueOptions);
    },
    async pruneFinishedJobs(policy, signal) {
      const total = { succeeded: 0, failed: 0 };
      for (const queue of queues.values()) {
        const removed = await pruneFinishedJobs(queue, policy, Date.now(), signal);
        total.succeeded += removed.succeeded;
        total.failed += removed.failed;
      }
      return total;
    },
    async close(timeoutMs: number): Promise<boolean> {
      clearInterval(heartbeat);
      const outcomes = await Promise.all([...queues.values()].map((q) => closeQueue(q, timeoutMs)));
      // Jobs still running after the timeout are cut off: tell their handlers to stop. They stay
      // `active` in Redis and the stall check of the next worker re-queues them.
      shutdown.abort();
      return outcomes.every((o) => o === 'closed');
    },
  };
}

/**
 * The processor of queue `name`: validates the job's envelope and payload (a job it does not
 * understand fails for good, without retries), runs its handler with a signal that aborts on the
 * attempt's timeout or on `shutdown`, and says which of the two cut it off.
 */
function jobRunner(name: QueueName, handlers: JobHandlers, shutdown: AbortSignal, log: Logger<string>): (job: Queue.Job<unknown>) => Promise<unknown> {
  return async (job) => {
    const envelope = jobEnvelopeSchema.safeParse(job.data);
    const type = envelope.success ? envelope.data.type : 'unknown';
    const jobLog = log.child({ jobId: job.id, jobType: type });
    if (!envelope.success || !isJobType(type) || JOB_DEFINITIONS[type].queue !== name) {
      // Retrying cannot fix a job we do not understand: fail it for good.
      (job.options as { retries: number }).retries = 0;
      throw new Error(`unknown job type ${JSON.stringify(type)} on queue ${name}`);
    }
    const parsed = JOB_DEFINITIONS[type].payload.safeParse(envelope.data.payload);
    if (!parsed.success) {
      (job.options as { retries: number }).retries = 0;
      throw new Error(`invalid payload for ${type}: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    }
    const timeoutMs = Number((job.options as { timeout?: number }).timeout) || JOB_DEFINITIONS[type].timeoutMs;
    const attemptTimeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([shutdown, attemptTimeout]);
    const started = Date.now();
    jobLog.debug('job started');
    const handler = handlers[type] as (payload: unknown, context: JobContext) => Promise<unknown>;
    try {
      const result = await handler(parsed.data, { jobId: job.id, logger: jobLog, signal });
      jobLog.info({ durationMs: Date.now() - started }, 'job succeeded');
      return result;
    } catch (err) {
      if (attemptTimeout.aborted) throw new Error(`${type} attempt timed out after ${timeoutMs} ms`, { cause: err });
      if (shutdown.aborted) throw new Error(`${type} attempt cut off by worker shutdown`, { cause: err });
      throw err;
    }
  };
}

/** Log retries, final failures and stalled jobs of a queue, and start its stalled-job check. */
function watchQueue(queue: Queue, log: Logger<string>): void {
  queue.on('retrying', (job, err) => {
    log.warn({ jobId: job.id, err: { message: err.message } }, 'job attempt failed; will retry');
  });
  queue.on('failed', (job, err) => {
    if (job.status === 'failed') log.error({ jobId: job.id, err: { message: err.message } }, 'job failed; no retries left');
  });
  queue.on('stalled', (jobId) => log.warn({ jobId }, 'stalled job re-queued'));
  queue.checkStalledJobs(STALL_INTERVAL_MS).catch((err: unknown) => log.warn({ err }, 'first stalled-job check failed; will retry'));
}

/**
 * Heartbeat: a real Redis round trip per queue, then touch the file, now and every
 * HEARTBEAT_INTERVAL_MS (never two at once). Returns the interval to clear on close.
 */
function startHeartbeat(queues: Queue[], config: Config, logger: Logger<string>): NodeJS.Timeout {
  let heartbeatRunning = false;
  const beat = async (): Promise<void> => {
    if (heartbeatRunning) return;
    heartbeatRunning = true;
    try {
      await Promise.all(queues.map((q) => withTimeout(q.checkHealth(), 2_000, 'queue health')));
      await touchHeartbeat(config.WORKER_HEARTBEAT_FILE);
    } catch (err) {
      logger.debug({ err }, 'heartbeat skipped: Redis not reachable');
    } finally {
      heartbeatRunning = false;
    }
  };
  void beat();
  return setInterval(() => void beat(), HEARTBEAT_INTERVAL_MS);
}
