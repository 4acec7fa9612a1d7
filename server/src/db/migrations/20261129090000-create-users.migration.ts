/**
 * Creates `users`: staff who sign in, with a role (admin, clinician, clerk), an argon2id password
 * hash and the lockout counters. User names and e-mail addresses are unique without regard to case
 * (the unique indexes on `lower(…)` also serve the sign-in lookup and the seed's "user email" index).
 */
import type { Knex } from 'knex';

/** Roles, from most to least privileged. */
export const USER_ROLE_VALUES = ['admin', 'clinician', 'clerk'] as const;

/** Creates the table, its unique indexes and checks. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('username').notNullable();
    t.text('email');
    t.text('display_name').notNullable();
    t.enu('role', [...USER_ROLE_VALUES]).notNullable();
    t.text('department');
    t.boolean('active').notNullable().defaultTo(true);
    t.text('password_hash').notNullable();
    t.boolean('must_change_password').notNullable().defaultTo(false);
    t.integer('failed_login_count').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('last_login_at', { useTz: true });
    t.timestamp('password_changed_at', { useTz: true });
    // Synthetic users come from the demo-data generator; `demo-data --remove` deletes only these.
    t.boolean('is_synthetic').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`create unique index users_username_unique on users (lower(username))`);
  await knex.raw(`create unique index users_email_unique on users (lower(email)) where email is not null`);
  // Listing by role (clinicians for booking) in user-name order.
  await knex.raw(`create index users_role_username_idx on users (role, lower(username), id)`);
  await knex.raw(`alter table users add constraint users_username_format check (username ~ '^[A-Za-z0-9._-]{3,64}$')`);
  await knex.raw(`alter table users add constraint users_failed_login_count_nonnegative check (failed_login_count >= 0)`);
}

/** Drops the table: for development rollbacks only. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('users');
}
