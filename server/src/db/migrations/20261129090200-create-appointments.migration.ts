/**
 * Creates `appointments`.
 *
 * Double booking is impossible in the database itself: an exclusion constraint (btree_gist) forbids
 * two non-cancelled appointments of one clinician whose [start, end) ranges overlap. Two concurrent
 * bookings of the same slot cannot both commit; the loser gets SQLSTATE 23P01 (mapped to 409).
 *
 * Indexes, one per list filter (each ordered by start time, then id, for keyset pagination):
 * start time alone (the seed's "appointment date"), clinician, patient, status.
 */
import type { Knex } from 'knex';

/** Appointment life cycle. */
export const APPOINTMENT_STATUS_VALUES = ['booked', 'checked-in', 'completed', 'cancelled', 'no-show'] as const;

/** Creates the extension (if missing), the table, the exclusion constraint and the indexes. */
export async function up(knex: Knex): Promise<void> {
  // Trusted extension since PostgreSQL 13: the database owner may create it.
  await knex.raw('create extension if not exists btree_gist');
  await knex.schema.createTable('appointments', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('patient_id').notNullable().references('id').inTable('patients').onDelete('RESTRICT');
    t.uuid('clinician_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.timestamp('starts_at', { useTz: true }).notNullable();
    t.timestamp('ends_at', { useTz: true }).notNullable();
    t.text('department').notNullable();
    t.enu('status', [...APPOINTMENT_STATUS_VALUES])
      .notNullable()
      .defaultTo('booked');
    t.text('notes');
    t.uuid('created_by');
    t.boolean('is_synthetic').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table appointments add constraint appointments_ends_after_starts check (ends_at > starts_at)`);
  await knex.raw(`
    alter table appointments add constraint appointments_no_double_booking
      exclude using gist (clinician_id with =, tstzrange(starts_at, ends_at, '[)') with &&)
      where (status <> 'cancelled')`);
  await knex.raw(`create index appointments_starts_at_idx on appointments (starts_at, id)`);
  await knex.raw(`create index appointments_clinician_starts_idx on appointments (clinician_id, starts_at, id)`);
  await knex.raw(`create index appointments_patient_starts_idx on appointments (patient_id, starts_at, id)`);
  await knex.raw(`create index appointments_status_starts_idx on appointments (status, starts_at, id)`);
}

/** Drops the table (the extension stays: other objects may use it). */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('appointments');
}
