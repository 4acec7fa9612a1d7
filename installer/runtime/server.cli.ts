/**
 * The server image's own programs, and how one-off runs of them reach PostgreSQL. Every caller
 * (install, upgrade, restore, demo data, the load test, the migration plan) names them from here.
 */

/** Scripts inside the server image (its WORKDIR), run as `node <script>`. */
export const SERVER_SCRIPTS = {
  /** The API (cluster primary + web workers). */
  main: 'dist/server/src/main.js',
  /** Apply pending migrations (needs the owner role: db.roles.ts `migrationEnv`). */
  migrate: 'dist/server/src/migrate.js',
  /** Create the first admin; prints one JSON line. */
  createAdmin: 'dist/server/src/create-admin.js',
  /** Synthetic patients, clinicians and users for a tenant (`--remove --tenant T` deletes them). */
  demoData: 'dist/server/src/demo-data.js',
  /** The pending migrations and their contract/expand kind, as JSON, without touching a database. */
  migrationPlan: 'dist/server/src/migration-plan.js',
} as const;

/** The command line of a server script with its arguments: `['node', script, ...args]`. Pure. */
export function serverCommand(script: keyof typeof SERVER_SCRIPTS, args: readonly string[] = []): string[] {
  return ['node', SERVER_SCRIPTS[script], ...args];
}

/**
 * Environment of a one-off server command: straight to PostgreSQL, never through PgBouncer
 * (migrations take session-level locks; demo data and the first admin run long transactions).
 */
export const DIRECT_DB_ENV = { DATABASE_HOST: 'db', DATABASE_PORT: '5432', DB_PGBOUNCER: 'false' } as const;
