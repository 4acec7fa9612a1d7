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

/**
 * A transaction runner for `db`.
 * @param config DB_PGBOUNCER and DB_STATEMENT_TIMEOUT_MS decide whether `SET LOCAL statement_timeout` is sent.
 */
export function transactionRunner(db: Knex, config: Pick<Config, 'DB_PGBOUNCER' | 'DB_STATEMENT_TIMEOUT_MS'>): TransactionRunner {
  const setLocal = config.DB_PGBOUNCER && config.DB_STATEMENT_TIMEOUT_MS > 0;
  return <T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> =>
    db.transaction(async (trx) => {
      // An integer we produced ourselves: safe to inline (SET takes no bind parameters).
      if (setLocal) await trx.raw(`set local statement_timeout = ${Math.trunc(config.DB_STATEMENT_TIMEOUT_MS)}`);
      return work(trx);
    });
}
