/**
 * Builds the knex (pg) instance for a process from the validated config.
 *
 * PgBouncer (DB_PGBOUNCER=true, transaction mode) shapes what we may send: no session state, so no
 * startup `statement_timeout` and no session `SET`/`LISTEN`; and no named prepared statements
 * (knex never names them; code in this server must not pass `name` to pg queries either). A
 * statement timeout under PgBouncer belongs on the role (`ALTER ROLE … SET statement_timeout`) or
 * inside a transaction (`SET LOCAL`).
 */
import knex, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/env.config.js';
import { MIGRATIONS_TABLE, migrationSource } from './migrations/index.js';

// A SQL `date` (birth dates, report days) is a calendar day, not an instant: keep it as the
// 'YYYY-MM-DD' text PostgreSQL sends instead of pg's default local-midnight Date, which shifts the
// day in time zones west of UTC.
pg.types.setTypeParser(pg.types.builtins.DATE, (value: string) => value);

/** Per-process overrides of the config-derived settings. */
export interface KnexFactoryOptions {
  /** Shown in `pg_stat_activity.application_name`, e.g. `carebox-web`. */
  applicationName: string;
  /**
   * Receives knex's own messages instead of the console. Its per-acquire connection errors go to
   * debug: the failing query rejects and its caller reports the error once.
   */
  logger: Logger<string>;
  /** Overrides DB_POOL_MIN (e.g. the migrate CLI uses 0). */
  poolMin?: number;
  /** Overrides DB_POOL_MAX (e.g. the migrate CLI uses 1). */
  poolMax?: number;
  /** Overrides DB_STATEMENT_TIMEOUT_MS, in ms; 0 disables it (migrations may build big indexes). */
  statementTimeoutMs?: number;
}

/**
 * Creates a knex instance. It connects lazily (on first query), so this never throws for an
 * unreachable database; the first query rejects instead, after at most DB_ACQUIRE_TIMEOUT_MS.
 *
 * Pool: min/max from DB_POOL_MIN/DB_POOL_MAX; a request waits at most DB_ACQUIRE_TIMEOUT_MS for a
 * connection, then gets a KnexTimeoutError (mapped to 503 + Retry-After).
 *
 * @returns a knex instance; call `destroy()` to close its pool.
 */
export function createKnex(config: Config, options: KnexFactoryOptions): Knex {
  const statementTimeoutMs = options.statementTimeoutMs ?? config.DB_STATEMENT_TIMEOUT_MS;
  const log = options.logger.child({ component: 'knex' });
  const connection: Knex.PgConnectionConfig & { statement_timeout?: number; connectionTimeoutMillis?: number } = {
    ...config.database,
    application_name: options.applicationName,
    // TCP connect + startup bounded like a pool acquire, so a black-holed host fails fast too.
    connectionTimeoutMillis: config.DB_ACQUIRE_TIMEOUT_MS,
  };
  if (!config.DB_PGBOUNCER && statementTimeoutMs > 0) {
    // Sent as a startup parameter: no extra round trip, applies to the whole session.
    connection.statement_timeout = statementTimeoutMs;
  }
  return knex({
    client: 'pg',
    connection,
    acquireConnectionTimeout: config.DB_ACQUIRE_TIMEOUT_MS,
    pool: {
      min: options.poolMin ?? config.DB_POOL_MIN,
      max: options.poolMax ?? config.DB_POOL_MAX,
      acquireTimeoutMillis: config.DB_ACQUIRE_TIMEOUT_MS,
      createTimeoutMillis: config.DB_ACQUIRE_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      // An unreachable database fails the waiting acquire at once instead of after the timeout.
      propagateCreateError: true,
    },
    // A failed upgrade rolls back the code only and keeps the new version's (additive) migrations:
    // this version must then run on a schema ahead of it, and `migrate` must still apply its own
    // pending steps instead of calling the directory "corrupt" for names it does not know.
    migrations: { migrationSource, tableName: MIGRATIONS_TABLE, disableMigrationsListValidation: true },
    log: {
      debug: (message: unknown) => log.debug({ knex: String(message) }, 'knex debug'),
      error: (message: unknown) => log.debug({ knex: firstLine(message) }, 'knex reported an error'),
      warn: (message: unknown) => log.warn({ knex: firstLine(message) }, 'knex warning'),
      deprecate: (method: string, alternative: string) => log.warn({ method, alternative }, 'knex deprecation'),
    },
  });
}

/** First line of a knex log message (they embed stack traces). */
function firstLine(message: unknown): string {
  return String(message instanceof Error ? message.message : message).split('\n')[0] ?? '';
}

/** Connection counts of a knex pool, for the metrics gauges. */
export interface PoolStats {
  /** Connections checked out by queries or transactions. */
  used: number;
  /** Open connections idle in the pool. */
  free: number;
  /** Acquire requests waiting for a connection. */
  pendingAcquires: number;
  /** Connections being opened. */
  pendingCreates: number;
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/**
 * Reads the pool counters of a knex instance (tarn under the hood).
 * @returns all zeros when the pool does not exist (destroyed, or never initialised).
 */
export function poolStats(db: Knex): PoolStats {
  const pool = (db.client as { pool?: TarnPool | null }).pool;
  if (!pool) return { used: 0, free: 0, pendingAcquires: 0, pendingCreates: 0 };
  return {
    used: pool.numUsed(),
    free: pool.numFree(),
    pendingAcquires: pool.numPendingAcquires(),
    pendingCreates: pool.numPendingCreates(),
  };
}
