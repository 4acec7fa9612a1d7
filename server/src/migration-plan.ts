/**
 * Entry `node dist/server/src/migration-plan.js`: prints, as one JSON document on stdout, every
 * migration this server image carries with its expand/contract classification
 * (db/migrations/migration.safety.ts). Needs no database and no environment: `carebox upgrade`
 * runs it in the *new* image (`docker run --network none`) before anything changes, compares the
 * names with `knex_migrations`, and so knows whether the pending steps are additive (a failed
 * upgrade then rolls back the code only) or contain a contract step (a maintenance window).
 *
 * Output: `{ "migrations": [{ "name", "phase": "expand"|"contract", "declared", "findings" }] }`.
 * Exit 0; 1 when classification itself fails (the caller then treats every pending step as contract).
 */
import { MIGRATIONS } from './db/migrations/index.js';
import { classifyMigrations } from './db/migrations/migration.safety.js';

try {
  const safety = await classifyMigrations(MIGRATIONS);
  process.stdout.write(`${JSON.stringify({ migrations: safety.map(({ name, phase, declared, findings }) => ({ name, phase, declared, findings })) })}\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`carebox-migration-plan: ${(err as Error).message}\n`);
  process.exit(1);
}
