/**
 * The transaction runner's retry of aborted transactions. The database is a stand-in object here
 * (a real deadlock needs two colliding sessions; the booking tests under PgBouncer exercise the
 * real path): it only counts attempts and fails the way PostgreSQL does.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { isRetryableAbort, TRANSACTION_ATTEMPTS, transactionRunner } from '../../../../server/src/db/transaction.js';

const config = { DB_PGBOUNCER: false, DB_STATEMENT_TIMEOUT_MS: 0 };
const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

/** A db whose transactions fail with `codes[i]` on attempt i (then succeed). */
function flakyDb(codes: string[]): { db: Pick<Knex, 'transaction'>; attempts: () => number } {
  let n = 0;
  const db = {
    transaction: async (work: (trx: Knex.Transaction) => Promise<unknown>) => {
      const code = codes[n++];
      if (code) throw pgError(code);
      return work({} as Knex.Transaction);
    },
  } as unknown as Pick<Knex, 'transaction'>;
  return { db, attempts: () => n };
}

describe('server db: transactions aborted for a deadlock or a serialization failure run again', () => {
  it('retries 40P01 and 40001, then succeeds', async () => {
    const f = flakyDb(['40P01', '40001']);
    expect(await transactionRunner(f.db, config)(async () => 'done')).to.equal('done');
    expect(f.attempts()).to.equal(3);
  });

  it(`gives up after ${TRANSACTION_ATTEMPTS} attempts with the last error`, async () => {
    const f = flakyDb(['40P01', '40P01', '40P01', '40P01']);
    const err = await transactionRunner(f.db, config)(async () => 'done').catch((e: unknown) => e);
    expect((err as { code: string }).code).to.equal('40P01');
    expect(f.attempts()).to.equal(TRANSACTION_ATTEMPTS);
  });

  it('never retries anything else (a unique violation, a timeout, an application error)', async () => {
    for (const code of ['23505', '23P01', '57014']) {
      const f = flakyDb([code]);
      const err = await transactionRunner(f.db, config)(async () => 'done').catch((e: unknown) => e);
      expect((err as { code: string }).code).to.equal(code);
      expect(f.attempts()).to.equal(1);
    }
    expect(isRetryableAbort(new Error('x'))).to.equal(false);
    expect(isRetryableAbort(null)).to.equal(false);
  });
});
