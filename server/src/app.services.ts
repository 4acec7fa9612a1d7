/**
 * Builds the services of the web process from its low-level dependencies (pool, Redis, queues).
 * Components get their collaborators through their constructors; nothing reaches for globals.
 */
import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppointmentRepository } from './appointments/appointment.repository.js';
import { AppointmentService } from './appointments/appointment.service.js';
import { AuditBatchWriter } from './audit/audit.batcher.js';
import { AuditRepository } from './audit/audit.repository.js';
import { AuditService } from './audit/audit.service.js';
import { AuthService } from './auth/auth.service.js';
import { RedisLoginThrottle } from './auth/login-throttle.js';
import { SessionStore } from './auth/session.store.js';
import { RecordCache } from './cache/record.cache.js';
import type { Config } from './config/env.config.js';
import { transactionRunner } from './db/transaction.js';
import { ExportRepository } from './exports/export.repository.js';
import { ExportService } from './exports/export.service.js';
import type { JobProducer } from './jobs/job.producer.js';
import { OutboxRepository } from './notifications/outbox.repository.js';
import type { AppMetrics } from './observability/metrics.registry.js';
import { PatientRepository } from './patients/patient.repository.js';
import type { Patient } from './patients/patient.schemas.js';
import { PatientService } from './patients/patient.service.js';
import { ReportService } from './reports/report.service.js';
import { UserRepository } from './users/user.repository.js';
import { UserService } from './users/user.service.js';

/** What the services are built from. */
export interface ServiceDeps {
  config: Config;
  db: Knex;
  redis: Redis;
  logger: Logger<string>;
  metrics: AppMetrics;
  jobs: JobProducer;
}

/** The services of the web process. */
export interface AppServices {
  audit: AuditService;
  sessions: SessionStore;
  auth: AuthService;
  users: UserService;
  patients: PatientService;
  patientCache: RecordCache<Patient>;
  appointments: AppointmentService;
  exports: ExportService;
  reports: ReportService;
}

/** Builds every service. Opens nothing: the pool and clients are the caller's. */
export function createServices(deps: ServiceDeps): AppServices {
  const { config, db, redis, logger } = deps;
  const prefix = config.QUEUE_NAME_PREFIX;
  const auditRepository = new AuditRepository(db);
  const audit = new AuditService(auditRepository, transactionRunner(db, config), logger, new AuditBatchWriter(auditRepository));
  const sessions = new SessionStore(redis, {
    prefix,
    idleTimeoutSeconds: config.SESSION_IDLE_TIMEOUT_SECONDS,
    maxAgeSeconds: config.SESSION_MAX_AGE_SECONDS,
  });
  const userRepository = new UserRepository(db);
  const patientRepository = new PatientRepository(db);
  const outbox = new OutboxRepository(db);
  const patientCache = new RecordCache<Patient>(
    redis,
    { name: 'patient', prefix, ttlSeconds: config.PATIENT_CACHE_TTL_SECONDS },
    deps.metrics.cache,
    logger.child({ component: 'cache' }),
  );
  return {
    audit,
    sessions,
    auth: new AuthService(userRepository, sessions, audit, new RedisLoginThrottle(redis, prefix, config)),
    users: new UserService(userRepository, audit, sessions),
    patients: new PatientService(patientRepository, patientCache, audit),
    patientCache,
    appointments: new AppointmentService(new AppointmentRepository(db), patientRepository, userRepository, outbox, audit),
    exports: new ExportService(new ExportRepository(db), patientRepository, audit, deps.jobs, config.EXPORT_RETENTION_HOURS, logger),
    reports: new ReportService(db, outbox, { timezone: config.HOSPITAL_TIMEZONE, recipients: config.DAILY_REPORT_RECIPIENTS }),
  };
}
