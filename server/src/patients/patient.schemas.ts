/**
 * Request and response schemas of the patients API.
 */
import { z } from 'zod';
import { singleLineText } from '../http/text-input.js';
import { PATIENT_SEX_VALUES } from '../db/migrations/20261129080000-create-patients.migration.js';
import { paginationQuery, pageSchema } from '../http/pagination.js';
import { emailSchema } from '../users/user.schemas.js';

export { PATIENT_SEX_VALUES };
export type PatientSex = (typeof PATIENT_SEX_VALUES)[number];

/** Medical record number: letters, digits and dashes, 1-32, stored upper-case. */
export const mrnSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/, { error: 'must be 1-32 letters, digits or "-", starting with a letter or digit' })
  .transform((v) => v.toUpperCase());

const name = singleLineText(1, 100);

/** A calendar day `YYYY-MM-DD` between 1880-01-01 and today. */
export const birthDateSchema = z.iso
  .date({ error: 'must be a date YYYY-MM-DD' })
  .refine((v) => v >= '1880-01-01' && v <= new Date().toISOString().slice(0, 10), { error: 'must be between 1880-01-01 and today' });

const sex = z.enum(PATIENT_SEX_VALUES, { error: `must be one of ${PATIENT_SEX_VALUES.join(', ')}` });
const phone = z
  .string({ error: 'must be a string' })
  .trim()
  .regex(/^[0-9+()\-. ]{3,40}$/, { error: 'must be 3-40 digits, spaces or + ( ) - .' });
const address = z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' }).max(500, { error: 'must be at most 500 characters' });

export const patientIdParams = z.object({ id: z.uuid({ error: 'must be a UUID' }) });

export const createPatientBody = z
  .strictObject({
    mrn: mrnSchema,
    givenName: name,
    familyName: name,
    birthDate: birthDateSchema,
    sex,
    phone: phone.nullable().optional(),
    email: emailSchema.nullable().optional(),
    address: address.nullable().optional(),
  })
  .meta({ id: 'CreatePatient' });
export type CreatePatientInput = z.output<typeof createPatientBody>;

export const updatePatientBody = z
  .strictObject({
    mrn: mrnSchema.optional(),
    givenName: name.optional(),
    familyName: name.optional(),
    birthDate: birthDateSchema.optional(),
    sex: sex.optional(),
    phone: phone.nullable().optional(),
    email: emailSchema.nullable().optional(),
    address: address.nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { error: 'at least one field is required' })
  .meta({ id: 'UpdatePatient' });
export type UpdatePatientInput = z.output<typeof updatePatientBody>;

export const searchPatientsQuery = z.object({
  q: z
    .string({ error: 'must be a single search string' })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(100, { error: 'must be at most 100 characters' })
    .optional()
    .meta({
      description:
        'An MRN (exact), or a name: one word matches the start of the family or given name; two words match given + family name in either order. Case- and accent-insensitive in any Unicode form ("ilke" finds İlke, "umit" or a decomposed "Ü" finds Ümit). Omit to list all patients in name order.',
    }),
  ...paginationQuery,
});

export const patientSchema = z
  .object({
    id: z.uuid(),
    mrn: z.string(),
    givenName: z.string(),
    familyName: z.string(),
    birthDate: z.string(),
    sex,
    phone: z.string().nullable(),
    email: z.string().nullable(),
    address: z.string().nullable(),
    isSynthetic: z.boolean().meta({ description: 'True for demo data made by demo-data.js (never a real person).' }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Patient' });
export type Patient = z.output<typeof patientSchema>;

export const patientPageSchema = pageSchema(patientSchema).meta({ id: 'PatientPage' });
