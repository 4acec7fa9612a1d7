/**
 * Routes of the patients API: thin, they unpack validated input and call {@link PatientService}.
 */
import type { ApiRouter } from '../http/api-router.js';
import { createPatientBody, patientIdParams, patientPageSchema, patientSchema, searchPatientsQuery, updatePatientBody } from './patient.schemas.js';
import type { PatientService } from './patient.service.js';

const READERS = ['admin', 'clinician', 'clerk'] as const;
const WRITERS = ['admin', 'clerk'] as const;

/** Registers the patients routes. */
export class PatientController {
  constructor(private readonly patients: PatientService) {}

  register(api: ApiRouter): void {
    api.add({
      method: 'get',
      path: '/patients',
      operationId: 'searchPatients',
      summary: 'Search patients',
      description: 'By MRN or name (see `q`), or all patients in name order. Audited.',
      tag: 'patients',
      access: { roles: READERS },
      query: searchPatientsQuery,
      auditDenied: { action: 'patient.search', resourceType: 'patient' },
      responses: { 200: { description: 'A page of patients.', schema: patientPageSchema } },
      handler: async ({ query, ctx }) => ({ body: await this.patients.search(ctx, query.q, query.limit, query.cursor) }),
    });
    api.add({
      method: 'post',
      path: '/patients',
      operationId: 'createPatient',
      summary: 'Register a patient',
      tag: 'patients',
      access: { roles: WRITERS },
      body: createPatientBody,
      auditDenied: { action: 'patient.create', resourceType: 'patient' },
      responses: { 201: { description: 'Registered.', schema: patientSchema }, 409: { description: 'MRN_TAKEN.' } },
      handler: async ({ body, ctx }) => ({ status: 201, body: await this.patients.create(ctx, body) }),
    });
    api.add({
      method: 'get',
      path: '/patients/:id',
      operationId: 'getPatient',
      summary: 'Read a patient',
      description: 'Served from the Redis cache when possible (PostgreSQL otherwise). Audited.',
      tag: 'patients',
      access: { roles: READERS },
      params: patientIdParams,
      auditDenied: { action: 'patient.read', resourceType: 'patient', patientId: ({ params }) => params.id },
      responses: { 200: { description: 'The patient.', schema: patientSchema }, 404: { description: 'No such patient.' } },
      handler: async ({ params, ctx }) => ({ body: await this.patients.getJson(ctx, params.id) }),
    });
    api.add({
      method: 'patch',
      path: '/patients/:id',
      operationId: 'updatePatient',
      summary: 'Change a patient',
      tag: 'patients',
      access: { roles: WRITERS },
      params: patientIdParams,
      body: updatePatientBody,
      auditDenied: { action: 'patient.update', resourceType: 'patient', patientId: ({ params }) => params.id },
      responses: {
        200: { description: 'The changed patient.', schema: patientSchema },
        404: { description: 'No such patient.' },
        409: { description: 'MRN_TAKEN.' },
      },
      handler: async ({ params, body, ctx }) => ({ body: await this.patients.update(ctx, params.id, body) }),
    });
  }
}
