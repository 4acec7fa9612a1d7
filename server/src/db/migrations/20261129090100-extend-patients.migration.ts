/**
 * Extends `patients` for the API: contact details, the synthetic-data marker, and search keys.
 *
 * Search: `search_family`/`search_given` are lower-cased copies of the names in the "C" collation.
 * A "C" b-tree serves both `LIKE 'prefix%'` and ordering, whatever the database's default
 * collation is (with a linguistic collation such as en_US.UTF-8, a plain index cannot serve LIKE).
 * One index (family, given, id) serves the name-ordered, keyset-paginated list and family-name
 * prefix search; a second serves given-name prefix search; the MRN unique index serves MRN lookups.
 * The first migration's (family_name, given_name) index served neither and is dropped.
 */
import type { Knex } from 'knex';

/** Adds the columns, the search keys and their indexes. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('patients', (t) => {
    t.text('phone');
    t.text('email');
    t.text('address');
    // Synthetic patients come from the demo-data generator; `demo-data --remove` deletes only these.
    t.boolean('is_synthetic').notNullable().defaultTo(false);
    t.text('demo_tenant');
  });
  await knex.raw(`alter table patients add column search_family text collate "C" generated always as (lower(family_name)) stored`);
  await knex.raw(`alter table patients add column search_given text collate "C" generated always as (lower(given_name)) stored`);
  await knex.raw(`alter table patients add constraint patients_demo_tenant_only_synthetic check ((demo_tenant is null) = (not is_synthetic))`);
  await knex.raw(`drop index if exists patients_name_idx`);
  await knex.raw(`create index patients_search_family_idx on patients (search_family, search_given, id)`);
  await knex.raw(`create index patients_search_given_idx on patients (search_given, id)`);
  await knex.raw(`create index patients_synthetic_idx on patients (demo_tenant) where is_synthetic`);
}

/** Reverts to the first migration's shape (drops the contact columns and their data). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index if exists patients_search_family_idx`);
  await knex.raw(`drop index if exists patients_search_given_idx`);
  await knex.raw(`drop index if exists patients_synthetic_idx`);
  await knex.schema.alterTable('patients', (t) => {
    t.dropChecks(['patients_demo_tenant_only_synthetic']);
    t.dropColumns('search_family', 'search_given', 'phone', 'email', 'address', 'is_synthetic', 'demo_tenant');
    t.index(['family_name', 'given_name'], 'patients_name_idx');
  });
}
