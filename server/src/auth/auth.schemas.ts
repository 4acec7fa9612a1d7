/**
 * Request and response schemas of the auth API.
 */
import { z } from 'zod';
import { newPasswordSchema, userSchema } from '../users/user.schemas.js';

export const loginBody = z
  .strictObject({
    username: z.string({ error: 'must be a string' }).min(1, { error: 'is required' }).max(64, { error: 'must be at most 64 characters' }),
    password: z.string({ error: 'must be a string' }).min(1, { error: 'is required' }).max(1024, { error: 'must be at most 1024 characters' }),
  })
  .meta({ id: 'Login' });

export const sessionSchema = z
  .object({
    token: z.string().meta({ description: 'Send as "Authorization: Bearer <token>". Shown only in this response.' }),
    expiresAt: z.string().meta({ description: 'Absolute end of the session (ISO 8601); it also ends after SESSION_IDLE_TIMEOUT_SECONDS unused.' }),
    user: userSchema,
  })
  .meta({ id: 'Session' });

export const changePasswordBody = z
  .strictObject({
    currentPassword: z.string({ error: 'must be a string' }).min(1, { error: 'is required' }).max(1024, { error: 'must be at most 1024 characters' }),
    newPassword: newPasswordSchema,
  })
  .meta({ id: 'ChangePassword' });
