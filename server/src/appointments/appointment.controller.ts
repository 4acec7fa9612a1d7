/**
 * Routes of the appointments API: thin, they unpack validated input and call {@link AppointmentService}.
 */
import type { ApiRouter } from '../http/api-router.js';
import {
  appointmentIdParams,
  appointmentPageSchema,
  appointmentSchema,
  createAppointmentBody,
  listAppointmentsQuery,
  rescheduleAppointmentBody,
  setStatusBody,
} from './appointment.schemas.js';
import type { AppointmentService } from './appointment.service.js';

const EVERY_ROLE = ['admin', 'clinician', 'clerk'] as const;
const SCHEDULERS = ['admin', 'clerk'] as const;

/** Registers the appointments routes. */
export class AppointmentController {
  constructor(private readonly appointments: AppointmentService) {}

  register(api: ApiRouter): void {
    api.add({
      method: 'get',
      path: '/appointments',
      operationId: 'listAppointments',
      summary: 'List appointments',
      description: 'By start time, filtered by date range, clinician, patient and status. Audited.',
      tag: 'appointments',
      access: { roles: EVERY_ROLE },
      query: listAppointmentsQuery,
      auditDenied: { action: 'appointment.list', resourceType: 'appointment', patientId: ({ query }) => query.patientId ?? null },
      responses: { 200: { description: 'A page of appointments.', schema: appointmentPageSchema } },
      handler: async ({ query, ctx }) => ({ body: await this.appointments.list(ctx, query) }),
    });
    api.add({
      method: 'post',
      path: '/appointments',
      operationId: 'bookAppointment',
      summary: 'Book an appointment',
      tag: 'appointments',
      access: { roles: SCHEDULERS },
      body: createAppointmentBody,
      auditDenied: { action: 'appointment.create', resourceType: 'appointment' },
      responses: {
        201: { description: 'Booked.', schema: appointmentSchema },
        409: { description: 'SLOT_TAKEN: the clinician has an overlapping appointment.' },
        422: { description: 'PATIENT_NOT_FOUND or CLINICIAN_NOT_FOUND.' },
      },
      handler: async ({ body, ctx }) => ({ status: 201, body: await this.appointments.create(ctx, body) }),
    });
    api.add({
      method: 'get',
      path: '/appointments/:id',
      operationId: 'getAppointment',
      summary: 'Read an appointment',
      tag: 'appointments',
      access: { roles: EVERY_ROLE },
      params: appointmentIdParams,
      auditDenied: { action: 'appointment.read', resourceType: 'appointment', patientId: ({ params }) => this.appointments.patientIdOf(params.id) },
      responses: { 200: { description: 'The appointment.', schema: appointmentSchema }, 404: { description: 'No such appointment.' } },
      handler: async ({ params, ctx }) => ({ body: await this.appointments.get(ctx, params.id) }),
    });
    api.add({
      method: 'patch',
      path: '/appointments/:id',
      operationId: 'rescheduleAppointment',
      summary: 'Reschedule an appointment',
      description: 'Only booked appointments. startsAt and endsAt change together.',
      tag: 'appointments',
      access: { roles: SCHEDULERS },
      params: appointmentIdParams,
      body: rescheduleAppointmentBody,
      auditDenied: { action: 'appointment.update', resourceType: 'appointment', patientId: ({ params }) => this.appointments.patientIdOf(params.id) },
      responses: {
        200: { description: 'The changed appointment.', schema: appointmentSchema },
        404: { description: 'No such appointment.' },
        409: { description: 'SLOT_TAKEN or INVALID_STATE.' },
        422: { description: 'CLINICIAN_NOT_FOUND.' },
      },
      handler: async ({ params, body, ctx }) => ({ body: await this.appointments.reschedule(ctx, params.id, body) }),
    });
    api.add({
      method: 'post',
      path: '/appointments/:id/status',
      operationId: 'setAppointmentStatus',
      summary: 'Set the status of an appointment',
      description:
        'booked → checked-in | cancelled | no-show; checked-in → completed | no-show. Clinicians: check-in, completed and no-show on their own appointments only.',
      tag: 'appointments',
      access: { roles: EVERY_ROLE },
      params: appointmentIdParams,
      body: setStatusBody,
      auditDenied: { action: 'appointment.status', resourceType: 'appointment', patientId: ({ params }) => this.appointments.patientIdOf(params.id) },
      responses: {
        200: { description: 'The appointment with its new status.', schema: appointmentSchema },
        403: { description: 'NOT_YOUR_APPOINTMENT or STATUS_NOT_ALLOWED (clinicians).' },
        404: { description: 'No such appointment.' },
        409: { description: 'INVALID_TRANSITION.' },
      },
      handler: async ({ params, body, ctx }) => ({ body: await this.appointments.setStatus(ctx, params.id, body.status) }),
    });
  }
}
