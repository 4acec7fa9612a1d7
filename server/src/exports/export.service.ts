/**
 * CSV exports of a patient's appointments.
 *
 * The web process records the request (audited, in one transaction with the export row) and
 * enqueues an `appointments-export` job; the worker builds the CSV into the row; the requester (or
 * an admin) polls the export and downloads the CSV (audited again) until it expires
 * (EXPORT_RETENTION_HOURS). The job payload is the export id only, never patient data.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { AppointmentRepository } from '../appointments/appointment.repository.js';
import type { AuditService } from '../audit/audit.service.js';
import { assertFound, ConflictError, ForbiddenError, GoneError, ServiceUnavailableError } from '../http/http-error.js';
import type { RequestContext } from '../http/request-context.js';
import type { JobProducer } from '../jobs/job.producer.js';
import type { PatientRepository } from '../patients/patient.repository.js';
import { appointmentsCsv } from './appointments.csv.js';
import type { ExportRecord, ExportRepository } from './export.repository.js';
import type { AppointmentExport } from './export.schemas.js';

/** Most appointments one export holds. */
export const EXPORT_MAX_ROWS = 10_000;

function present(record: ExportRecord): AppointmentExport {
  return {
    id: record.id,
    patientId: record.patientId,
    status: record.status,
    rowCount: record.rowCount,
    error: record.error,
    createdAt: record.createdAt,
    completedAt: record.completedAt,
    expiresAt: record.expiresAt,
    job: { queue: 'exports', id: record.jobId },
    downloadUrl: record.status === 'ready' ? `/api/v1/exports/${record.id}/csv` : null,
  };
}

/** Web side of the exports. */
export class ExportService {
  constructor(
    private readonly exports: ExportRepository,
    private readonly patients: PatientRepository,
    private readonly audit: AuditService,
    private readonly jobs: JobProducer,
    private readonly retentionHours: number,
    private readonly logger: Logger<string>,
  ) {}

  /**
   * Requests an export of a patient's appointments.
   * @throws NotFoundError, ServiceUnavailableError JOBS_UNAVAILABLE (Redis down: nothing is left queued).
   */
  async request(ctx: RequestContext, patientId: string): Promise<AppointmentExport> {
    const record = await this.audit.change(ctx, { action: 'patient.export.request', resourceType: 'export', patientId }, async (trx: Knex.Transaction) => {
      const exists = await this.patients.existsForShare(patientId, trx);
      assertFound(exists ? true : null, 'patient');
      const created = await this.exports.insert(patientId, ctx.actor.userId, this.retentionHours, trx);
      return { result: created, resourceId: created.id };
    });
    try {
      const job = await this.jobs.enqueue('appointments-export', { exportId: record.id });
      await this.exports.setJobId(record.id, job.id);
      return present({ ...record, jobId: job.id });
    } catch (err) {
      await this.exports
        .markFailed(record.id, 'the job queue was unavailable')
        .catch((e: unknown) => this.logger.warn({ err: e }, 'could not mark export failed'));
      throw new ServiceUnavailableError('JOBS_UNAVAILABLE', 'the export could not be queued: the job queue (Redis) is unavailable', {
        retryAfterSeconds: 5,
        hint: 'Retry shortly.',
        cause: err,
      });
    }
  }

  /** The export, if the caller may see it. @throws NotFoundError, ForbiddenError NOT_YOUR_EXPORT */
  private owned(ctx: RequestContext, record: ExportRecord | null): ExportRecord {
    assertFound(record, 'export');
    if (record.requestedBy !== ctx.actor.userId && ctx.actor.role !== 'admin') {
      throw new ForbiddenError('only the user who requested an export (or an admin) may read it', 'NOT_YOUR_EXPORT');
    }
    return record;
  }

