/**
 * Request and response schemas of the users API (zod; the OpenAPI document is generated from them).
 */
import { z } from 'zod';
import { singleLineText } from '../http/text-input.js';
import { paginationQuery, pageSchema } from '../http/pagination.js';
import { USER_ROLE_VALUES } from './user.types.js';

export const usernameSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9._-]{3,64}$/, { error: 'must be 3-64 letters, digits, ".", "_" or "-"' });
export const emailSchema = z.email({ error: 'must be an e-mail address' }).max(254, { error: 'must be at most 254 characters' });
export const roleSchema = z.enum(USER_ROLE_VALUES, { error: `must be one of ${USER_ROLE_VALUES.join(', ')}` });
const displayName = singleLineText(1, 200);
const department = singleLineText(1, 100, 'must not be empty');

/** Password rules: 12..256 characters. Whether it contains the user name is checked by the service. */
export const newPasswordSchema = z
  .string({ error: 'must be a string' })
  .min(12, { error: 'must be at least 12 characters' })
  .max(256, { error: 'must be at most 256 characters' });

export const userIdParams = z.object({ id: z.uuid({ error: 'must be a UUID' }) });

export const createUserBody = z
  .strictObject({
    username: usernameSchema,
    email: emailSchema.nullable().optional(),
    displayName,
    role: roleSchema,
    department: department.nullable().optional(),
    password: newPasswordSchema.optional().meta({
      description:
        'Initial password. Omit it to have the server generate a one-time password (returned once); the user must change it at first sign-in either way.',
    }),
  })
  .meta({ id: 'CreateUser' });
export type CreateUserInput = z.output<typeof createUserBody>;

export const updateUserBody = z
  .strictObject({
    email: emailSchema.nullable().optional(),
    displayName: displayName.optional(),
    role: roleSchema.optional(),
    department: department.nullable().optional(),
    active: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { error: 'at least one field is required' })
  .meta({ id: 'UpdateUser' });
export type UpdateUserInput = z.output<typeof updateUserBody>;

export const listUsersQuery = z.object({
  role: roleSchema.optional(),
  ...paginationQuery,
});

export const userSchema = z
  .object({
    id: z.uuid(),
    username: z.string(),
    email: z.string().nullable(),
    displayName: z.string(),
    role: roleSchema,
    department: z.string().nullable(),
    active: z.boolean(),
    mustChangePassword: z.boolean(),
    lockedUntil: z.string().nullable(),
    lastLoginAt: z.string().nullable(),
    isSynthetic: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'User' });

export const userPageSchema = pageSchema(userSchema).meta({ id: 'UserPage' });

export const createdUserSchema = z
  .object({
    user: userSchema,
    temporaryPassword: z.string().optional().meta({ description: 'The generated one-time password; shown only in this response.' }),
  })
  .meta({ id: 'CreatedUser' });

export const passwordResetSchema = z
  .object({ temporaryPassword: z.string().meta({ description: 'The new one-time password; shown only in this response.' }) })
  .meta({ id: 'PasswordReset' });

export const clinicianSchema = z.object({ id: z.uuid(), displayName: z.string(), department: z.string().nullable() }).meta({ id: 'Clinician' });
export const clinicianPageSchema = pageSchema(clinicianSchema).meta({ id: 'ClinicianPage' });
export const listCliniciansQuery = z.object({ ...paginationQuery });
