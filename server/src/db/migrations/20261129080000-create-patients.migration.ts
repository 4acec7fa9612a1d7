/**
 * Creates `patients`: one row per person with a unique medical record number (MRN).
 * Issue 4 extends it (contact details) in later migrations; never edit an applied migration.
 */
import type { Knex } from 'knex';

/** HL7 administrative gender codes. */
export const PATIENT_SEX_VALUES = ['female', 'male', 'other', 'unknown'] as const;

/** Creates the table, its MRN unique constraint, the name index and the checks. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('patients', (t) => {
    // gen_random_uuid() is built into PostgreSQL ≥ 13.
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    // The unique constraint's index also serves MRN lookups.
    t.text('mrn').notNullable().unique({ indexName: 'patients_mrn_unique' });
    t.text('given_name').notNullable();
    t.text('family_name').notNullable();
    t.date('birth_date').notNullable();
    t.enu('sex', [...PATIENT_SEX_VALUES]).notNullable(); // a text column with a check constraint
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Name search: family name first (the usual search), then given name.
    t.index(['family_name', 'given_name'], 'patients_name_idx');
  });
  await knex.raw(`alter table patients add constraint patients_mrn_not_blank check (length(btrim(mrn)) > 0)`);
}

/** Drops the table (and with it every patient row): for development rollbacks only. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('patients');
}
