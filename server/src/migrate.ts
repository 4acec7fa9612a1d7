/**
 * Entry of the migration CLI: `node dist/server/src/migrate.js`.
 *
 * Applies every pending migration (knex `migrate.latest()`, under knex's migration lock, so two
 * concurrent runs are safe), logs what it applied, exits 0. Running it again applies nothing and
 * exits 0. On failure it prints the reason to stderr and exits 1 (the failed migration's
 * transaction is rolled back). Uses one database connection and no statement timeout. Connect it
 * to PostgreSQL directly, not through PgBouncer, as the owner role. With DATABASE_APP_ROLE set it
 * then grants that role its privileges on every table (db/db.privileges.ts).
 *
 * knex runs every pending migration of one run in a single transaction: all apply, or none.
 * Migrations recorded in the database that this version does not know (a newer version applied
 * them, and its upgrade was rolled back to this code) are expected: they are additive, so this
 * version works on the expanded schema. They are logged and left alone.
 */
import { describeTargets } from './config/env.config.js';
import { loadConfigOrExit } from './config/load-or-exit.js';
import { grantAppPrivileges } from './db/db.privileges.js';
import { createKnex } from './db/knex.factory.js';
import { MIGRATIONS } from './db/migrations/index.js';
import { createLogger } from './observability/logger.js';
import { shortReason } from './util/with-timeout.js';

const config = loadConfigOrExit('carebox-migrate');
const logger = createLogger({ level: config.LOG_LEVEL, role: 'migrate' });
const db = createKnex(config, { applicationName: 'carebox-migrate', logger, poolMin: 0, poolMax: 1, statementTimeoutMs: 0 });

try {
  const known = new Set(MIGRATIONS.map((m) => m.name));
  const [completed] = (await db.migrate.list()) as [{ name: string }[], unknown[]];
  const newer = completed.map((c) => c.name).filter((n) => !known.has(n));
  if (newer.length > 0)
    logger.warn({ newer }, `${newer.length} migration(s) applied by a newer Carebox version are kept; this version runs on the expanded schema`);
  const [batch, applied] = (await db.migrate.latest()) as [number, string[]];
  if (applied.length === 0) logger.info({ database: describeTargets(config).database }, 'database already up to date');
  else logger.info({ batch, applied, database: describeTargets(config).database }, `applied ${applied.length} migration(s)`);
  if (config.DATABASE_APP_ROLE) {
    const tables = await grantAppPrivileges(db, config.DATABASE_APP_ROLE);
    logger.info({ appRole: config.DATABASE_APP_ROLE, tables }, 'application role privileges granted');
  }
  await db.destroy();
  process.exit(0);
} catch (err) {
  logger.error({ err }, 'migration failed');
  process.stderr.write(`carebox-migrate: migration failed: ${shortReason(err)}\n`);
  await db.destroy().catch(() => undefined);
  process.exit(1);
}
