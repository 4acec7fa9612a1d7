/**
 * Creates the tables the background jobs work through:
 * - `notification_outbox`: mail to send (appointment reminders, daily summaries). A row is written
 *   in the same transaction that decides a message is due; the worker claims rows, sends them and
 *   marks them, so a message is neither lost (Redis down, worker killed) nor sent twice by two
 *   workers at once. One reminder per appointment (unique (appointment_id, kind)).
 * - `appointment_exports`: CSV exports of a patient's appointments, produced by the worker.
 * - `daily_reports`: the daily appointment summary, one row per day.
 */
import type { Knex } from 'knex';

export const OUTBOX_STATUS_VALUES = ['pending', 'sending', 'sent', 'failed', 'skipped', 'cancelled'] as const;
export const EXPORT_STATUS_VALUES = ['queued', 'ready', 'failed'] as const;

/** Creates the three tables and their indexes. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('notification_outbox', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('kind').notNullable();
    t.uuid('appointment_id').references('id').inTable('appointments').onDelete('CASCADE');
    t.text('dedupe_key');
    t.text('recipient');
    t.text('subject').notNullable();
    t.text('body').notNullable();
    t.enu('status', [...OUTBOX_STATUS_VALUES])
      .notNullable()
      .defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('claimed_until', { useTz: true });
    t.text('last_error');
    t.timestamp('sent_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`create unique index notification_outbox_dedupe_unique on notification_outbox (kind, dedupe_key)`);
  await knex.raw(`create index notification_outbox_due_idx on notification_outbox (status, next_attempt_at)`);
  await knex.raw(`create index notification_outbox_appointment_idx on notification_outbox (appointment_id) where appointment_id is not null`);

  await knex.schema.createTable('appointment_exports', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('patient_id').notNullable().references('id').inTable('patients').onDelete('CASCADE');
    t.uuid('requested_by').notNullable();
    t.enu('status', [...EXPORT_STATUS_VALUES])
      .notNullable()
      .defaultTo('queued');
    t.text('job_id');
    t.text('csv');
    t.integer('row_count');
    t.text('error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });
  await knex.raw(`create index appointment_exports_expires_idx on appointment_exports (expires_at)`);
  await knex.raw(`create index appointment_exports_patient_idx on appointment_exports (patient_id)`);

  await knex.schema.createTable('daily_reports', (t) => {
    t.date('report_date').primary();
    t.text('timezone').notNullable();
    t.jsonb('summary').notNullable();
    t.timestamp('generated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

/** Drops the three tables: for development rollbacks only. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('daily_reports');
  await knex.schema.dropTableIfExists('appointment_exports');
  await knex.schema.dropTableIfExists('notification_outbox');
}
