/**
 * Creates `audit_events`: one row per read or change of patient data (and per sign-in), append-only.
 *
 * No foreign keys: the trail must outlive what it mentions (removed demo data, renamed users), so
 * the actor's name and role are copied into the row. A trigger rejects UPDATE and DELETE, so not
 * even a bug in the server can rewrite history (TRUNCATE by the owner remains possible, on purpose
 * only). Ordered by `id` (a bigint identity), newest first; each filter has an index ending in id.
 */
import type { Knex } from 'knex';

/** Outcomes an audit event records. */
export const AUDIT_OUTCOME_VALUES = ['success', 'denied', 'not_found', 'rejected', 'conflict', 'error'] as const;

/** Creates the table, its indexes and the append-only trigger. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id', { primaryKey: true });
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid('actor_user_id');
    t.text('actor_username').notNullable();
    t.text('actor_role');
    t.text('action').notNullable();
    t.text('resource_type').notNullable();
    t.text('resource_id');
    t.uuid('patient_id');
    t.enu('outcome', [...AUDIT_OUTCOME_VALUES]).notNullable();
    t.text('client_ip');
    t.text('request_id');
    t.jsonb('details');
  });
  await knex.raw(`create index audit_events_occurred_at_idx on audit_events (occurred_at, id)`);
  await knex.raw(`create index audit_events_patient_idx on audit_events (patient_id, id) where patient_id is not null`);
  await knex.raw(`create index audit_events_actor_idx on audit_events (actor_user_id, id) where actor_user_id is not null`);
  await knex.raw(`create index audit_events_action_idx on audit_events (action, id)`);
  await knex.raw(`
    create or replace function audit_events_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_events is append-only' using errcode = '42501';
    end $$`);
  await knex.raw(`
    create trigger audit_events_no_update_or_delete before update or delete on audit_events
      for each row execute function audit_events_append_only()`);
}

/** Drops the table and its trigger function: for development rollbacks only. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_events');
  await knex.raw('drop function if exists audit_events_append_only()');
}
