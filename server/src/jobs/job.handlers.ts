/**
 * What the worker does for each job type. Handlers are idempotent: bee-queue delivers at least
 * once (a stalled job runs again), so a handler may see the same job twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { JobPayload, JobType } from './job.definitions.js';

/** What a handler gets besides its payload. */
export interface JobContext {
  jobId: string;
  /** Child logger bound to the job id and type. Never log the payload. */
  logger: Logger<string>;
  /** Aborted when the attempt times out or the worker shuts down; long work should stop then. */
  signal: AbortSignal;
}

/** A handler for job type T; its resolved value is stored as the job's result. */
export type JobHandler<T extends JobType> = (payload: JobPayload<T>, context: JobContext) => Promise<unknown>;

/** One handler per job type; the type system makes a missing handler a compile error. */
export type JobHandlers = { [T in JobType]: JobHandler<T> };

/** `ping`: waits `delayMs` (abortable) and answers with the time it finished. */
async function ping(payload: JobPayload<'ping'>, context: JobContext): Promise<{ pong: true; finishedAt: string }> {
  if (payload.delayMs > 0) await sleep(payload.delayMs, undefined, { signal: context.signal });
  return { pong: true, finishedAt: new Date().toISOString() };
}

/** The handlers the worker process runs. */
export const jobHandlers: JobHandlers = { ping };
