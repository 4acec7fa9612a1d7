/**
 * Staff accounts: created, changed and reset by admins. Every change is written to the audit trail
 * in the same transaction. Changing a user's role, deactivating them or resetting their password
 * ends all their sessions (inside the transaction: if Redis cannot be reached the change is rolled
 * back and the admin gets 503, rather than leaving sessions alive with stale rights).
 */
import { z } from 'zod';
import type { AuditService } from '../audit/audit.service.js';
import type { SessionStore } from '../auth/session.store.js';
import { hashPassword } from '../auth/password.hasher.js';
import { generateOneTimePassword } from '../auth/one-time-password.js';
import { assertFound, ConflictError, ValidationError } from '../http/http-error.js';
import { decodeCursor, toPage, type Page } from '../http/pagination.js';
import type { RequestContext } from '../http/request-context.js';
import type { CreateUserInput, UpdateUserInput } from './user.schemas.js';
import { toPublicUser, UserRepository } from './user.repository.js';
import type { PublicUser, UserRole } from './user.types.js';

/** A clinician as the booking screen needs it. */
export interface ClinicianSummary {
  id: string;
  displayName: string;
  department: string | null;
}

/**
 * Checks a new password against the account (the length rules are in the schema).
 * @throws ValidationError naming `field` when the password contains the user name.
 */
export function assertPasswordFitsUser(password: string, username: string, field: string): void {
  if (password.toLowerCase().includes(username.toLowerCase())) {
    throw new ValidationError([{ path: field, message: 'must not contain the user name' }]);
  }
}

/** Translates a unique violation of users into a clear 409. */
function translateUniqueViolation(err: unknown): never {
  const constraint = (err as { code?: unknown; constraint?: unknown }).code === '23505' ? (err as { constraint?: unknown }).constraint : undefined;
  if (constraint === 'users_username_unique') throw new ConflictError('the user name is taken', 'USERNAME_TAKEN', { cause: err });
  if (constraint === 'users_email_unique') throw new ConflictError('the e-mail address is used by another user', 'EMAIL_TAKEN', { cause: err });
  throw err;
}

const USERS_CURSOR = [z.string().max(64), z.uuid()] as const;

/** Use cases of the users API. */
export class UserService {
  constructor(
    private readonly users: UserRepository,
    private readonly audit: AuditService,
    private readonly sessions: SessionStore,
  ) {}

  /**
   * Creates a user who must change the password at first sign-in.
   * @returns the user, and the generated one-time password when none was given.
   * @throws ConflictError USERNAME_TAKEN / EMAIL_TAKEN, ValidationError for a password containing the name.
   */
  async create(ctx: RequestContext, input: CreateUserInput): Promise<{ user: PublicUser; temporaryPassword?: string }> {
    const password = input.password ?? generateOneTimePassword();
    if (input.password !== undefined) assertPasswordFitsUser(input.password, input.username, 'password');
    const passwordHash = await hashPassword(password);
    const user = await this.audit.change(ctx, { action: 'user.create', resourceType: 'user' }, async (trx) => {
      const created = await this.users
        .insert(
          {
            username: input.username,
            email: input.email ?? null,
            displayName: input.displayName,
            role: input.role,
            department: input.department ?? null,
            passwordHash,
            mustChangePassword: true,
          },
          trx,
        )
        .catch(translateUniqueViolation);
      return { result: toPublicUser(created), resourceId: created.id, details: { role: created.role } };
    });
    return input.password === undefined ? { user, temporaryPassword: password } : { user };
  }

  /** One user. @throws NotFoundError */
  async get(id: string): Promise<PublicUser> {
    const user = await this.users.findById(id);
    assertFound(user, 'user');
    return toPublicUser(user);
  }

  /** A page of users in user-name order. @throws BadRequestError INVALID_CURSOR */
  async list(filter: { role?: UserRole }, limit: number, cursor: string | undefined): Promise<Page<PublicUser>> {
    const after = decodeCursor('users', cursor, USERS_CURSOR);
    const rows = await this.users.list({ ...filter, ...(after ? { after } : {}) }, limit + 1);
    return toPage(rows.map(toPublicUser), limit, 'users', (u) => [u.username.toLowerCase(), u.id]);
  }

  /** Active clinicians in user-name order (for booking). */
  async listClinicians(limit: number, cursor: string | undefined): Promise<Page<ClinicianSummary>> {
    const after = decodeCursor('clinicians', cursor, USERS_CURSOR);
    const rows = await this.users.list({ role: 'clinician', activeOnly: true, ...(after ? { after } : {}) }, limit + 1);
    const page = toPage(rows, limit, 'clinicians', (u) => [u.username.toLowerCase(), u.id]);
    return { items: page.items.map((u) => ({ id: u.id, displayName: u.displayName, department: u.department })), nextCursor: page.nextCursor };
  }

  /**
   * Changes a user. A role change or deactivation ends the user's sessions.
   * @throws NotFoundError, ConflictError LAST_ADMIN (the only active admin cannot stop being one),
   *   ConflictError EMAIL_TAKEN, SessionStoreUnavailableError.
   */
  async update(ctx: RequestContext, id: string, patch: UpdateUserInput): Promise<PublicUser> {
    return this.audit.change(ctx, { action: 'user.update', resourceType: 'user', resourceId: id }, async (trx) => {
      const before = await this.users.findById(id, trx);
      assertFound(before, 'user');
      const losesAdmin = before.role === 'admin' && before.active && ((patch.role !== undefined && patch.role !== 'admin') || patch.active === false);
      if (losesAdmin) {
        const admins = await this.users.lockActiveAdmins(trx);
        if (admins.length <= 1) {
          throw new ConflictError('this is the only active admin; make another user admin first', 'LAST_ADMIN');
        }
      }
      const after = await this.users.update(id, patch, trx).catch(translateUniqueViolation);
      assertFound(after, 'user');
      const rightsChanged = after.role !== before.role || after.active !== before.active;
      if (rightsChanged) await this.sessions.revokeAll(id);
      return { result: toPublicUser(after), details: { fields: Object.keys(patch), sessionsEnded: rightsChanged } };
    });
  }

  /**
   * Gives a user a new one-time password, unlocks the account and ends its sessions.
   * @returns the one-time password (shown once).
   * @throws NotFoundError, SessionStoreUnavailableError.
   */
  async resetPassword(ctx: RequestContext, id: string): Promise<{ temporaryPassword: string }> {
    const temporaryPassword = generateOneTimePassword();
    const passwordHash = await hashPassword(temporaryPassword);
    await this.audit.change(ctx, { action: 'user.reset-password', resourceType: 'user', resourceId: id }, async (trx) => {
      const user = await this.users.setPassword(id, passwordHash, true, trx);
      assertFound(user, 'user');
      await this.sessions.revokeAll(id);
      return { result: undefined };
    });
    return { temporaryPassword };
  }
}
