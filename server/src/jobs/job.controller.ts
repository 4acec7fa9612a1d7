/**
 * Routes of the job-status API and of the on-demand jobs (reports, reminder scans), admin only,
 * plus the daily summary for clerks. While Redis is down the job routes answer 503 JOBS_UNAVAILABLE.
 */
import { z } from 'zod';
import type { ApiRouter } from '../http/api-router.js';
import { assertFound, ServiceUnavailableError } from '../http/http-error.js';
import { dailySummarySchema, reportDateParams, requestDailySummaryBody } from '../reports/report.schemas.js';
import type { ReportService } from '../reports/report.service.js';
import { yesterdayIn } from '../reports/report.service.js';
import { QUEUE_NAMES, type JobInput, type JobType, type QueueName } from './job.definitions.js';
import type { EnqueuedJob, JobProducer, JobState, QueueDepth } from './job.producer.js';

const jobParams = z.object({
  queue: z.enum(QUEUE_NAMES, { error: `must be one of ${QUEUE_NAMES.join(', ')}` }),
  id: z.string().regex(/^[A-Za-z0-9:._-]{1,100}$/, { error: 'must be a job id' }),
});

const jobStateSchema = z
  .object({
    id: z.string(),
    queue: z.enum(QUEUE_NAMES),
    type: z.string(),
    status: z.enum(['queued', 'retrying', 'succeeded', 'failed']),
    retriesLeft: z.number().int(),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'JobState' });
const enqueuedSchema = z
  .object({ id: z.string(), queue: z.enum(QUEUE_NAMES), type: z.string(), duplicate: z.boolean(), statusUrl: z.string() })
  .meta({ id: 'EnqueuedJob' });
const depthsSchema = z
  .object({
    queues: z.array(
      z.object({
        queue: z.enum(QUEUE_NAMES),
        waiting: z.number().int(),
        active: z.number().int(),
        delayed: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'QueueDepths' });

/** Runs a queue operation; a Redis failure becomes 503 JOBS_UNAVAILABLE. */
async function viaQueue<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new ServiceUnavailableError('JOBS_UNAVAILABLE', 'the job queue (Redis) is unavailable', { retryAfterSeconds: 5, hint: 'Retry shortly.', cause: err });
  }
}

const statusUrl = (job: EnqueuedJob) => `/api/v1/jobs/${job.queue}/${encodeURIComponent(job.id)}`;

/** Registers the job and report routes. */
export class JobController {
  constructor(
    private readonly jobs: JobProducer,
    private readonly reports: Pick<ReportService, 'get'>,
    private readonly timezone: string,
  ) {}

  private async enqueue<T extends JobType>(type: T, input: JobInput<T>) {
    const job = await viaQueue(() => this.jobs.enqueue(type, input));
    return { status: 202, body: { ...job, statusUrl: statusUrl(job) }, headers: { Location: statusUrl(job) } };
  }

  register(api: ApiRouter): void {
    api.add({
      method: 'get',
      path: '/jobs/:queue/:id',
      operationId: 'getJob',
      summary: 'Read the state of a job',
      description: 'Finished jobs are kept for JOB_RETENTION_SUCCEEDED_HOURS / JOB_RETENTION_FAILED_HOURS, then 404.',
      tag: 'jobs',
      access: { roles: ['admin'] },
      params: jobParams,
      auditDenied: { action: 'job.read', resourceType: 'job' },
      responses: { 200: { description: 'The job.', schema: jobStateSchema }, 404: { description: 'No such job (or pruned).' } },
      handler: async ({ params }) => {
        const state: JobState | null = await viaQueue(() => this.jobs.getJob(params.queue as QueueName, params.id));
        assertFound(state, 'job');
        return { body: state };
      },
    });
    api.add({
      method: 'get',
      path: '/queues',
      operationId: 'getQueueDepths',
      summary: 'Count the jobs of every queue by state',
      tag: 'jobs',
      access: { roles: ['admin'] },
      auditDenied: { action: 'queue.list', resourceType: 'queue' },
      responses: { 200: { description: 'Counts per queue.', schema: depthsSchema } },
      handler: async () => {
        const queues: QueueDepth[] = await viaQueue(() => this.jobs.depths());
        return { body: { queues } };
      },
    });
    api.add({
      method: 'post',
      path: '/reports/daily-summary',
      operationId: 'requestDailySummary',
      summary: 'Compute a daily summary now',
      description: 'Queues the daily-summary job (it also runs every day on its own).',
      tag: 'reports',
      access: { roles: ['admin'] },
      auditDenied: { action: 'report.daily-summary.request', resourceType: 'report' },
      body: requestDailySummaryBody,
      responses: { 202: { description: 'Queued.', schema: enqueuedSchema } },
      handler: async ({ body }) => this.enqueue('daily-summary', { date: body.date ?? yesterdayIn(this.timezone) }),
    });
    api.add({
      method: 'get',
      path: '/reports/daily-summary/:date',
      operationId: 'getDailySummary',
      summary: 'Read the daily summary of a day',
      tag: 'reports',
      access: { roles: ['admin', 'clerk'] },
      params: reportDateParams,
      auditDenied: { action: 'report.daily-summary.read', resourceType: 'report' },
      responses: { 200: { description: 'The summary.', schema: dailySummarySchema }, 404: { description: 'Not computed (yet) for that day.' } },
      handler: async ({ params }) => {
        const summary = await this.reports.get(params.date);
        assertFound(summary, 'daily summary');
        return { body: summary };
      },
    });
    api.add({
      method: 'post',
      path: '/notifications/reminder-scans',
      operationId: 'requestReminderScan',
      summary: 'Look for due reminders and send due mail now',
      description: 'Queues the reminders-scan job (it also runs every REMINDER_SCAN_INTERVAL_SECONDS on its own).',
      tag: 'jobs',
      access: { roles: ['admin'] },
      auditDenied: { action: 'notification.reminder-scan.request', resourceType: 'job' },
      responses: { 202: { description: 'Queued.', schema: enqueuedSchema } },
      handler: async () => this.enqueue('reminders-scan', {}),
    });
  }
}
