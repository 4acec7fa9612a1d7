/**
 * Schedules the periodic jobs from inside the queue worker (bee-queue has no cron):
 * - `reminders-scan` every REMINDER_SCAN_INTERVAL_SECONDS;
 * - `daily-summary` of yesterday (in HOSPITAL_TIMEZONE), once per day;
 * - `maintenance` every 10 minutes.
 *
 * Each run gets a job id derived from its time slot (`reminders-scan:<slot>`,
 * `daily-summary:<date>`, `maintenance:<slot>`), and bee-queue creates a job only if no job with
 * that id exists. So with several worker replicas each run is still queued once, and a worker that
 * restarts mid-slot does not queue it again. A tick that cannot reach Redis is simply skipped.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/env.config.js';
import { yesterdayIn } from '../reports/report.service.js';
import type { JobInput, JobType } from './job.definitions.js';
import type { EnqueuedJob, EnqueueOptions } from './job.producer.js';

/** Maintenance runs this often, in ms. */
export const MAINTENANCE_INTERVAL_MS = 10 * 60_000;
/** The scheduler looks at the clock this often, in ms. */
export const SCHEDULER_TICK_MS = 30_000;

/** Saves a job (the worker's queues). */
export type Enqueue = <T extends JobType>(type: T, input: JobInput<T>, options: EnqueueOptions) => Promise<EnqueuedJob>;

/** The jobs due at `now`, with their slot ids. Pure. */
export function dueRuns(config: Pick<Config, 'REMINDER_SCAN_INTERVAL_SECONDS' | 'HOSPITAL_TIMEZONE'>, now: number) {
  const scanSlot = Math.floor(now / (config.REMINDER_SCAN_INTERVAL_SECONDS * 1000));
  const date = yesterdayIn(config.HOSPITAL_TIMEZONE, new Date(now));
  return [
    { type: 'reminders-scan' as const, input: {}, jobId: `reminders-scan:${scanSlot}` },
    { type: 'daily-summary' as const, input: { date }, jobId: `daily-summary:${date}` },
    { type: 'maintenance' as const, input: {}, jobId: `maintenance:${Math.floor(now / MAINTENANCE_INTERVAL_MS)}` },
  ];
}

/** A running scheduler. */
export interface Scheduler {
  stop(): void;
  /** Runs one tick now (tests). */
  tick(): Promise<void>;
}

/** Starts ticking (first tick after `firstDelayMs`, default 1 s). */
export function startScheduler(
  config: Pick<Config, 'REMINDER_SCAN_INTERVAL_SECONDS' | 'HOSPITAL_TIMEZONE'>,
  enqueue: Enqueue,
  logger: Logger<string>,
  options: { firstDelayMs?: number; tickMs?: number } = {},
): Scheduler {
  const log = logger.child({ component: 'scheduler' });
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      for (const run of dueRuns(config, Date.now())) {
        try {
          const job = await enqueue(run.type, run.input as never, { jobId: run.jobId });
          if (!job.duplicate) log.info({ jobType: run.type, jobId: job.id }, 'scheduled job queued');
        } catch (err) {
          log.debug({ err, jobType: run.type }, 'could not queue a scheduled job; next tick retries');
        }
      }
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void tick(), options.firstDelayMs ?? 1_000);
  const interval = setInterval(() => void tick(), options.tickMs ?? SCHEDULER_TICK_MS);
  return {
    stop() {
      clearTimeout(first);
      clearInterval(interval);
    },
    tick,
  };
}
