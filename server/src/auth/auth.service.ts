/**
 * Sign-in, sign-out and password changes.
 *
 * - Passwords are verified with argon2id; an unknown or inactive user name is verified against a
 *   dummy hash so every answer takes as long (no user enumeration by timing) and says
 *   INVALID_CREDENTIALS.
 * - Guessing is throttled per account and client address, and slowed per account, never locked
 *   (login-throttle.ts); the throttle is keyed on the typed name, so it answers unknown names
 *   exactly like real ones. No account state is written on a failure.
 * - Every sign-in attempt is audited (`auth.login`, outcome success / rejected / denied).
 * - A user with a one-time password gets a session that may only change the password (403
 *   PASSWORD_CHANGE_REQUIRED elsewhere); changing it ends the user's other sessions.
 */
import type { AuditService } from '../audit/audit.service.js';
import { TooManyRequestsError, UnauthorizedError, ValidationError } from '../http/http-error.js';
import type { AuditOrigin } from '../audit/audit.types.js';
import type { Actor } from '../http/request-context.js';
import { assertPasswordFitsUser } from '../users/user.service.js';
import { toPublicUser, UserRepository } from '../users/user.repository.js';
import type { PublicUser } from '../users/user.types.js';
import { hashPassword, needsRehash, unknownUserHash, verifyPassword } from './password.hasher.js';
import type { LoginThrottle, ThrottleDecision } from './login-throttle.js';
import type { SessionStore } from './session.store.js';

/** What a successful sign-in returns. */
export interface SignedIn {
  token: string;
  expiresAt: string;
  user: PublicUser;
}

const invalidCredentials = (): UnauthorizedError =>
  new UnauthorizedError('user name or password is wrong', 'INVALID_CREDENTIALS', {
    hint: 'Check both and retry; repeated failures slow further attempts down.',
  });

/** Use cases of the auth API. */
export class AuthService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionStore,
    private readonly audit: AuditService,
    private readonly throttle: LoginThrottle,
  ) {}

  /**
   * Signs a user in. An unknown, inactive or wrong-password attempt does the same work (one
   * argon2 verify, one audit record, one throttle count) and gets the same answer.
   * @throws UnauthorizedError INVALID_CREDENTIALS, TooManyRequestsError TOO_MANY_LOGIN_ATTEMPTS
   *   (this client's budget for this name), SessionStoreUnavailableError (Redis down),
   *   AuditUnavailableError.
   */
  async login(username: string, password: string, origin: AuditOrigin): Promise<SignedIn> {
    const user = await this.users.findByUsername(username);
    const subject = { action: 'auth.login', resourceType: 'session' };
    const known = user !== null && user.active;
    const actor = user === null ? { userId: null, username: '(unknown user)', role: null } : { userId: user.id, username: user.username, role: user.role };
    let decision: ThrottleDecision;
    try {
      decision = await this.throttle.attempt(username, origin.ip);
    } catch (err) {
      if (err instanceof TooManyRequestsError) await this.audit.record(actor, origin, [{ ...subject, outcome: 'denied', details: { reason: 'throttled' } }]);
      throw err;
    }
    if (decision.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    const matches = await verifyPassword(known ? user.passwordHash : await unknownUserHash(), password);
    if (!known || !matches) {
      await this.throttle.failed(username, origin.ip);
      const reason = user === null ? 'unknown-user' : !user.active ? 'inactive' : 'wrong-password';
      await this.audit.record(actor, origin, [{ ...subject, outcome: 'rejected', details: { reason, delayedMs: decision.delayMs } }]);
      throw invalidCredentials();
    }
    const { token, session } = await this.sessions.create({
      userId: user.id,
      username: user.username,
      role: user.role,
      mustChangePassword: user.mustChangePassword,
    });
    await this.throttle.succeeded(username, origin.ip);
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
   * @throws UnauthorizedError INVALID_CREDENTIALS (wrong current password, counted by the throttle
   *   like a failed sign-in), TooManyRequestsError TOO_MANY_LOGIN_ATTEMPTS,
   *   ValidationError (new password unchanged or containing the user name), SessionStoreUnavailableError.
   */
  async changePassword(actor: Actor, currentPassword: string, newPassword: string, origin: AuditOrigin): Promise<void> {
    const user = await this.users.findById(actor.userId);
    if (user === null || !user.active) throw new UnauthorizedError('the account no longer exists or is deactivated', 'INVALID_TOKEN');
    const auditActor = { userId: user.id, username: user.username, role: user.role };
    const subject = { action: 'auth.change-password', resourceType: 'user', resourceId: user.id };
    const decision = await this.throttle.attempt(user.username, origin.ip);
    if (decision.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    if (!(await verifyPassword(user.passwordHash, currentPassword))) {
      await this.throttle.failed(user.username, origin.ip);
      await this.audit.record(auditActor, origin, [{ ...subject, outcome: 'rejected', details: { reason: 'wrong-password' } }]);
      throw invalidCredentials();
    }
    await this.throttle.succeeded(user.username, origin.ip);
    if (newPassword === currentPassword) throw new ValidationError([{ path: 'newPassword', message: 'must differ from the current password' }]);
    assertPasswordFitsUser(newPassword, user.username, 'newPassword');
    await this.users.setPassword(user.id, await hashPassword(newPassword), false);
    await this.sessions.revokeAll(user.id, actor.sessionId);
    await this.sessions.update(actor.sessionId, { mustChangePassword: false });
    await this.audit.record(auditActor, origin, [{ ...subject, outcome: 'success' }]);
  }
}
