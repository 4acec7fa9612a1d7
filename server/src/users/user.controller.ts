/**
 * Routes of the users API: thin, they unpack validated input and call {@link UserService}.
 */
import type { ApiRouter } from '../http/api-router.js';
import {
  clinicianPageSchema,
  createdUserSchema,
  createUserBody,
  listCliniciansQuery,
  listUsersQuery,
  passwordResetSchema,
  updateUserBody,
  userIdParams,
  userPageSchema,
  userSchema,
} from './user.schemas.js';
import type { UserService } from './user.service.js';

/** Registers the users routes. */
export class UserController {
  constructor(private readonly users: UserService) {}

  register(api: ApiRouter): void {
    api.add({
      method: 'post',
      path: '/users',
      operationId: 'createUser',
      summary: 'Create a user',
      description: 'The user must change the password at first sign-in. Without `password` a one-time password is generated and returned once.',
      tag: 'users',
      access: { roles: ['admin'] },
      auditDenied: { action: 'user.create', resourceType: 'user' },
      body: createUserBody,
      responses: {
        201: { description: 'Created.', schema: createdUserSchema },
        409: { description: 'USERNAME_TAKEN or EMAIL_TAKEN.' },
      },
      handler: async ({ body, ctx }) => ({ status: 201, body: await this.users.create(ctx, body) }),
    });
    api.add({
      method: 'get',
      path: '/users',
      operationId: 'listUsers',
      summary: 'List users',
      tag: 'users',
      access: { roles: ['admin'] },
      auditDenied: { action: 'user.list', resourceType: 'user' },
      query: listUsersQuery,
      responses: { 200: { description: 'A page of users in user-name order.', schema: userPageSchema } },
      handler: async ({ query }) => ({
        body: await this.users.list(query.role === undefined ? {} : { role: query.role }, query.limit, query.cursor),
      }),
    });
    api.add({
      method: 'get',
      path: '/users/:id',
      operationId: 'getUser',
      summary: 'Read a user',
      tag: 'users',
      access: { roles: ['admin'] },
      params: userIdParams,
      auditDenied: { action: 'user.read', resourceType: 'user' },
      responses: { 200: { description: 'The user.', schema: userSchema }, 404: { description: 'No such user.' } },
      handler: async ({ params }) => ({ body: await this.users.get(params.id) }),
    });
    api.add({
      method: 'patch',
      path: '/users/:id',
      operationId: 'updateUser',
      summary: 'Change a user',
      description: 'Changing the role or deactivating ends all sessions of the user.',
      tag: 'users',
      access: { roles: ['admin'] },
      params: userIdParams,
      auditDenied: { action: 'user.update', resourceType: 'user' },
      body: updateUserBody,
      responses: {
        200: { description: 'The changed user.', schema: userSchema },
        404: { description: 'No such user.' },
        409: { description: 'LAST_ADMIN or EMAIL_TAKEN.' },
      },
      handler: async ({ params, body, ctx }) => ({ body: await this.users.update(ctx, params.id, body) }),
    });
    api.add({
      method: 'post',
      path: '/users/:id/reset-password',
      operationId: 'resetUserPassword',
      summary: 'Reset a user password',
      description: 'Sets a new one-time password (returned once), unlocks the account and ends its sessions.',
      tag: 'users',
      access: { roles: ['admin'] },
      params: userIdParams,
      auditDenied: { action: 'user.reset-password', resourceType: 'user' },
      responses: { 200: { description: 'The one-time password.', schema: passwordResetSchema }, 404: { description: 'No such user.' } },
      handler: async ({ params, ctx }) => ({ body: await this.users.resetPassword(ctx, params.id) }),
    });
    api.add({
      method: 'get',
      path: '/clinicians',
      operationId: 'listClinicians',
      summary: 'List clinicians',
      description: 'Active clinicians, for booking.',
      tag: 'users',
      access: { roles: ['admin', 'clinician', 'clerk'] },
      auditDenied: { action: 'clinician.list', resourceType: 'user' },
      query: listCliniciansQuery,
      responses: { 200: { description: 'A page of clinicians.', schema: clinicianPageSchema } },
      handler: async ({ query }) => ({ body: await this.users.listClinicians(query.limit, query.cursor) }),
    });
  }
}
