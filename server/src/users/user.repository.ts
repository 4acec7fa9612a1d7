/**
 * Data access for `users`. User names and e-mail addresses compare without regard to case.
 */
import type { Knex } from 'knex';
import type { PublicUser, UserRecord, UserRole } from './user.types.js';

interface UserRow {
  id: string;
  username: string;
  email: string | null;
  display_name: string;
  role: UserRole;
  department: string | null;
  active: boolean;
  password_hash: string;
  must_change_password: boolean;
  failed_login_count: number;
  locked_until: Date | null;
  last_login_at: Date | null;
  is_synthetic: boolean;
  created_at: Date;
  updated_at: Date;
}

/** Columns of a new user. */
export interface NewUser {
  username: string;
  email: string | null;
  displayName: string;
  role: UserRole;
  department: string | null;
  passwordHash: string;
  mustChangePassword: boolean;
  isSynthetic?: boolean;
}

/** Columns an admin may change. */
export interface UserPatch {
  email?: string | null;
  displayName?: string;
  role?: UserRole;
  department?: string | null;
  active?: boolean;
}

/** Filter of the user list; `after` is the keyset cursor (lower-cased user name, id). */
export interface UserFilter {
  role?: UserRole;
  activeOnly?: boolean;
  after?: readonly [string, string];
}

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    department: row.department,
    active: row.active,
    mustChangePassword: row.must_change_password,
    lockedUntil: row.locked_until === null ? null : row.locked_until.toISOString(),
    lastLoginAt: row.last_login_at === null ? null : row.last_login_at.toISOString(),
    isSynthetic: row.is_synthetic,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    passwordHash: row.password_hash,
    failedLoginCount: row.failed_login_count,
  };
}

/** Strips the secret columns. */
export function toPublicUser(user: UserRecord): PublicUser {
  const { passwordHash: _hash, failedLoginCount: _count, ...rest } = user;
  return rest;
}

/** Data access for users. */
export class UserRepository {
  constructor(private readonly db: Knex) {}

  /** The user with this id, or null. */
  async findById(id: string, trx?: Knex.Transaction): Promise<UserRecord | null> {
    const row = (await (trx ?? this.db)('users').where({ id }).first()) as UserRow | undefined;
    return row ? toRecord(row) : null;
  }

  /** The user with this name (any case), or null. Served by users_username_unique. */
  async findByUsername(username: string, trx?: Knex.Transaction): Promise<UserRecord | null> {
    const row = (await (trx ?? this.db)('users').whereRaw('lower(username) = lower(?)', [username]).first()) as UserRow | undefined;
    return row ? toRecord(row) : null;
  }

  /**
   * Inserts a user.
   * @throws the driver's unique violation (→ 409) for a taken user name or e-mail.
   */
  async insert(user: NewUser, trx?: Knex.Transaction): Promise<UserRecord> {
    const [row] = (await (trx ?? this.db)('users')
      .insert({
        username: user.username,
        email: user.email,
        display_name: user.displayName,
        role: user.role,
        department: user.department,
        password_hash: user.passwordHash,
        must_change_password: user.mustChangePassword,
        password_changed_at: user.mustChangePassword ? null : this.db.fn.now(),
        is_synthetic: user.isSynthetic ?? false,
      })
      .returning('*')) as UserRow[];
    return toRecord(row!);
  }

  /** Applies `patch`; returns the updated user, or null when there is none with this id. */
  async update(id: string, patch: UserPatch, trx?: Knex.Transaction): Promise<UserRecord | null> {
    const columns: Record<string, unknown> = { updated_at: this.db.fn.now() };
    if (patch.email !== undefined) columns.email = patch.email;
    if (patch.displayName !== undefined) columns.display_name = patch.displayName;
    if (patch.role !== undefined) columns.role = patch.role;
    if (patch.department !== undefined) columns.department = patch.department;
    if (patch.active !== undefined) columns.active = patch.active;
    const [row] = (await (trx ?? this.db)('users').where({ id }).update(columns).returning('*')) as UserRow[];
    return row ? toRecord(row) : null;
  }

  /** The query behind {@link list}, in user-name order (exposed so tests can EXPLAIN it). */
  listQuery(filter: UserFilter, limit: number): Knex.QueryBuilder {
    const q = this.db('users').select('*');
    if (filter.role !== undefined) q.where('role', filter.role);
    if (filter.activeOnly) q.where('active', true);
    if (filter.after !== undefined) q.whereRaw('(lower(username), id) > (?, ?)', [filter.after[0], filter.after[1]]);
    return q.orderByRaw('lower(username), id').limit(limit);
  }

  /** Up to `limit` users matching `filter`. */
  async list(filter: UserFilter, limit: number): Promise<UserRecord[]> {
    return ((await this.listQuery(filter, limit)) as UserRow[]).map(toRecord);
  }

  /**
   * Ids of the active admins, locked FOR UPDATE in `trx`, so two concurrent changes cannot both
   * remove "the other" last admin.
   */
  async lockActiveAdmins(trx: Knex.Transaction): Promise<string[]> {
    const rows = (await trx('users').where({ role: 'admin', active: true }).forUpdate().select('id')) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  /** True when at least one admin exists (active or not). */
  async anyAdmin(trx?: Knex.Transaction): Promise<boolean> {
    const row = await (trx ?? this.db)('users').where({ role: 'admin' }).first('id');
    return row !== undefined;
  }

  /** Clears the failure count and the lock, records the sign-in, and stores a rehash if given. */
  async recordSuccessfulLogin(id: string, newHash?: string): Promise<void> {
    await this.db('users')
      .where({ id })
      .update({
        failed_login_count: 0,
        locked_until: null,
        last_login_at: this.db.fn.now(),
        ...(newHash === undefined ? {} : { password_hash: newHash }),
      });
  }

  /** Replaces the password hash; also clears the lockout. */
  async setPassword(id: string, passwordHash: string, mustChangePassword: boolean, trx?: Knex.Transaction): Promise<UserRecord | null> {
    const [row] = (await (trx ?? this.db)('users')
      .where({ id })
      .update({
        password_hash: passwordHash,
        must_change_password: mustChangePassword,
        password_changed_at: mustChangePassword ? null : this.db.fn.now(),
        failed_login_count: 0,
        locked_until: null,
        updated_at: this.db.fn.now(),
      })
      .returning('*')) as UserRow[];
    return row ? toRecord(row) : null;
  }
}
