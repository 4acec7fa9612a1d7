/**
 * Schemas of the appointment export API.
 */
import { z } from 'zod';
import { EXPORT_STATUS_VALUES } from '../db/migrations/20261129090400-create-jobs-tables.migration.js';

export const exportIdParams = z.object({ id: z.uuid({ error: 'must be a UUID' }) });

export const exportSchema = z
  .object({
    id: z.uuid(),
    patientId: z.uuid(),
    status: z.enum(EXPORT_STATUS_VALUES),
    rowCount: z.number().int().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
    expiresAt: z.string(),
    job: z.object({ queue: z.string(), id: z.string().nullable() }),
    downloadUrl: z.string().nullable().meta({ description: 'Where to GET the CSV once status is ready.' }),
  })
  .meta({ id: 'AppointmentExport' });
export type AppointmentExport = z.output<typeof exportSchema>;
