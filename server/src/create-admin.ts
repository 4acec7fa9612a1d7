/**
 * Entry of the first-admin CLI: `node dist/server/src/create-admin.js` (the installer runs it once
 * the migrations are applied: `docker compose run --rm backend node dist/server/src/create-admin.js`).
 *
 * Creates the admin user `admin` with a random one-time password, unless an admin exists. Prints
 * exactly ONE JSON line on stdout and nothing else:
 *   {"created":true,"username":"admin","password":"<one-time password>"}   exit 0
 *   {"created":false,"username":"admin"}                                  exit 0
 * The password is shown only there (never logged); the admin must change it at first sign-in.
 * Logs go to stderr. Failures (database unreachable or not migrated, a non-admin user named
 * `admin`): a message on stderr, no stdout, exit 1. A bad environment: exit 1 naming the variables.
 * Uses one database connection; PgBouncer is fine (transaction-scoped lock only).
 */
import { pino } from 'pino';
import { loadConfigOrExit } from './config/load-or-exit.js';
import { createKnex } from './db/knex.factory.js';
import { LATEST_MIGRATION, MIGRATIONS_TABLE } from './db/migrations/index.js';
import { createLogger } from './observability/logger.js';
import { createFirstAdmin } from './users/first-admin.js';
import { shortReason } from './util/with-timeout.js';

const config = loadConfigOrExit('carebox-create-admin');
const logger = createLogger({ level: config.LOG_LEVEL, role: 'create-admin', destination: pino.destination({ dest: 2, sync: true }) });
const db = createKnex(config, { applicationName: 'carebox-create-admin', logger, poolMin: 0, poolMax: 1 });

const fail = async (message: string): Promise<never> => {
  process.stderr.write(`carebox-create-admin: ${message}\n`);
  await db.destroy().catch(() => undefined);
  process.exit(1);
};

try {
  const migrated = (await db.schema.hasTable(MIGRATIONS_TABLE)) && (await db(MIGRATIONS_TABLE).where({ name: LATEST_MIGRATION }).first('id')) !== undefined;
  if (!migrated) await fail('the database is not migrated; run `node dist/server/src/migrate.js` first');
  const result = await createFirstAdmin(db);
  logger.info({ created: result.created, username: result.username }, result.created ? 'first admin created' : 'an admin exists; nothing to do');
  await db.destroy();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (err) {
  logger.error({ err }, 'create-admin failed');
  await fail(shortReason(err));
}