  /**
   * The state of an export (audited as `patient.export.read`: it names the patient; a refusal,
   * 403 NOT_YOUR_EXPORT, is recorded as denied with the patient).
   * @throws NotFoundError, ForbiddenError NOT_YOUR_EXPORT
   */
  async get(ctx: RequestContext, id: string): Promise<AppointmentExport> {
    const record = await this.exports.findById(id);
    return this.audit.read(ctx, { action: 'patient.export.read', resourceType: 'export', resourceId: id, patientId: record?.patientId ?? null }, async () => ({
      result: present(this.owned(ctx, record)),
    }));
  }

  /**
   * The CSV of a ready export (audited as a read of the patient's data, refusals included).
   * @throws NotFoundError, ForbiddenError, ConflictError EXPORT_NOT_READY, GoneError EXPORT_EXPIRED
   */
  async download(ctx: RequestContext, id: string): Promise<{ filename: string; csv: string }> {
    const found = await this.exports.findById(id);
    return this.audit.read(
      ctx,
      { action: 'patient.export.download', resourceType: 'export', resourceId: id, patientId: found?.patientId ?? null },
      async () => {
        const record = this.owned(ctx, found);
        if (new Date(record.expiresAt).getTime() <= Date.now()) throw new GoneError('the export has expired; request a new one', 'EXPORT_EXPIRED');
        if (record.status !== 'ready') {
          throw new ConflictError(`the export is ${record.status}`, record.status === 'failed' ? 'EXPORT_FAILED' : 'EXPORT_NOT_READY', {
            hint: record.status === 'failed' ? 'Request a new export.' : 'Poll GET /api/v1/exports/{id} until status is ready.',
          });
        }
        const csv = await this.exports.csv(id);
        assertFound(csv, 'export');
        return { result: { filename: `appointments-${record.patientId}.csv`, csv }, details: { rowCount: record.rowCount } };
      },
    );
  }

  /** The patient an export is about, or null (audit of refused calls). */
  async patientIdOf(id: string): Promise<string | null> {
    return (await this.exports.findById(id))?.patientId ?? null;
  }
}

/** Worker side: builds the CSV of a queued export. */
export class ExportBuilder {
  constructor(
    private readonly db: Knex,
    private readonly exports: ExportRepository,
    private readonly patients: PatientRepository,
    private readonly appointments: AppointmentRepository,
    private readonly audit: AuditService,
  ) {}

  /**
   * Builds the export (idempotent: an export that is no longer queued is left alone).
   * @returns what happened, for the job result.
   */
  async build(exportId: string): Promise<{ exportId: string; status: 'ready' | 'skipped' | 'gone'; rowCount?: number }> {
    const record = await this.exports.findById(exportId);
    if (record === null) return { exportId, status: 'gone' };
    if (record.status !== 'queued') return { exportId, status: 'skipped' };
    const patient = await this.patients.findById(record.patientId);
    if (patient === null) {
      await this.exports.markFailed(exportId, 'the patient no longer exists');
      return { exportId, status: 'gone' };
    }
    const rows = await this.appointments.listForPatient(record.patientId, EXPORT_MAX_ROWS);
    const clinicianIds = [...new Set(rows.map((a) => a.clinicianId))];
    const names = new Map<string, string>(
      ((await this.db('users').whereIn('id', clinicianIds).select('id', 'display_name')) as Array<{ id: string; display_name: string }>).map((u) => [
        u.id,
        u.display_name,
      ]),
    );
    const csv = appointmentsCsv(patient, rows, names);
    const requester = (await this.db('users').where({ id: record.requestedBy }).first('username', 'role')) as { username: string; role: string } | undefined;
    await this.audit.record(
      { userId: record.requestedBy, username: requester?.username ?? '(deleted user)', role: requester?.role ?? null },
      { ip: null, requestId: null },
      [
        {
          action: 'patient.export.generate',
          resourceType: 'export',
          resourceId: exportId,
          patientId: record.patientId,
          outcome: 'success',
          details: { rowCount: rows.length },
        },
      ],
    );
    await this.exports.markReady(exportId, csv, rows.length);
    return { exportId, status: 'ready', rowCount: rows.length };
  }
}
