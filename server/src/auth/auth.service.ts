/**
 * Sign-in, sign-out and password changes.
 *
 * - Passwords are verified with argon2id; an unknown user name is verified against a dummy hash so
 *   both answers take as long (no user enumeration by timing) and both say INVALID_CREDENTIALS.
 * - LOGIN_MAX_FAILURES consecutive failures lock the account for LOGIN_LOCKOUT_SECONDS (423
 *   ACCOUNT_LOCKED with Retry-After); a success clears the count. Counted in PostgreSQL, atomically,
 *   so every replica sees the same count.
 * - Every sign-in attempt is audited (`auth.login`, outcome success / rejected / denied).
 * - A user with a one-time password gets a session that may only change the password (403
 *   PASSWORD_CHANGE_REQUIRED elsewhere); changing it ends the user's other sessions.
 */
import type { Config } from '../config/env.config.js';
import type { AuditService } from '../audit/audit.service.js';
import { LockedError, UnauthorizedError, ValidationError } from '../http/http-error.js';
import type { AuditOrigin } from '../audit/audit.types.js';
import type { Actor } from '../http/request-context.js';
import { assertPasswordFitsUser } from '../users/user.service.js';
import { toPublicUser, UserRepository } from '../users/user.repository.js';
import type { PublicUser } from '../users/user.types.js';
import { hashPassword, needsRehash, unknownUserHash, verifyPassword } from './password.hasher.js';
import type { SessionStore } from './session.store.js';

/** What a successful sign-in returns. */
export interface SignedIn {
  token: string;
  expiresAt: string;
  user: PublicUser;
}

const invalidCredentials = (): UnauthorizedError =>
  new UnauthorizedError('user name or password is wrong', 'INVALID_CREDENTIALS', {
    hint: `Check both and retry; repeated failures lock the account for a while.`,
  });

/** Use cases of the auth API. */
export class AuthService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionStore,
    private readonly audit: AuditService,
    private readonly config: Pick<Config, 'LOGIN_MAX_FAILURES' | 'LOGIN_LOCKOUT_SECONDS'>,
  ) {}

  /**
   * Signs a user in.
   * @throws UnauthorizedError INVALID_CREDENTIALS, LockedError ACCOUNT_LOCKED,
   *   SessionStoreUnavailableError (Redis down), AuditUnavailableError.
   */
  async login(username: string, password: string, origin: AuditOrigin): Promise<SignedIn> {
    const user = await this.users.findByUsername(username);
    const subject = { action: 'auth.login', resourceType: 'session' };
    if (user === null || !user.active) {
      await verifyPassword(await unknownUserHash(), password);
      const actor = user === null ? { userId: null, username: '(unknown user)', role: null } : { userId: user.id, username: user.username, role: user.role };
      await this.audit.record(actor, origin, [{ ...subject, outcome: 'rejected', details: { reason: user === null ? 'unknown-user' : 'inactive' } }]);
      throw invalidCredentials();
    }
    const actor = { userId: user.id, username: user.username, role: user.role };
    const lockedFor = secondsUntil(user.lockedUntil);
    if (lockedFor > 0) {
      await this.audit.record(actor, origin, [{ ...subject, outcome: 'denied', details: { reason: 'locked' } }]);
      throw locked(lockedFor);
    }
    if (!(await verifyPassword(user.passwordHash, password))) {
      const state = await this.users.recordFailedLogin(user.id, this.config.LOGIN_MAX_FAILURES, this.config.LOGIN_LOCKOUT_SECONDS);
      const nowLocked = state.lockedUntil !== null && state.lockedUntil.getTime() > Date.now();
      await this.audit.record(actor, origin, [
        { ...subject, outcome: 'rejected', details: { reason: 'wrong-password', failedLoginCount: state.failedLoginCount, locked: nowLocked } },
      ]);
      throw invalidCredentials();
    }
    const { token, session } = await this.sessions.create({
      userId: user.id,
      username: user.username,
      role: user.role,
      mustChangePassword: user.mustChangePassword,
    });
    await this.users.recordSuccessfulLogin(user.id, needsRehash(user.passwordHash) ? await hashPassword(password) : undefined);
    await this.audit.record(actor, origin, [{ ...subject, outcome: 'success' }]);
    return { token, expiresAt: new Date(session.expiresAt).toISOString(), user: { ...toPublicUser(user), lockedUntil: null } };
  }

  /** Ends the caller's session. @throws SessionStoreUnavailableError */
  async logout(actor: Actor): Promise<void> {
    await this.sessions.revoke(actor.userId, actor.sessionId);
  }

  /** The caller's account. @throws UnauthorizedError when the account was deleted meanwhile. */
  async me(actor: Actor): Promise<PublicUser> {
    const user = await this.users.findById(actor.userId);
    if (user === null || !user.active) throw new UnauthorizedError('the account no longer exists or is deactivated', 'INVALID_TOKEN');
    return toPublicUser(user);
  }

  /**
   * Replaces the caller's password after checking the current one; clears the one-time flag and
   * ends the user's other sessions.
   * @throws UnauthorizedError INVALID_CREDENTIALS (wrong current password, counted as a failure),
   *   ValidationError (new password unchanged or containing the user name), SessionStoreUnavailableError.
   */
  async changePassword(actor: Actor, currentPassword: string, newPassword: string, origin: AuditOrigin): Promise<void> {
    const user = await this.users.findById(actor.userId);
    if (user === null || !user.active) throw new UnauthorizedError('the account no longer exists or is deactivated', 'INVALID_TOKEN');
    const auditActor = { userId: user.id, username: user.username, role: user.role };
    const subject = { action: 'auth.change-password', resourceType: 'user', resourceId: user.id };
    if (!(await verifyPassword(user.passwordHash, currentPassword))) {
      await this.users.recordFailedLogin(user.id, this.config.LOGIN_MAX_FAILURES, this.config.LOGIN_LOCKOUT_SECONDS);
      await this.audit.record(auditActor, origin, [{ ...subject, outcome: 'rejected', details: { reason: 'wrong-password' } }]);
      throw invalidCredentials();
    }
    if (newPassword === currentPassword) throw new ValidationError([{ path: 'newPassword', message: 'must differ from the current password' }]);
    assertPasswordFitsUser(newPassword, user.username, 'newPassword');
    await this.users.setPassword(user.id, await hashPassword(newPassword), false);
    await this.sessions.revokeAll(user.id, actor.sessionId);
    await this.sessions.update(actor.sessionId, { mustChangePassword: false });
    await this.audit.record(auditActor, origin, [{ ...subject, outcome: 'success' }]);
  }
}

function secondsUntil(iso: string | null): number {
  if (iso === null) return 0;
  return Math.ceil((new Date(iso).getTime() - Date.now()) / 1000);
}

function locked(seconds: number): LockedError {
  return new LockedError('the account is locked after repeated failed sign-ins', 'ACCOUNT_LOCKED', {
    retryAfterSeconds: seconds,
    hint: `Retry after ${seconds} s, or ask an admin to reset the password.`,
  });
}
