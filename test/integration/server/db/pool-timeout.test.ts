import { expect } from 'chai';
import express from 'express';
import type { Knex } from 'knex';
import request from 'supertest';
import { createLogger } from '../../../../server/src/observability/logger.js';
import { createKnex, poolStats } from '../../../../server/src/db/knex.factory.js';
import { errorHandler } from '../../../../server/src/http/error-handler.middleware.js';
import { createTestDatabase, eventually, testConfig, type TestDatabase } from '../support/services.js';

const silent = createLogger({ level: 'silent', role: 'test' });

describe('server db (integration): pool exhaustion on real PostgreSQL', function () {
  this.timeout(30_000);
  let database: TestDatabase;
  let db: Knex;

  before(async () => {
    database = await createTestDatabase('pool');
    db = createKnex(testConfig({ DATABASE_URL: database.url, DB_POOL_MIN: '0', DB_POOL_MAX: '1', DB_ACQUIRE_TIMEOUT_MS: '300' }), {
      applicationName: 'carebox-test',
      logger: silent,
    });
  });
  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('fails a request fast with 503 + Retry-After when every connection is held (not a 60 s hang)', async () => {
    const app = express();
    app.get('/query', async (_req, res) => {
      const result = await db.raw('select 1 as one');
      res.json({ rows: result.rows });
    });
    app.use(errorHandler({ bodyLimitBytes: 1024 }));

    expect((await request(app).get('/query')).status).to.equal(200);

    // A leaked transaction holds the only connection.
    const trx = await db.transaction();
    try {
      const pending = request(app).get('/query');
      const inFlight = pending.then((r) => r);
      await eventually(async () => (poolStats(db).pendingAcquires === 1 ? true : undefined), 2_000, 'a pending acquire');
      expect(poolStats(db)).to.include({ used: 1, pendingAcquires: 1 });
      const started = Date.now();
      const res = await inFlight;
      expect(Date.now() - started).to.be.lessThan(1_000);
      expect(res.status).to.equal(503);
      expect(res.headers['retry-after']).to.equal('1');
      expect(res.body.error.code).to.equal('DATABASE_BUSY');
    } finally {
      await trx.rollback();
    }
    expect((await request(app).get('/query')).status).to.equal(200);
    expect(poolStats(db).used).to.equal(0);
  });

  it('sends statement_timeout as a startup parameter unless DB_PGBOUNCER', async () => {
    const direct = createKnex(testConfig({ DATABASE_URL: database.url, DB_STATEMENT_TIMEOUT_MS: '1234' }), {
      applicationName: 'carebox-test',
      logger: silent,
    });
    const bouncer = createKnex(testConfig({ DATABASE_URL: database.url, DB_STATEMENT_TIMEOUT_MS: '1234', DB_PGBOUNCER: 'true' }), {
      applicationName: 'carebox-test',
      logger: silent,
    });
    try {
      const a = await direct.raw('show statement_timeout');
      expect(a.rows[0].statement_timeout).to.equal('1234ms');
      const b = await bouncer.raw('show statement_timeout');
      expect(b.rows[0].statement_timeout).to.equal('0');
      const c = await direct.raw('select pg_sleep(2)').then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(c).to.equal('57014');
    } finally {
      await Promise.all([direct.destroy(), bouncer.destroy()]);
    }
  });
});
