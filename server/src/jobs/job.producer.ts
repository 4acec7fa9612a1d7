/**
 * Enqueues jobs and reads their state, from the web process (or a test). Holds one producer queue
 * per queue name, each one Redis connection.
 */
import type Queue from 'bee-queue';
import type { Logger } from 'pino';
import type { Config } from '../config/env.config.js';
import { withTimeout } from '../util/with-timeout.js';
import { JOB_DEFINITIONS, QUEUE_NAMES, jobEnvelopeSchema, type JobInput, type JobType, type QueueName } from './job.definitions.js';
import { closeQueue, createProducerQueue, type BrokenConnectionHandler } from './queue.factory.js';

/** Per-call overrides of a job type's defaults. */
export interface EnqueueOptions {
  /** Attempt timeout, in ms. */
  timeoutMs?: number;
  /** Retries after the first attempt. */
  retries?: number;
  /** First backoff delay, in ms. */
  backoffDelayMs?: number;
  /** Do not start before this time. */
  notBefore?: Date;
  /**
   * A job id of our own: a job with this id that still exists in Redis is not created again
   * (how the scheduler makes sure several workers schedule each run once).
   */
  jobId?: string;
}

/** Where a job was put. */
export interface EnqueuedJob {
  id: string;
  queue: QueueName;
  type: JobType;
  /** True when `jobId` named a job that already existed (nothing new was queued). */
  duplicate: boolean;
}

/** The state of a job as read back from Redis. Payloads and results are not exposed. */
export interface JobState {
  id: string;
  queue: QueueName;
  type: string;
  /** `queued` covers waiting, delayed and active; `retrying` means an attempt failed and another is due. */
  status: 'queued' | 'retrying' | 'succeeded' | 'failed';
  /** Retries still allowed. */
  retriesLeft: number;
  /** First line of the latest failure, if any. */
  lastError: string | null;
}

/** Counts per state of one queue, for the metrics. */
export interface QueueDepth {
  queue: QueueName;
  waiting: number;
  active: number;
  delayed: number;
  succeeded: number;
  failed: number;
}

/** Redis commands of the producer fail after this long instead of waiting for a reconnect, in ms. */
const PRODUCER_COMMAND_TIMEOUT_MS = 2_000;

/**
 * Validates the payload and saves a job of `type` on `queue` (a producer's or a worker's queue).
 * @throws ZodError for an invalid payload; a Redis error or TimeoutError when Redis is unreachable.
 */
export async function saveJob<T extends JobType>(queue: Queue, type: T, input: JobInput<T>, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
  const definition = JOB_DEFINITIONS[type];
  const payload: unknown = definition.payload.parse(input);
  const job = queue
    .createJob(jobEnvelopeSchema.parse({ type, payload }))
    .timeout(options.timeoutMs ?? definition.timeoutMs)
    .retries(options.retries ?? definition.retry.retries)
    .backoff(definition.retry.backoff.strategy, options.backoffDelayMs ?? definition.retry.backoff.delayMs);
  if (options.jobId !== undefined) job.setId(options.jobId);
  if (options.notBefore !== undefined) job.delayUntil(options.notBefore);
  const saved = await withTimeout(job.save(), PRODUCER_COMMAND_TIMEOUT_MS, `enqueue ${type}`);
  // bee-queue answers a null id when a job with the requested id exists already.
  const id = (saved.id as string | null) ?? options.jobId ?? '';
  return { id: String(id), queue: definition.queue, type, duplicate: saved.id === null };
}

/** Producer side of the job queues. */
export class JobProducer {
  private constructor(private readonly queues: ReadonlyMap<QueueName, Queue>) {}

  /**
   * Opens one producer queue per queue name (connections are made in the background).
   * @param onBroken called if a queue's Redis client gives up for good.
   */
  static create(config: Config, logger: Logger<string>, onBroken: BrokenConnectionHandler): JobProducer {
    const queues = new Map<QueueName, Queue>();
    for (const name of QUEUE_NAMES) queues.set(name, createProducerQueue(config, name, { logger, onBroken }));
    return new JobProducer(queues);
  }

  private queue(name: QueueName): Queue {
    const queue = this.queues.get(name);
    if (queue === undefined) throw new Error(`unknown queue ${name}`);
    return queue;
  }

  /**
   * Validates the payload and enqueues a job with its type's timeout, retries and backoff.
   * @throws ZodError when the payload is invalid (400 in a request path); a Redis error or
   *   TimeoutError when Redis is unreachable (fails within ~2 s, never waits for a reconnect).
   */
  async enqueue<T extends JobType>(type: T, input: JobInput<T>, options: EnqueueOptions = {}): Promise<EnqueuedJob> {
    return saveJob(this.queue(JOB_DEFINITIONS[type].queue), type, input, options);
  }

  /**
   * Reads a job's state.
   * @returns null when no such job exists (or it was removed).
   * @throws a Redis error or TimeoutError when Redis is unreachable.
   */
  async getJob(queueName: QueueName, id: string): Promise<JobState | null> {
    const job = await withTimeout(this.queue(queueName).getJob(id), PRODUCER_COMMAND_TIMEOUT_MS, 'read job');
    if (!job) return null;
    const envelope = jobEnvelopeSchema.safeParse(job.data);
    const options = job.options as { retries?: number; stacktraces?: string[] };
    const status = job.status === 'created' ? 'queued' : job.status;
    const lastTrace = options.stacktraces?.[0];
    return {
      id: job.id,
      queue: queueName,
      type: envelope.success ? envelope.data.type : 'unknown',
      status,
      retriesLeft: options.retries ?? 0,
      lastError: lastTrace === undefined ? null : (lastTrace.split('\n')[0] ?? null),
    };
  }

  /**
   * Job counts per state of every queue.
   * @throws a Redis error or TimeoutError when Redis is unreachable.
   */
  async depths(): Promise<QueueDepth[]> {
    return Promise.all(
      [...this.queues].map(async ([name, queue]) => {
        const h = await withTimeout(queue.checkHealth(), PRODUCER_COMMAND_TIMEOUT_MS, `queue ${name} health`);
        return { queue: name, waiting: h.waiting, active: h.active, delayed: h.delayed, succeeded: h.succeeded, failed: h.failed };
      }),
    );
  }

  /** Closes every producer queue, bounded by `timeoutMs`. Never throws. */
  async close(timeoutMs: number): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => closeQueue(q, timeoutMs)));
  }
}
