/**
 * Builds the queue worker process: its knex pool, the services its jobs call, the bee-queue worker
 * and the scheduler. Kept apart from worker.ts (the entry) so tests can run a worker in-process.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { AppointmentRepository } from '../appointments/appointment.repository.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { AuditService } from '../audit/audit.service.js';
import type { Config } from '../config/env.config.js';
import { createKnex } from '../db/knex.factory.js';
import { transactionRunner } from '../db/transaction.js';
import { ExportRepository } from '../exports/export.repository.js';
import { ExportBuilder } from '../exports/export.service.js';
import { createJobHandlers } from '../jobs/job.handlers.js';
import { startScheduler, type Scheduler } from '../jobs/job.scheduler.js';
import type { BrokenConnectionHandler } from '../jobs/queue.factory.js';
import { startQueueWorker, type RunningWorker } from '../jobs/queue.worker.js';
import { createMailTransport, type MailTransport } from '../notifications/mail.transport.js';
import { NotificationService } from '../notifications/notification.service.js';
import { OutboxRepository } from '../notifications/outbox.repository.js';
import { PatientRepository } from '../patients/patient.repository.js';
import { ReportService } from '../reports/report.service.js';
import { withTimeout } from '../util/with-timeout.js';

/** Finished outbox rows are deleted after this many days (they hold names and appointment times). */
export const OUTBOX_RETENTION_DAYS = 30;

/** A running worker process's parts. */
export interface WorkerProcess {
  db: Knex;
  worker: RunningWorker;
  scheduler: Scheduler | null;
  mail: MailTransport;
  /** Stops scheduling, waits up to `timeoutMs` for active jobs, closes queues and the pool. */
  close(timeoutMs: number): Promise<boolean>;
}

/** Options of {@link startWorkerProcess}. */
export interface WorkerProcessOptions {
  logger: Logger<string>;
  onBroken: BrokenConnectionHandler;
  /** Replaces the mail transport (tests). */
  mail?: MailTransport;
}

/** Starts the worker's queues and (when SCHEDULER_ENABLED) the scheduler. Returns at once. */
export function startWorkerProcess(config: Config, options: WorkerProcessOptions): WorkerProcess {
  const { logger } = options;
  const db = createKnex(config, { applicationName: 'carebox-worker', logger });
  const outbox = new OutboxRepository(db);
  const exportsRepo = new ExportRepository(db);
  const patients = new PatientRepository(db);
  const audit = new AuditService(new AuditRepository(db), transactionRunner(db, config), logger);
  const mail = options.mail ?? createMailTransport(config);
  const notifications = new NotificationService(
    outbox,
    mail,
    { from: config.MAIL_FROM, timezone: config.HOSPITAL_TIMEZONE, leadHours: config.REMINDER_LEAD_HOURS },
    logger.child({ component: 'notifications' }),
    audit,
    transactionRunner(db, config),
  );
  const reports = new ReportService(db, outbox, { timezone: config.HOSPITAL_TIMEZONE, recipients: config.DAILY_REPORT_RECIPIENTS });
  const exportBuilder = new ExportBuilder(db, exportsRepo, patients, new AppointmentRepository(db), audit);

  // The maintenance handler prunes the worker's own queues; the worker needs the handlers first.
  let worker: RunningWorker | undefined;
  const handlers = createJobHandlers({
    notifications,
    reports,
    exports: exportBuilder,
    maintenance: async (signal) => {
      const jobs = await worker!.pruneFinishedJobs(
        { succeededMaxAgeMs: config.JOB_RETENTION_SUCCEEDED_HOURS * 3_600_000, failedMaxAgeMs: config.JOB_RETENTION_FAILED_HOURS * 3_600_000 },
        signal,
      );
      const exportsDeleted = await exportsRepo.deleteExpired();
      const outboxDeleted = await outbox.pruneFinished(OUTBOX_RETENTION_DAYS);
      return { succeededJobsRemoved: jobs.succeeded, failedJobsRemoved: jobs.failed, exportsDeleted, outboxDeleted };
    },
  });
  worker = startQueueWorker(config, { logger, onBroken: options.onBroken, handlers });
  const running = worker;
  const scheduler = config.SCHEDULER_ENABLED ? startScheduler(config, (type, input, opts) => running.enqueue(type, input, opts), logger) : null;
  logger.info({ mail: mail.description, scheduler: scheduler !== null, timezone: config.HOSPITAL_TIMEZONE }, 'worker services ready');

  return {
    db,
    worker: running,
    scheduler,
    mail,
    async close(timeoutMs: number) {
      scheduler?.stop();
      const clean = await running.close(timeoutMs);
      await withTimeout(db.destroy(), 2_000, 'close database pool').catch((err: unknown) => logger.warn({ err }, 'database pool did not close in time'));
      return clean;
    },
  };
}
