/**
 * Routes of the appointment export API.
 */
import { z } from 'zod';
import type { ApiRouter } from '../http/api-router.js';
import { patientIdParams } from '../patients/patient.schemas.js';
import { exportIdParams, exportSchema } from './export.schemas.js';
import type { ExportService } from './export.service.js';

const EXPORTERS = ['admin', 'clerk'] as const;

/** Registers the export routes. */
export class ExportController {
  constructor(private readonly exports: ExportService) {}

  register(api: ApiRouter): void {
    api.add({
      method: 'post',
      path: '/patients/:id/appointment-exports',
      operationId: 'requestAppointmentExport',
      summary: 'Export the appointments of a patient as CSV',
      description: 'Queues the export (202); poll GET /exports/{id}, then download from its downloadUrl. Audited.',
      tag: 'exports',
      access: { roles: EXPORTERS },
      params: patientIdParams,
      auditDenied: { action: 'patient.export.request', resourceType: 'export', patientId: ({ params }) => params.id },
      responses: { 202: { description: 'Queued.', schema: exportSchema }, 404: { description: 'No such patient.' } },
      handler: async ({ params, ctx }) => {
        const created = await this.exports.request(ctx, params.id);
        return { status: 202, body: created, headers: { Location: `/api/v1/exports/${created.id}` } };
      },
    });
    api.add({
      method: 'get',
      path: '/exports/:id',
      operationId: 'getAppointmentExport',
      summary: 'Read the state of an export',
      description: 'Only the user who requested it, or an admin. Audited (it names the patient), refusals included.',
      tag: 'exports',
      access: { roles: EXPORTERS },
      params: exportIdParams,
      auditDenied: { action: 'patient.export.read', resourceType: 'export', patientId: ({ params }) => this.exports.patientIdOf(params.id) },
      responses: { 200: { description: 'The export.', schema: exportSchema }, 404: { description: 'No such export.' } },
      handler: async ({ params, ctx }) => ({ body: await this.exports.get(ctx, params.id) }),
    });
    api.add({
      method: 'get',
      path: '/exports/:id/csv',
      operationId: 'downloadAppointmentExport',
      summary: 'Download an export',
      description: 'Only the user who requested it, or an admin. Audited.',
      tag: 'exports',
      access: { roles: EXPORTERS },
      params: exportIdParams,
      auditDenied: { action: 'patient.export.download', resourceType: 'export', patientId: ({ params }) => this.exports.patientIdOf(params.id) },
      responses: {
        200: { description: 'The CSV.', schema: z.string(), contentType: 'text/csv' },
        404: { description: 'No such export.' },
        409: { description: 'EXPORT_NOT_READY or EXPORT_FAILED.' },
        410: { description: 'EXPORT_EXPIRED.' },
      },
      handler: async ({ params, ctx, res }) => {
        const { filename, csv } = await this.exports.download(ctx, params.id);
        res
          .status(200)
          .set('Content-Type', 'text/csv; charset=utf-8')
          .set('Content-Disposition', `attachment; filename="${filename}"`)
          .set('Cache-Control', 'no-store')
          .send(csv);
        return undefined;
      },
    });
  }
}
