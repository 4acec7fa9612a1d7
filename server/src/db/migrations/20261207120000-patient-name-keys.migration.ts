/**
 * Case- and accent-insensitive patient name search (issue 10 item 9). Additive.
 *
 * "İlke" did not find İlke and a decomposed "Ü" did not find "Ümit": the search keys were
 * `lower(name)`, and PostgreSQL's lower() keeps "İ" and accents. The new keys are
 * `carebox_name_key(name)` = lower(unaccent(normalize(name, NFC))): NFC first (so decomposed and
 * precomposed input agree), then the `unaccent` extension (a contrib module shipped with
 * PostgreSQL: Debian's postgresql-15 package and the official images; trusted since PostgreSQL 13,
 * so the database owner may create it), then lower(). Search folds the typed term with the same
 * function, so both sides always agree.
 *
 * The function is declared IMMUTABLE (unaccent() itself is only STABLE because its dictionary
 * could be changed) so that it can feed stored generated columns and indexes; every name in it is
 * schema-qualified, so a restore with an empty search_path computes the same keys.
 *
 * The keys are "C"-collated like the old ones, so one b-tree serves `LIKE 'prefix%'` and the
 * name order. The old keys' columns and indexes stay: this migration is an expand step (see
 * migration.safety.ts), so the previous version, whose search still reads them, keeps working if an
 * upgrade is rolled back. A later contract release may drop them once this version is proven.
 */
import type { Knex } from 'knex';

/** The key function, in SQL; `public.carebox_name_key(text)`. */
export const NAME_KEY_FUNCTION = 'public.carebox_name_key';

/** Creates unaccent, the key function, the key columns and their indexes. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create extension if not exists unaccent with schema public');
  await knex.raw(`
    create or replace function ${NAME_KEY_FUNCTION}(value text) returns text
    language sql immutable strict parallel safe
    return pg_catalog.lower(public.unaccent('public.unaccent'::regdictionary, normalize(value, NFC)))`);
  await knex.raw(`alter table patients add column name_key_family text collate "C" generated always as (${NAME_KEY_FUNCTION}(family_name)) stored`);
  await knex.raw(`alter table patients add column name_key_given text collate "C" generated always as (${NAME_KEY_FUNCTION}(given_name)) stored`);
  await knex.raw('create index patients_name_key_family_idx on patients (name_key_family, name_key_given, id)');
  await knex.raw('create index patients_name_key_given_idx on patients (name_key_given, id)');
}

/** Back to the lower()-only keys, whose indexes were kept (the extension stays: other objects may use it). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table patients drop column if exists name_key_family, drop column if exists name_key_given');
  await knex.raw(`drop function if exists ${NAME_KEY_FUNCTION}(text)`);
}
