/**
 * Schemas of the daily appointment summary.
 */
import { z } from 'zod';
import { APPOINTMENT_STATUS_VALUES } from '../appointments/appointment.schemas.js';

const counts = z.object(
  Object.fromEntries(APPOINTMENT_STATUS_VALUES.map((s) => [s, z.number().int()])) as Record<(typeof APPOINTMENT_STATUS_VALUES)[number], z.ZodNumber>,
);

export const reportDateSchema = z.iso.date({ error: 'must be a date YYYY-MM-DD' });
export const reportDateParams = z.object({ date: reportDateSchema });

export const dailySummarySchema = z
  .object({
    date: z.string(),
    timezone: z.string(),
    generatedAt: z.string(),
    total: z.number().int(),
    synthetic: z.number().int().meta({ description: 'How many of the appointments are demo data.' }),
    byStatus: counts,
    byDepartment: z.array(z.object({ department: z.string(), total: z.number().int(), byStatus: counts })),
    byClinician: z.array(z.object({ clinicianId: z.uuid(), displayName: z.string(), total: z.number().int(), byStatus: counts })),
  })
  .meta({ id: 'DailySummary', description: 'Appointments of one day (in HOSPITAL_TIMEZONE), counted; no patient data.' });
export type DailySummary = z.output<typeof dailySummarySchema>;

export const requestDailySummaryBody = z
  .strictObject({ date: reportDateSchema.optional().meta({ description: 'Default: yesterday in HOSPITAL_TIMEZONE.' }) })
  .meta({ id: 'RequestDailySummary' });
