/**
 * Transactions that are safe behind PgBouncer in transaction mode.
 *
 * Directly connected, every session already carries `statement_timeout` (a startup parameter, see
 * knex.factory.ts). Behind PgBouncer no session state may be set, so each transaction sets the
 * timeout for itself with `SET LOCAL`, which ends with the transaction and never leaks to the next
 * client of the same server connection.
 */
import type { Knex } from 'knex';
import type { Config } from '../config/env.config.js';

/** Runs `work` in a transaction of `db`: commits when it resolves, rolls back when it throws. */
export type TransactionRunner = <T>(work: (trx: Knex.Transaction) => Promise<T>) => Promise<T>;

/** Attempts of one transaction when PostgreSQL aborts it for a deadlock or a serialization failure. */
export const TRANSACTION_ATTEMPTS = 3;

/**
 * True for the SQLSTATEs after which PostgreSQL expects the client to run the whole transaction
 * again: 40P01 deadlock_detected, 40001 serialization_failure (PostgreSQL docs, "Transaction
 * Isolation": applications "must be prepared to retry transactions" that fail this way).
 */
export function isRetryableAbort(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/**
 * A transaction runner for `db`. A transaction PostgreSQL aborted for a deadlock or a
 * serialization failure ran nothing (it was rolled back), so it is run again, up to
 * {@link TRANSACTION_ATTEMPTS} times with a short random pause (5–25 ms, so the colliding
 * transactions do not meet again); then the error goes to the caller (503 TRANSACTION_CONFLICT).
 * `work` must touch only `trx` (the same holds for a client retrying a 503).
 * @param config DB_PGBOUNCER and DB_STATEMENT_TIMEOUT_MS decide whether `SET LOCAL statement_timeout` is sent.
 */
export function transactionRunner(db: Pick<Knex, 'transaction'>, config: Pick<Config, 'DB_PGBOUNCER' | 'DB_STATEMENT_TIMEOUT_MS'>): TransactionRunner {
  const setLocal = config.DB_PGBOUNCER && config.DB_STATEMENT_TIMEOUT_MS > 0;
  const once = <T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
    db.transaction(async (trx) => {
      // An integer we produced ourselves: safe to inline (SET takes no bind parameters).
      if (setLocal) await trx.raw(`set local statement_timeout = ${Math.trunc(config.DB_STATEMENT_TIMEOUT_MS)}`);
      return work(trx);
    });
  return async <T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(work);
      } catch (err) {
        if (attempt >= TRANSACTION_ATTEMPTS || !isRetryableAbort(err)) throw err;
        await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 20)));
      }
    }
  };
}
