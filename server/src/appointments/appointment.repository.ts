/**
 * Data access for `appointments`. Lists are ordered by (starts_at, id) and paged by keyset; each
 * filter has an index leading with it and ending in (starts_at, id).
 */
import type { Knex } from 'knex';
import type { Appointment, AppointmentStatus } from './appointment.schemas.js';

interface AppointmentRow {
  id: string;
  patient_id: string;
  clinician_id: string;
  starts_at: Date;
  ends_at: Date;
  department: string;
  status: AppointmentStatus;
  notes: string | null;
  is_synthetic: boolean;
  created_at: Date;
  updated_at: Date;
}

/** Filters of the list (combined with AND); `after` is the keyset position (startsAt ISO, id). */
export interface AppointmentFilter {
  from?: Date;
  to?: Date;
  clinicianId?: string;
  patientId?: string;
  status?: AppointmentStatus;
  after?: readonly [string, string];
}

/** Columns of a new appointment. */
export interface NewAppointment {
  patientId: string;
  clinicianId: string;
  startsAt: Date;
  endsAt: Date;
  department: string;
  notes: string | null;
  createdBy: string;
}

/** Columns a reschedule may change. */
export interface AppointmentPatch {
  clinicianId?: string;
  startsAt?: Date;
  endsAt?: Date;
  department?: string;
  notes?: string | null;
  status?: AppointmentStatus;
}

const COLUMNS = ['id', 'patient_id', 'clinician_id', 'starts_at', 'ends_at', 'department', 'status', 'notes', 'is_synthetic', 'created_at', 'updated_at'];

function toAppointment(row: AppointmentRow): Appointment {
  return {
    id: row.id,
    patientId: row.patient_id,
    clinicianId: row.clinician_id,
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at.toISOString(),
    department: row.department,
    status: row.status,
    notes: row.notes,
    isSynthetic: row.is_synthetic,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Data access for appointments. */
export class AppointmentRepository {
  constructor(private readonly db: Knex) {}

  /** Inserts an appointment. @throws the driver's exclusion violation (23P01) on a double booking. */
  async insert(input: NewAppointment, trx: Knex.Transaction): Promise<Appointment> {
    const [row] = (await trx('appointments')
      .insert({
        patient_id: input.patientId,
        clinician_id: input.clinicianId,
        starts_at: input.startsAt,
        ends_at: input.endsAt,
        department: input.department,
        notes: input.notes,
        created_by: input.createdBy,
      })
      .returning(COLUMNS)) as AppointmentRow[];
    return toAppointment(row!);
  }

  /**
   * Whether a booking's patient exists and its clinician is an active clinician, in one round trip.
   * No lock is taken: the insert's foreign keys lock the patient and the clinician (KEY SHARE)
   * until the transaction ends, and fail it (23503) if either was deleted meanwhile.
   */
  async bookingParties(patientId: string, clinicianId: string, trx: Knex.Transaction): Promise<{ patient: boolean; clinician: boolean }> {
    const { rows } = await trx.raw<{ rows: Array<{ patient: boolean; clinician: boolean }> }>(
      `select exists(select 1 from patients where id = ?) as patient,
              exists(select 1 from users where id = ? and role = 'clinician' and active) as clinician`,
      [patientId, clinicianId],
    );
    return rows[0]!;
  }

  /** The appointment with this id, or null; `forUpdate` locks it until `trx` ends. */
  async findById(id: string, trx?: Knex.Transaction, forUpdate = false): Promise<Appointment | null> {
    const q = (trx ?? this.db)('appointments').where({ id }).first(COLUMNS);
    if (forUpdate) q.forUpdate();
    const row = (await q) as AppointmentRow | undefined;
    return row ? toAppointment(row) : null;
  }

  /** Applies `patch`. @throws the exclusion violation (23P01) when the new slot is taken. */
  async update(id: string, patch: AppointmentPatch, trx: Knex.Transaction): Promise<Appointment | null> {
    const columns: Record<string, unknown> = { updated_at: trx.fn.now() };
    if (patch.clinicianId !== undefined) columns.clinician_id = patch.clinicianId;
    if (patch.startsAt !== undefined) columns.starts_at = patch.startsAt;
    if (patch.endsAt !== undefined) columns.ends_at = patch.endsAt;
    if (patch.department !== undefined) columns.department = patch.department;
    if (patch.notes !== undefined) columns.notes = patch.notes;
    if (patch.status !== undefined) columns.status = patch.status;
    const [row] = (await trx('appointments').where({ id }).update(columns).returning(COLUMNS)) as AppointmentRow[];
    return row ? toAppointment(row) : null;
  }

  /** The query behind {@link list} (exposed so tests can EXPLAIN it). */
  listQuery(filter: AppointmentFilter, limit: number): Knex.QueryBuilder {
    const q = this.db('appointments').select(COLUMNS);
    if (filter.clinicianId !== undefined) q.where('clinician_id', filter.clinicianId);
    if (filter.patientId !== undefined) q.where('patient_id', filter.patientId);
    if (filter.status !== undefined) q.where('status', filter.status);
    if (filter.from !== undefined) q.where('starts_at', '>=', filter.from);
    if (filter.to !== undefined) q.where('starts_at', '<', filter.to);
    if (filter.after !== undefined) q.whereRaw('(starts_at, id) > (?::timestamptz, ?::uuid)', [filter.after[0], filter.after[1]]);
    return q.orderBy([{ column: 'starts_at' }, { column: 'id' }]).limit(limit);
  }

  /** Up to `limit` appointments matching `filter`, by start time. */
  async list(filter: AppointmentFilter, limit: number): Promise<Appointment[]> {
    return ((await this.listQuery(filter, limit)) as AppointmentRow[]).map(toAppointment);
  }

  /** Every appointment of a patient by start time (for the CSV export), at most `limit`. */
  async listForPatient(patientId: string, limit: number, trx?: Knex.Transaction): Promise<Appointment[]> {
    const rows = (await (trx ?? this.db)('appointments')
      .where({ patient_id: patientId })
      .orderBy([{ column: 'starts_at' }, { column: 'id' }])
      .limit(limit)
      .select(COLUMNS)) as AppointmentRow[];
    return rows.map(toAppointment);
  }
}
