/**
 * Queues and job types: the one place that says which job runs on which queue, what its payload
 * looks like, and how long / how often it may run.
 *
 * ## Redis connections (the installer's planner counts these; keep them in sync)
 * bee-queue is built on node_redis, not ioredis, so every queue instance opens its own sockets:
 * - web process (each cluster worker): 1 ioredis client (sessions, login rate limit, patient cache,
 *   readiness; one connection, pipelined) + 1 per queue
 *   (bee-queue producer: command client only; `isWorker: false`, `getEvents: false`,
 *   `activateDelayedJobs: false`). The cluster primary opens none.
 *   → a backend container holds WEB_CONCURRENCY × (1 + QUEUE_NAMES.length).
 * - queue worker process: 3 per queue: the command client (saves results, stall checks), the
 *   blocking client (`BRPOPLPUSH`), and the subscriber that activates delayed jobs. The last one
 *   is what makes retries with backoff work: a retry with a delay parks the job in the delayed
 *   set, and only a queue with `activateDelayedJobs` moves it back. No ioredis client.
 * - migrate, create-admin and demo-data CLIs and healthcheck: none.
 * {@link redisConnectionsPerProcess} computes these numbers; an integration test counts the real
 * connections with `CLIENT LIST` and checks them.
 */
import { z } from 'zod';

/**
 * Every queue, by name. One queue per kind of work so a slow kind never starves another:
 * `system` (ping, maintenance), `notifications` (reminder scans and mail delivery), `reports`
 * (the daily summary), `exports` (CSV exports). The installer's planner counts 4 queues
 * (installer/plan/budget.check.ts QUEUE_COUNT); change both together.
 */
export const QUEUE_NAMES = ['system', 'notifications', 'reports', 'exports'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** How a failed attempt is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = none). */
  retries: number;
  /** `exponential`: delayMs, then ×2 each retry; `fixed`: delayMs each time. */
  backoff: { strategy: 'exponential' | 'fixed'; delayMs: number };
}

/** Static description of one job type. */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  queue: QueueName;
  /** Validates the payload on enqueue and again in the worker. Payloads never carry patient data. */
  payload: S;
  /** An attempt running longer than this fails (and is retried per `retry`), in ms. */
  timeoutMs: number;
  retry: RetryPolicy;
}

/** `ping`: proves the producer → Redis → worker path; optionally waits `delayMs` (≤ 60 s). */
const pingPayload = z.object({
  /** Milliseconds the job waits before succeeding (simulates work; default 0). */
  delayMs: z.number().int().min(0).max(60_000).default(0),
});

/** `daily-summary`: the day to summarise, in HOSPITAL_TIMEZONE. */
const dailySummaryPayload = z.object({ date: z.iso.date() });
/** `appointments-export`: the export row to fill (never patient data). */
const exportPayload = z.object({ exportId: z.uuid() });

/**
 * Every job type. Handlers are idempotent (bee-queue delivers at least once): the maintenance and
 * the reminder scan only act on what is due, the daily summary replaces its row, an export that is
 * no longer queued is left alone.
 */
export const JOB_DEFINITIONS = {
  ping: {
    queue: 'system',
    payload: pingPayload,
    timeoutMs: 30_000,
    retry: { retries: 3, backoff: { strategy: 'exponential', delayMs: 1_000 } },
  },
  /** Prunes finished jobs from Redis, expired exports and old outbox rows. */
  maintenance: {
    queue: 'system',
    payload: z.object({}),
    timeoutMs: 120_000,
    retry: { retries: 2, backoff: { strategy: 'exponential', delayMs: 10_000 } },
  },
  /** Writes due appointment reminders into the outbox and delivers due mail. */
  'reminders-scan': {
    queue: 'notifications',
    payload: z.object({}),
    timeoutMs: 120_000,
    retry: { retries: 3, backoff: { strategy: 'exponential', delayMs: 5_000 } },
  },
  /** Computes and stores the daily appointment summary (and queues its mail). */
  'daily-summary': {
    queue: 'reports',
    payload: dailySummaryPayload,
    timeoutMs: 60_000,
    retry: { retries: 3, backoff: { strategy: 'exponential', delayMs: 10_000 } },
  },
  /** Builds the CSV of one appointment export. */
  'appointments-export': {
    queue: 'exports',
    payload: exportPayload,
    timeoutMs: 120_000,
    retry: { retries: 3, backoff: { strategy: 'exponential', delayMs: 5_000 } },
  },
} as const satisfies Record<string, JobDefinition>;

export type JobType = keyof typeof JOB_DEFINITIONS;
/** What a caller passes to enqueue a job of type T (defaults not yet applied). */
export type JobInput<T extends JobType> = z.input<(typeof JOB_DEFINITIONS)[T]['payload']>;
/** What the handler of T receives (validated, defaults applied). */
export type JobPayload<T extends JobType> = z.output<(typeof JOB_DEFINITIONS)[T]['payload']>;

/** The data stored in Redis for every job: its type and its validated payload. */
export const jobEnvelopeSchema = z.object({ type: z.string(), payload: z.unknown() });
export type JobEnvelope = z.infer<typeof jobEnvelopeSchema>;

/** A job whose worker stops reporting for this long is stalled and gets re-queued, in ms. */
export const STALL_INTERVAL_MS = 5_000;

/** True when `name` names a queue. */
export function isQueueName(name: string): name is QueueName {
  return (QUEUE_NAMES as readonly string[]).includes(name);
}

/** True when `type` names a known job type. */
export function isJobType(type: string): type is JobType {
  return Object.hasOwn(JOB_DEFINITIONS, type);
}

/**
 * Redis connections one process opens (see the module comment).
 * @param queueCount number of queues (default: all of {@link QUEUE_NAMES}).
 * @returns `{ web, worker }`: connections of one web (cluster worker) process and of one queue
 *   worker process.
 */
export function redisConnectionsPerProcess(queueCount: number = QUEUE_NAMES.length): { web: number; worker: number } {
  return { web: 1 + queueCount, worker: 3 * queueCount };
}
