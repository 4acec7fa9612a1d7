/**
 * Use cases of the appointments API. Every read and change is audited with the patient it
 * concerns. Double bookings are refused by the database's exclusion constraint (race-free: two
 * concurrent bookings of one slot cannot both commit) and answered 409 SLOT_TAKEN.
 */
import type { Knex } from 'knex';
import { z } from 'zod';
import type { AuditService, AuditSubject } from '../audit/audit.service.js';
import { assertFound, ConflictError, ForbiddenError, UnprocessableError } from '../http/http-error.js';
import { decodeCursor, toPage, type Page } from '../http/pagination.js';
import type { RequestContext } from '../http/request-context.js';
import type { OutboxRepository } from '../notifications/outbox.repository.js';
import type { PatientRepository } from '../patients/patient.repository.js';
import type { UserRepository } from '../users/user.repository.js';
import { canReschedule, canTransition, CLINICIAN_SETTABLE } from './appointment-status.js';
import type { AppointmentRepository } from './appointment.repository.js';
import type { Appointment, AppointmentStatus, CreateAppointmentInput, ListAppointmentsQuery, RescheduleAppointmentInput } from './appointment.schemas.js';

const APPOINTMENTS_CURSOR = [z.iso.datetime({ offset: true }), z.uuid()] as const;

/**
 * Translates the exclusion violation of a double booking into 409 SLOT_TAKEN, and a foreign-key
 * violation (the patient or clinician deleted after the booking checked them) into 422.
 */
function translateSlotConflict(err: unknown): never {
  const e = err as { code?: unknown; constraint?: unknown };
  if (e.code === '23503' && e.constraint === 'appointments_patient_id_foreign') {
    throw new UnprocessableError('patientId names no patient', 'PATIENT_NOT_FOUND', { cause: err });
  }
  if (e.code === '23503' && e.constraint === 'appointments_clinician_id_foreign') {
    throw new UnprocessableError('clinicianId is not an active clinician', 'CLINICIAN_NOT_FOUND', { cause: err });
  }
  if (e.code === '23P01' && e.constraint === 'appointments_no_double_booking') {
    throw new ConflictError('the clinician already has an appointment that overlaps this time', 'SLOT_TAKEN', {
      hint: 'Choose another time or clinician (GET /api/v1/appointments?clinicianId=…&from=…&to=… shows the booked slots).',
      cause: err,
    });
  }
  throw err;
}

/** Use cases of the appointments API. */
export class AppointmentService {
  constructor(
    private readonly appointments: AppointmentRepository,
    private readonly patients: PatientRepository,
    private readonly users: UserRepository,
    private readonly outbox: OutboxRepository,
    private readonly audit: AuditService,
  ) {}

  /** @throws UnprocessableError CLINICIAN_NOT_FOUND unless `id` is an active clinician. */
  private async assertClinician(id: string, trx: Knex.Transaction): Promise<void> {
    const clinician = await this.users.findById(id, trx);
    if (clinician === null || clinician.role !== 'clinician' || !clinician.active) {
      throw new UnprocessableError('clinicianId is not an active clinician', 'CLINICIAN_NOT_FOUND');
    }
  }

  /**
   * Books an appointment.
   * @throws UnprocessableError PATIENT_NOT_FOUND / CLINICIAN_NOT_FOUND, ConflictError SLOT_TAKEN.
   */
  async create(ctx: RequestContext, input: CreateAppointmentInput): Promise<Appointment> {
    return this.audit.change(ctx, { action: 'appointment.create', resourceType: 'appointment', patientId: input.patientId }, async (trx) => {
      // Both checks in one round trip; the insert's foreign keys hold the rows until commit.
      const parties = await this.appointments.bookingParties(input.patientId, input.clinicianId, trx);
      if (!parties.patient) throw new UnprocessableError('patientId names no patient', 'PATIENT_NOT_FOUND');
      if (!parties.clinician) throw new UnprocessableError('clinicianId is not an active clinician', 'CLINICIAN_NOT_FOUND');
      const appointment = await this.appointments
        .insert(
          {
            patientId: input.patientId,
            clinicianId: input.clinicianId,
            startsAt: new Date(input.startsAt),
            endsAt: new Date(input.endsAt),
            department: input.department,
            notes: input.notes ?? null,
            createdBy: ctx.actor.userId,
          },
          trx,
        )
        .catch(translateSlotConflict);
      return { result: appointment, resourceId: appointment.id };
    });
  }

  /** The patient of an appointment, or null (audit of refused calls). */
  async patientIdOf(id: string): Promise<string | null> {
    return (await this.appointments.findById(id))?.patientId ?? null;
  }

  /** Reads one appointment. @throws NotFoundError */
  async get(ctx: RequestContext, id: string): Promise<Appointment> {
    const subject: AuditSubject = { action: 'appointment.read', resourceType: 'appointment', resourceId: id };
    return this.audit.read(ctx, subject, async () => {
      const appointment = await this.appointments.findById(id);
      assertFound(appointment, 'appointment');
      subject.patientId = appointment.patientId;
      return { result: appointment, patientId: appointment.patientId };
    });
  }

