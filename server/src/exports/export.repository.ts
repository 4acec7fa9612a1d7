/**
 * Data access for `appointment_exports`.
 */
import type { Knex } from 'knex';

/** Export states. */
export type ExportStatus = 'queued' | 'ready' | 'failed';

/** An export row without its CSV. */
export interface ExportRecord {
  id: string;
  patientId: string;
  requestedBy: string;
  status: ExportStatus;
  jobId: string | null;
  rowCount: number | null;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
  expiresAt: string;
}

interface ExportRow {
  id: string;
  patient_id: string;
  requested_by: string;
  status: ExportStatus;
  job_id: string | null;
  row_count: number | null;
  error: string | null;
  created_at: Date;
  completed_at: Date | null;
  expires_at: Date;
}

const COLUMNS = ['id', 'patient_id', 'requested_by', 'status', 'job_id', 'row_count', 'error', 'created_at', 'completed_at', 'expires_at'];

function toRecord(row: ExportRow): ExportRecord {
  return {
    id: row.id,
    patientId: row.patient_id,
    requestedBy: row.requested_by,
    status: row.status,
    jobId: row.job_id,
    rowCount: row.row_count,
    error: row.error,
    createdAt: row.created_at.toISOString(),
    completedAt: row.completed_at === null ? null : row.completed_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
  };
}

/** Data access for exports. */
export class ExportRepository {
  constructor(private readonly db: Knex) {}

  /** Creates a queued export that expires `retentionHours` after it was requested. */
  async insert(patientId: string, requestedBy: string, retentionHours: number, trx: Knex.Transaction): Promise<ExportRecord> {
    const [row] = (await trx('appointment_exports')
      .insert({ patient_id: patientId, requested_by: requestedBy, expires_at: trx.raw('now() + make_interval(hours => ?)', [retentionHours]) })
      .returning(COLUMNS)) as ExportRow[];
    return toRecord(row!);
  }

  async setJobId(id: string, jobId: string): Promise<void> {
    await this.db('appointment_exports').where({ id }).update({ job_id: jobId });
  }

  /** The export (without CSV), or null. */
  async findById(id: string): Promise<ExportRecord | null> {
    const row = (await this.db('appointment_exports').where({ id }).first(COLUMNS)) as ExportRow | undefined;
    return row ? toRecord(row) : null;
  }

  /** The CSV of a ready export, or null. */
  async csv(id: string): Promise<string | null> {
    const row = (await this.db('appointment_exports').where({ id, status: 'ready' }).first('csv')) as { csv: string | null } | undefined;
    return row?.csv ?? null;
  }

  /** Stores the CSV of a queued export (a second run for the same export changes nothing). */
  async markReady(id: string, csv: string, rowCount: number): Promise<boolean> {
    const n = await this.db('appointment_exports')
      .where({ id, status: 'queued' })
      .update({ status: 'ready', csv, row_count: rowCount, completed_at: this.db.fn.now(), error: null });
    return n > 0;
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.db('appointment_exports')
      .where({ id })
      .whereNot({ status: 'ready' })
      .update({ status: 'failed', error: error.slice(0, 300), completed_at: this.db.fn.now() });
  }

  /** Deletes expired exports (their CSV holds patient data). @returns how many. */
  async deleteExpired(): Promise<number> {
    return this.db('appointment_exports').where('expires_at', '<', this.db.fn.now()).delete();
  }
}
