/**
 * Users of the API: staff with one role each.
 *
 * | role      | may                                                                      |
 * |-----------|--------------------------------------------------------------------------|
 * | admin     | everything, incl. users, the audit trail, jobs and reports               |
 * | clinician | read patients and appointments; set the status of their own appointments |
 * | clerk     | register and edit patients; book, reschedule and cancel appointments;     |
 * |           | export a patient's appointments; read daily summaries                     |
 *
 * The exact matrix is declared route by route (`access.roles` of each route) and tested route by
 * route in test/integration/server/auth/rbac.test.ts.
 */
import { USER_ROLE_VALUES } from '../db/migrations/20261129090000-create-users.migration.js';

export { USER_ROLE_VALUES };
export type UserRole = (typeof USER_ROLE_VALUES)[number];

/** A user as the API shows it: never the password hash or the lockout counters. */
export interface PublicUser {
  id: string;
  username: string;
  email: string | null;
  displayName: string;
  role: UserRole;
  department: string | null;
  active: boolean;
  mustChangePassword: boolean;
  lockedUntil: string | null;
  lastLoginAt: string | null;
  isSynthetic: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A user row with the secret columns, for the auth service only. */
export interface UserRecord extends PublicUser {
  passwordHash: string;
  failedLoginCount: number;
}
