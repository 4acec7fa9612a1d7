/**
 * Request and response schemas of the appointments API.
 */
import { z } from 'zod';
import { singleLineText } from '../http/text-input.js';
import { APPOINTMENT_STATUS_VALUES } from '../db/migrations/20261129090200-create-appointments.migration.js';
import { paginationQuery, pageSchema } from '../http/pagination.js';

export { APPOINTMENT_STATUS_VALUES };
export type AppointmentStatus = (typeof APPOINTMENT_STATUS_VALUES)[number];

/** Longest appointment, in ms (12 h). */
export const MAX_APPOINTMENT_MS = 12 * 3_600_000;

/** An instant with an explicit offset, `2026-12-01T09:30:00Z` or `…+01:00`, between 2000 and 2100. */
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-12-01T09:30:00Z' }).refine(
  (v) => {
    const t = Date.parse(v);
    return t >= Date.UTC(2000, 0, 1) && t < Date.UTC(2100, 0, 1);
  },
  { error: 'must be between 2000 and 2100' },
);

const department = singleLineText(1, 100);
const notes = z.string({ error: 'must be a string' }).max(2000, { error: 'must be at most 2000 characters' });
const status = z.enum(APPOINTMENT_STATUS_VALUES, { error: `must be one of ${APPOINTMENT_STATUS_VALUES.join(', ')}` });

/** Checks end > start and the length limit on objects with both. */
function checkRange(v: { startsAt?: string | undefined; endsAt?: string | undefined }, ctx: z.RefinementCtx): void {
  if (v.startsAt === undefined || v.endsAt === undefined) return;
  const length = Date.parse(v.endsAt) - Date.parse(v.startsAt);
  if (length <= 0) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' });
  else if (length > MAX_APPOINTMENT_MS) ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be at most 12 hours after startsAt' });
}

export const appointmentIdParams = z.object({ id: z.uuid({ error: 'must be a UUID' }) });

export const createAppointmentBody = z
  .strictObject({
    patientId: z.uuid({ error: 'must be a UUID' }),
    clinicianId: z.uuid({ error: 'must be a UUID' }),
    startsAt: instant,
    endsAt: instant,
    department,
    notes: notes.nullable().optional(),
  })
  .superRefine(checkRange)
  .meta({ id: 'CreateAppointment' });
export type CreateAppointmentInput = z.output<typeof createAppointmentBody>;

export const rescheduleAppointmentBody = z
  .strictObject({
    clinicianId: z.uuid({ error: 'must be a UUID' }).optional(),
    startsAt: instant.optional(),
    endsAt: instant.optional(),
    department: department.optional(),
    notes: notes.nullable().optional(),
  })
  .superRefine((v, ctx) => {
    if (Object.keys(v).length === 0) ctx.addIssue({ code: 'custom', path: [], message: 'at least one field is required' });
    if ((v.startsAt === undefined) !== (v.endsAt === undefined)) {
      ctx.addIssue({ code: 'custom', path: [v.startsAt === undefined ? 'startsAt' : 'endsAt'], message: 'startsAt and endsAt are changed together' });
    }
    checkRange(v, ctx);
  })
  .meta({ id: 'RescheduleAppointment' });
export type RescheduleAppointmentInput = z.output<typeof rescheduleAppointmentBody>;

export const setStatusBody = z
  .strictObject({ status: z.enum(['checked-in', 'completed', 'cancelled', 'no-show'], { error: 'must be one of checked-in, completed, cancelled, no-show' }) })
  .meta({ id: 'SetAppointmentStatus' });

export const listAppointmentsQuery = z
  .object({
    from: instant.optional().meta({ description: 'Appointments starting at or after this instant.' }),
    to: instant.optional().meta({ description: 'Appointments starting before this instant.' }),
    clinicianId: z.uuid({ error: 'must be a UUID' }).optional(),
    patientId: z.uuid({ error: 'must be a UUID' }).optional(),
    status: status.optional(),
    ...paginationQuery,
  })
  .superRefine((v, ctx) => {
    if (v.from !== undefined && v.to !== undefined && Date.parse(v.to) <= Date.parse(v.from)) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    }
  });
export type ListAppointmentsQuery = z.output<typeof listAppointmentsQuery>;

export const appointmentSchema = z
  .object({
    id: z.uuid(),
    patientId: z.uuid(),
    clinicianId: z.uuid(),
    startsAt: z.string(),
    endsAt: z.string(),
    department: z.string(),
    status,
    notes: z.string().nullable(),
    isSynthetic: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Appointment' });
export type Appointment = z.output<typeof appointmentSchema>;

export const appointmentPageSchema = pageSchema(appointmentSchema).meta({ id: 'AppointmentPage' });
