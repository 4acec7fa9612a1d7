import { expect } from 'chai';
import request from 'supertest';
import { appInfo } from '../../../../server/src/app.js';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { PgBouncerSelfCheckError, runPgBouncerSelfCheck } from '../../../../server/src/db/pgbouncer.self-check.js';
import { transactionRunner } from '../../../../server/src/db/transaction.js';
import { bearer, migratedDatabase, silent, TestApi } from '../support/api.js';
import { TestPgBouncer } from '../support/pgbouncer.js';
import { freePort, serverEnv, testConfig, type TestDatabase } from '../support/services.js';
import { SpawnedProcess } from '../support/spawned-process.js';

/**
 * The server behind a real PgBouncer in transaction mode (DB_PGBOUNCER=true) with a server pool
 * smaller than the app's: every request's statements may land on a different server connection,
 * so any session state or named prepared statement would break here.
 */
describe('server behind PgBouncer (integration): transaction pooling with a real pgbouncer', function () {
  this.timeout(120_000);
  let bouncer: TestPgBouncer;
  let database: TestDatabase;
  let api: TestApi;

  before(async function () {
    if (!TestPgBouncer.available()) throw new Error('pgbouncer is not installed: apt-get install pgbouncer');
    bouncer = await TestPgBouncer.start(2);
    database = await migratedDatabase('pgbouncer');
    api = await TestApi.start('pgbouncer', { DB_PGBOUNCER: 'true', DB_POOL_MAX: '8', DATABASE_URL: bouncer.url(database.name) }, { database });
  });
  after(async () => {
    await api?.close();
    await database?.drop();
    await bouncer?.stop();
  });

  it('passes the start-up self-check through the pooler', async () => {
    await runPgBouncerSelfCheck(api.deps.config);
  });

  it('serves the whole API with 8 app connections multiplexed onto 2 server connections', async () => {
    const admin = bearer(api.admin.token);
    const clinician = await api.createUser('clinician');
    const patients = await Promise.all(Array.from({ length: 12 }, () => api.createPatient()));
    const slot = { patientId: patients[0]!.id, clinicianId: clinician.id, startsAt: '2038-01-01T09:00:00Z', endsAt: '2038-01-01T09:30:00Z' };
    const bookings = await Promise.all(Array.from({ length: 6 }, () => api.book(slot)));
    expect(bookings.map((b) => b.status).sort(), JSON.stringify(bookings.map((b) => b.body?.error?.code ?? b.status))).to.deep.equal([
      201, 409, 409, 409, 409, 409,
    ]);
    const reads = await Promise.all(
      patients.flatMap((p) => [request(api.app).get(`/api/v1/patients/${p.id}`).set(admin), request(api.app).get('/api/v1/patients?q=hopper').set(admin)]),
    );
    expect(
      reads.every((r) => r.status === 200),
      JSON.stringify(reads.find((r) => r.status !== 200)?.body),
    ).to.equal(true);
    const audit = await request(api.app).get(`/api/v1/audit-events?patientId=${patients[0]!.id}`).set(admin);
    expect(audit.body.items.length).to.be.greaterThan(2);
    expect((await request(api.app).get('/ready')).body).to.deep.equal({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    expect(appInfo(api.app).routes.length).to.be.greaterThan(20);
  });

  it('bounds statements with SET LOCAL inside transactions, which never leaks to the next client of the server connection', async () => {
    const config = testConfig({ DATABASE_URL: bouncer.url(database.name), DB_PGBOUNCER: 'true', DB_STATEMENT_TIMEOUT_MS: '300' });
    const db = createKnex(config, { applicationName: 'carebox-test', logger: silent });
    try {
      const transaction = transactionRunner(db, config);
      const code = await transaction((trx) => trx.raw('select pg_sleep(1)')).then(
        () => null,
        (e: { code?: string }) => e.code,
      );
      expect(code).to.equal('57014');
      for (let i = 0; i < 4; i += 1) {
        const show = await db.raw('show statement_timeout');
        expect(show.rows[0].statement_timeout).to.equal('0');
      }
    } finally {
      await db.destroy();
    }
  });

  it('needs DB_PGBOUNCER=true: the session-level statement_timeout of a direct connection is refused by PgBouncer', async () => {
    const direct = createKnex(testConfig({ DATABASE_URL: bouncer.url(database.name), DB_PGBOUNCER: 'false' }), {
      applicationName: 'carebox-test',
      logger: silent,
    });
    try {
      const message = await direct.raw('select 1').then(
        () => null,
        (e: Error) => e.message,
      );
      expect(message).to.match(/unsupported startup parameter: statement_timeout/);
    } finally {
      await direct.destroy();
    }
  });

  it('fails the self-check with a clear message: at once for a refused login, after retries for an unreachable pooler', async () => {
    const refused = testConfig({ DATABASE_URL: bouncer.url(database.name, 'nobody'), DB_PGBOUNCER: 'true' });
    const started = Date.now();
    const err = await runPgBouncerSelfCheck(refused).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PgBouncerSelfCheckError);
    expect((err as Error).message).to.match(/^PgBouncer self-check failed: .+DB_PGBOUNCER=true means DATABASE_\* must point at PgBouncer/);
    expect(Date.now() - started, 'not retried').to.be.lessThan(2_000);

    const closed = testConfig({ DATABASE_URL: `postgres://carebox:carebox@127.0.0.1:${await freePort()}/x`, DB_PGBOUNCER: 'true' });
    const unreachable = await runPgBouncerSelfCheck(closed, { attempts: 2, retryDelayMs: 100 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((unreachable as Error).message).to.match(/ECONNREFUSED/);
  });

  it('stops the web server at start (exit 1, reason on stderr) when the self-check fails', async () => {
    const env = serverEnv({ DATABASE_URL: bouncer.url(database.name, 'nobody'), DB_PGBOUNCER: 'true', PORT: String(await freePort()) });
    const server = SpawnedProcess.start('main', env);
    try {
      expect((await server.exited).code, server.describe()).to.equal(1);
      expect(server.stderr).to.match(/^carebox-server: PgBouncer self-check failed: /m);
    } finally {
      await server.stop();
    }
  });
});
