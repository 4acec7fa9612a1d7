/**
 * Start-up self-check for DB_PGBOUNCER=true: runs one transaction through the pooler the way the
 * server will (BEGIN; SET LOCAL …; SELECT …; COMMIT) on a connection of its own, so a wrong pooler
 * address, bad credentials or a pooler that cannot run transactions stops the process at start
 * with a clear message instead of failing requests later.
 */
import pg from 'pg';
import type { Config } from '../config/env.config.js';
import { shortReason } from '../util/with-timeout.js';

/** Thrown when the self-check fails; the message says what failed and what to check. */
export class PgBouncerSelfCheckError extends Error {
  constructor(reason: string, cause?: unknown) {
    super(
      `PgBouncer self-check failed: ${reason}. DB_PGBOUNCER=true means DATABASE_* must point at PgBouncer ` +
        '(pool_mode = transaction) and PgBouncer must reach PostgreSQL with these credentials.',
      cause === undefined ? undefined : { cause },
    );
    this.name = 'PgBouncerSelfCheckError';
  }
}

/** Options of {@link runPgBouncerSelfCheck}. */
export interface SelfCheckOptions {
  /** Attempts while the pooler is not reachable yet (a container still starting). Default 5. */
  attempts?: number;
  /** Pause between attempts, in ms. Default 2000. */
  retryDelayMs?: number;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', '57P03']);

/**
 * Runs the check. Connection errors are retried (the pooler may still be starting); anything else
 * (authentication, a pooler that rejects the transaction) fails at once.
 * @throws PgBouncerSelfCheckError naming the reason.
 */
export async function runPgBouncerSelfCheck(config: Config, options: SelfCheckOptions = {}): Promise<void> {
  const attempts = options.attempts ?? 5;
  const delayMs = options.retryDelayMs ?? 2_000;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    try {
      await checkOnce(config);
      return;
    } catch (err) {
      last = err;
      const code = (err as { code?: unknown }).code;
      const retryable = (typeof code === 'string' && CONNECTION_CODES.has(code)) || /timeout/i.test(shortReason(err));
      if (!retryable || attempt === attempts) break;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  throw new PgBouncerSelfCheckError(shortReason(last), last);
}

async function checkOnce(config: Config): Promise<void> {
  const client = new pg.Client({
    ...config.database,
    application_name: 'carebox-selfcheck',
    connectionTimeoutMillis: config.DB_ACQUIRE_TIMEOUT_MS,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`set local statement_timeout = ${Math.max(1_000, Math.trunc(config.DB_STATEMENT_TIMEOUT_MS) || 5_000)}`);
    const result = await client.query<{ one: number }>('select 1 as one');
    await client.query('commit');
    if (result.rows[0]?.one !== 1) throw new Error('the pooler answered SELECT 1 with an unexpected result');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}
