/**
 * Routes of the auth API: sign in, sign out, who am I, change password.
 */
import type { RequestHandler } from 'express';
import type { ApiRouter } from '../http/api-router.js';
import { AUTH_BODY_BYTES } from '../http/body-limits.js';
import { requestOrigin } from '../http/request-context.js';
import { userSchema } from '../users/user.schemas.js';
import { changePasswordBody, loginBody, sessionSchema } from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import { markSyntheticSignIn } from './login-rate-limit.middleware.js';

const EVERY_ROLE = ['admin', 'clinician', 'clerk'] as const;

/** Registers the auth routes. */
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly loginRateLimit: RequestHandler,
  ) {}

  register(api: ApiRouter): void {
    api.add({
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      summary: 'Sign in',
      description:
        'Returns an opaque bearer token. Rate limited per client address, and per user name and client ' +
        'address (429 with Retry-After); repeated wrong passwords for a user name slow further attempts ' +
        'down (up to LOGIN_ACCOUNT_MAX_DELAY_MS), but never lock the account. Unknown user names are ' +
        'answered exactly like wrong passwords. While Redis is down sessions cannot be created: 503 ' +
        'SESSION_STORE_UNAVAILABLE.',
      tag: 'auth',
      access: { public: true },
      before: [this.loginRateLimit],
      body: loginBody,
      bodyLimitBytes: AUTH_BODY_BYTES,
      responses: {
        200: { description: 'Signed in.', schema: sessionSchema },
        401: { description: 'INVALID_CREDENTIALS.' },
        429: { description: 'TOO_MANY_LOGIN_ATTEMPTS from this address (for any or for this user name); Retry-After.' },
      },
      handler: async ({ body, req, res }) => {
        const signedIn = await this.auth.login(body.username, body.password, requestOrigin(req));
        // A synthetic load-test account's successful sign-in gives its rate-limit slot back (see
        // login-rate-limit.middleware.ts); every other attempt keeps counting.
        if (signedIn.user.isSynthetic) markSyntheticSignIn(res);
        return { body: signedIn };
      },
    });
    api.add({
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      summary: 'Sign out',
      description: 'Ends the session of the token sent.',
      tag: 'auth',
      access: { roles: EVERY_ROLE, allowPendingPasswordChange: true },
      auditDenied: { action: 'auth.logout', resourceType: 'session' },
      responses: { 204: { description: 'Signed out.' } },
      handler: async ({ ctx }) => {
        await this.auth.logout(ctx.actor);
        return { status: 204 };
      },
    });
    api.add({
      method: 'get',
      path: '/auth/me',
      operationId: 'me',
      summary: 'Read the signed-in user',
      tag: 'auth',
      access: { roles: EVERY_ROLE, allowPendingPasswordChange: true },
      auditDenied: { action: 'auth.me', resourceType: 'user' },
      responses: { 200: { description: 'The signed-in user.', schema: userSchema } },
      handler: async ({ ctx }) => ({ body: await this.auth.me(ctx.actor) }),
    });
    api.add({
      method: 'post',
      path: '/auth/change-password',
      operationId: 'changePassword',
      summary: 'Change the password',
      description: 'Required after signing in with a one-time password. Ends the other sessions of the user.',
      tag: 'auth',
      access: { roles: EVERY_ROLE, allowPendingPasswordChange: true },
      auditDenied: { action: 'auth.change-password', resourceType: 'user' },
      body: changePasswordBody,
      bodyLimitBytes: AUTH_BODY_BYTES,
      responses: { 204: { description: 'Changed.' }, 401: { description: 'INVALID_CREDENTIALS: the current password is wrong.' } },
      handler: async ({ body, ctx }) => {
        await this.auth.changePassword(ctx.actor, body.currentPassword, body.newPassword, { ip: ctx.ip, requestId: ctx.requestId });
        return { status: 204 };
      },
    });
  }
}
