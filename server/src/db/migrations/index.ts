/**
 * The ordered list of migrations, imported explicitly.
 *
 * knex's default loader globs a directory and trips over `.ts` vs `.js` between `tsx` and the
 * compiled `dist/`; an explicit `migrationSource` works the same in both. To add a migration:
 * write `<UTC timestamp>-<what>.migration.ts` and append it here. Never rename or reorder an
 * entry: its `name` is what `knex_migrations` records as applied.
 *
 * Expand/contract (migration.safety.ts): a migration must be additive (new tables, nullable or
 * defaulted columns, indexes, new functions), so the previous version keeps working on the new
 * schema and a failed upgrade rolls back the code only. A destructive step (drop, rename, type
 * change, a constraint on an existing table) goes in a later release, marked
 * `contract: '<why it is safe once the previous release is gone>'`; an upgrade that runs one needs
 * `carebox upgrade --maintenance-window`. test/unit/server/db/migration.safety.test.ts checks
 * every entry.
 */
import type { Knex } from 'knex';
import * as createPatients from './20261129080000-create-patients.migration.js';
import * as createUsers from './20261129090000-create-users.migration.js';
import * as extendPatients from './20261129090100-extend-patients.migration.js';
import * as createAppointments from './20261129090200-create-appointments.migration.js';
import * as createAuditEvents from './20261129090300-create-audit-events.migration.js';
import * as createJobsTables from './20261129090400-create-jobs-tables.migration.js';
import * as patientNameKeys from './20261207120000-patient-name-keys.migration.js';

/** One migration and the name under which knex records it. */
export interface NamedMigration {
  name: string;
  migration: Knex.Migration;
  /**
   * Set (to the reason) on a contract step: one the previous server version may not work on.
   * Unset means expand, which the unit test verifies from the migration's SQL.
   */
  contract?: string;
}

/** Every migration, oldest first. */
export const MIGRATIONS: readonly NamedMigration[] = [
  { name: '20261129080000_create_patients', migration: createPatients },
  { name: '20261129090000_create_users', migration: createUsers },
  {
    name: '20261129090100_extend_patients',
    migration: extendPatients,
    // Part of the first release: no earlier server version ever ran without it.
    contract: 'drops the first index on patients names and adds a check constraint to patients; shipped with the first release, before any upgrade',
  },
  { name: '20261129090200_create_appointments', migration: createAppointments },
  { name: '20261129090300_create_audit_events', migration: createAuditEvents },
  { name: '20261129090400_create_jobs_tables', migration: createJobsTables },
  { name: '20261207120000_patient_name_keys', migration: patientNameKeys },
];

/** The table knex records applied migrations in. */
export const MIGRATIONS_TABLE = 'knex_migrations';

/** Name of the newest migration; readiness requires it to be applied. */
export const LATEST_MIGRATION: string = MIGRATIONS[MIGRATIONS.length - 1]!.name;

/** knex `migrationSource` over {@link MIGRATIONS}. */
export const migrationSource: Knex.MigrationSource<NamedMigration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m.migration,
};