  /**
   * Lists appointments by start time, filtered. Audited as one `appointment.list` event plus one
   * `appointment.list.result` event per appointment returned (with its patient).
   * @throws BadRequestError INVALID_CURSOR
   */
  async list(ctx: RequestContext, query: ListAppointmentsQuery): Promise<Page<Appointment>> {
    const after = decodeCursor('appointments', query.cursor, APPOINTMENTS_CURSOR);
    const subject = { action: 'appointment.list', resourceType: 'appointment', patientId: query.patientId ?? null };
    return this.audit.read(ctx, subject, async () => {
      const rows = await this.appointments.list(
        {
          ...(query.from === undefined ? {} : { from: new Date(query.from) }),
          ...(query.to === undefined ? {} : { to: new Date(query.to) }),
          ...(query.clinicianId === undefined ? {} : { clinicianId: query.clinicianId }),
          ...(query.patientId === undefined ? {} : { patientId: query.patientId }),
          ...(query.status === undefined ? {} : { status: query.status }),
          ...(after ? { after } : {}),
        },
        query.limit + 1,
      );
      const page = toPage(rows, query.limit, 'appointments', (a) => [a.startsAt, a.id]);
      return {
        result: page,
        details: { resultCount: page.items.length },
        extra: page.items.map((a) => ({
          action: 'appointment.list.result',
          resourceType: 'appointment',
          resourceId: a.id,
          patientId: a.patientId,
          outcome: 'success' as const,
        })),
      };
    });
  }

  /**
   * Moves a booked appointment to another time, clinician or department. A pending reminder for
   * the old time is cancelled (the next scan writes one for the new time).
   * @throws NotFoundError, ConflictError INVALID_STATE / SLOT_TAKEN, UnprocessableError CLINICIAN_NOT_FOUND.
   */
  async reschedule(ctx: RequestContext, id: string, patch: RescheduleAppointmentInput): Promise<Appointment> {
    // The patient is known once the appointment is read; a refusal after that is recorded with it.
    const subject: AuditSubject = { action: 'appointment.update', resourceType: 'appointment', resourceId: id };
    return this.audit.change(ctx, subject, async (trx) => {
      const current = await this.appointments.findById(id, trx, true);
      assertFound(current, 'appointment');
      subject.patientId = current.patientId;
      if (!canReschedule(current.status)) {
        throw new ConflictError(`a ${current.status} appointment cannot be changed`, 'INVALID_STATE');
      }
      if (patch.clinicianId !== undefined && patch.clinicianId !== current.clinicianId) await this.assertClinician(patch.clinicianId, trx);
      const updated = await this.appointments
        .update(
          id,
          {
            ...(patch.clinicianId === undefined ? {} : { clinicianId: patch.clinicianId }),
            ...(patch.startsAt === undefined ? {} : { startsAt: new Date(patch.startsAt) }),
            ...(patch.endsAt === undefined ? {} : { endsAt: new Date(patch.endsAt) }),
            ...(patch.department === undefined ? {} : { department: patch.department }),
            ...(patch.notes === undefined ? {} : { notes: patch.notes }),
          },
          trx,
        )
        .catch(translateSlotConflict);
      assertFound(updated, 'appointment');
      if (updated.startsAt !== current.startsAt) await this.outbox.cancelPendingForAppointment(id, trx);
      return { result: updated, patientId: updated.patientId, details: { fields: Object.keys(patch) } };
    });
  }

  /**
   * Moves an appointment along its life cycle. Setting the status it already has changes nothing.
   * Cancelling cancels a pending reminder.
   * @throws NotFoundError, ForbiddenError NOT_YOUR_APPOINTMENT / STATUS_NOT_ALLOWED (clinicians),
   *   ConflictError INVALID_TRANSITION.
   */
  async setStatus(ctx: RequestContext, id: string, status: AppointmentStatus): Promise<Appointment> {
    const subject: AuditSubject = { action: 'appointment.status', resourceType: 'appointment', resourceId: id };
    return this.audit.change(ctx, subject, async (trx) => {
      const current = await this.appointments.findById(id, trx, true);
      assertFound(current, 'appointment');
      subject.patientId = current.patientId;
      if (ctx.actor.role === 'clinician') {
        if (current.clinicianId !== ctx.actor.userId) {
          throw new ForbiddenError('clinicians may only change their own appointments', 'NOT_YOUR_APPOINTMENT');
        }
        if (!CLINICIAN_SETTABLE.includes(status)) {
          throw new ForbiddenError(`clinicians may set ${CLINICIAN_SETTABLE.join(', ')}`, 'STATUS_NOT_ALLOWED');
        }
      }
      if (current.status === status) return { result: current, patientId: current.patientId, details: { from: status, to: status } };
      if (!canTransition(current.status, status)) {
        throw new ConflictError(`an appointment cannot go from ${current.status} to ${status}`, 'INVALID_TRANSITION');
      }
      const updated = await this.appointments.update(id, { status }, trx);
      assertFound(updated, 'appointment');
      if (status === 'cancelled') await this.outbox.cancelPendingForAppointment(id, trx);
      return { result: updated, patientId: updated.patientId, details: { from: current.status, to: status } };
    });
  }
}
