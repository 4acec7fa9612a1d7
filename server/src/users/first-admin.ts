/**
 * Creates the first admin, once: the installer runs create-admin.js after the migrations, and a
 * re-run (re-install, upgrade) must not create a second admin nor change the first one's password.
 *
 * Race-free: the check and the insert run in one transaction under a transaction-scoped advisory
 * lock (`pg_advisory_xact_lock`, allowed behind PgBouncer in transaction mode), so two concurrent
 * runs create one admin.
 */
import type { Knex } from 'knex';
import { AuditRepository } from '../audit/audit.repository.js';
import { generateOneTimePassword } from '../auth/one-time-password.js';
import { hashPassword } from '../auth/password.hasher.js';
import { UserRepository } from './user.repository.js';

/** The user name of the first admin. */
export const FIRST_ADMIN_USERNAME = 'admin';

/** What create-admin.js prints (one JSON line). */
export type FirstAdminResult = { created: true; username: string; password: string } | { created: false; username: string };

/** The first admin cannot be created (a non-admin user already has its name). */
export class FirstAdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FirstAdminError';
  }
}

/**
 * Creates the admin `admin` with a one-time password (must be changed at first sign-in) unless an
 * admin exists.
 * @returns `{created: true, username, password}` (the password appears nowhere else), or
 *   `{created: false, username}` naming the oldest existing admin.
 * @throws FirstAdminError when a non-admin user is called `admin`; driver errors.
 */
export async function createFirstAdmin(db: Knex): Promise<FirstAdminResult> {
  const oldestAdmin = async (q: Knex | Knex.Transaction): Promise<string | undefined> =>
    ((await q('users').where({ role: 'admin' }).orderBy('created_at').first('username')) as { username: string } | undefined)?.username;

  const existing = await oldestAdmin(db);
  if (existing !== undefined) return { created: false, username: existing };

  const password = generateOneTimePassword();
  const passwordHash = await hashPassword(password);
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', ['carebox:create-admin']);
    const raced = await oldestAdmin(trx);
    if (raced !== undefined) return { created: false as const, username: raced };
    const users = new UserRepository(db);
    if ((await users.findByUsername(FIRST_ADMIN_USERNAME, trx)) !== null) {
      throw new FirstAdminError(`a user named "${FIRST_ADMIN_USERNAME}" exists but is not an admin; make it an admin or rename it, then run again`);
    }
    const admin = await users.insert(
      {
        username: FIRST_ADMIN_USERNAME,
        email: null,
        displayName: 'Administrator',
        role: 'admin',
        department: null,
        passwordHash,
        mustChangePassword: true,
      },
      trx,
    );
    await new AuditRepository(db).append(
      { userId: null, username: 'system:create-admin', role: null },
      { ip: null, requestId: null },
      [{ action: 'user.create', resourceType: 'user', resourceId: admin.id, outcome: 'success', details: { role: 'admin', firstAdmin: true } }],
      trx,
    );
    return { created: true as const, username: admin.username, password };
  });
}
