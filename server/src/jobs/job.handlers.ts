/**
 * What the worker does for each job type. Handlers are idempotent: bee-queue delivers at least
 * once (a stalled job runs again), so a handler may see the same job twice. Results are small
 * objects of ids and counts (they are stored in Redis): never patient data.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ExportBuilder } from '../exports/export.service.js';
import type { NotificationService } from '../notifications/notification.service.js';
import type { ReportService } from '../reports/report.service.js';
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

/** The services the handlers call. */
export interface JobHandlerDeps {
  notifications: Pick<NotificationService, 'scan' | 'deliverDue'>;
  reports: Pick<ReportService, 'generate'>;
  exports: Pick<ExportBuilder, 'build'>;
  /** Prunes finished jobs, expired exports and old outbox rows; returns counts. */
  maintenance: (signal: AbortSignal) => Promise<Record<string, number>>;
}

/** `ping`: waits `delayMs` (abortable) and answers with the time it finished. */
async function ping(payload: JobPayload<'ping'>, context: JobContext): Promise<{ pong: true; finishedAt: string }> {
  if (payload.delayMs > 0) await sleep(payload.delayMs, undefined, { signal: context.signal });
  return { pong: true, finishedAt: new Date().toISOString() };
}

/** The handlers the worker process runs, over `deps`. */
export function createJobHandlers(deps: JobHandlerDeps): JobHandlers {
  return {
    ping,
    maintenance: async (_payload, { signal }) => deps.maintenance(signal),
    'reminders-scan': async (_payload, { signal }) => deps.notifications.scan(signal),
    'daily-summary': async (payload, { signal }) => {
      const summary = await deps.reports.generate(payload.date);
      // The summary's mail went into the outbox with it; send it now rather than at the next scan.
      const delivery = await deps.notifications.deliverDue(signal, 50);
      return { date: summary.date, total: summary.total, mailSent: delivery.sent };
    },
    'appointments-export': async (payload) => deps.exports.build(payload.exportId),
  };
}
