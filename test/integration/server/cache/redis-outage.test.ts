import { expect } from 'chai';
import request from 'supertest';
import type { RequestContext } from '../../../../server/src/http/request-context.js';
import { appInfo } from '../../../../server/src/app.js';
import { bearer, GOOD_PASSWORD, metricValue, migratedDatabase, signIn, TestApi } from '../support/api.js';
import { eventually, ThrowawayRedis, type TestDatabase } from '../support/services.js';

/**
 * Redis is stopped (SIGKILL, like a crash) while the API runs: patient reads fall back to
 * PostgreSQL, sessions cannot be checked so authenticated routes answer 503 (never 500), /ready
 * says degraded; when Redis comes back (empty) everything recovers on its own.
 */
describe('server Redis outage (integration): reads keep working, nothing answers 500, recovery is automatic', function () {
  this.timeout(120_000);
  let redis: ThrowawayRedis;
  let database: TestDatabase;
  let api: TestApi;
  let ctx: RequestContext;

  before(async () => {
    redis = await ThrowawayRedis.start();
    database = await migratedDatabase('redis_outage');
    api = await TestApi.start('redis_outage', { REDIS_URL: redis.url }, { database });
    ctx = {
      actor: { userId: api.admin.id, username: 'admin', role: 'admin', mustChangePassword: false, sessionId: 'test' },
      ip: '127.0.0.1',
      requestId: 'outage-test',
    };
  });
  after(async () => {
    await api?.close();
    await database?.drop();
    await redis?.stop();
  });

  it('serves patient reads from PostgreSQL during the outage and from the cache again afterwards', async () => {
    const { app } = api;
    const services = appInfo(app).services;
    const patient = await api.createPatient({ givenName: 'Outage' });
    const read = () => request(app).get(`/api/v1/patients/${patient.id}`).set(bearer(api.admin.token));
    expect((await read()).status).to.equal(200);
    expect((await read()).status).to.equal(200);
    const metrics = async () => (await request(app).get('/metrics')).text;
    const hitsBefore = metricValue(await metrics(), 'carebox_cache_hits_total', { cache: 'patient' });
    expect(hitsBefore).to.be.greaterThan(0);

    // A reader keeps going through the whole outage; none of its reads may fail.
    let stop = false;
    let reads = 0;
    const failures: unknown[] = [];
    const reader = (async () => {
      while (!stop) {
        try {
          const p = await services.patients.get(ctx, patient.id);
          if (p.id !== patient.id) failures.push(new Error('wrong patient'));
          reads += 1;
        } catch (err) {
          failures.push(err);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await redis.stop();
    await eventually(async () => ((await request(app).get('/ready')).body.status === 'degraded' ? true : undefined), 10_000, 'readiness to report degraded');
    const ready = await request(app).get('/ready');
    expect(ready.status, 'degraded still routes traffic').to.equal(200);
    expect(ready.body.checks).to.deep.include({ postgres: 'ok' });
    expect(ready.body.checks.redis).to.match(/^down: /);
    expect((await request(app).get('/health')).status).to.equal(200);
    expect((await request(app).get('/metrics')).status).to.equal(200);

    const readsAtOutage = reads;
    await new Promise((r) => setTimeout(r, 1_500));
    expect(reads - readsAtOutage, 'reads continued during the outage').to.be.greaterThan(10);
    const errorsDuring = metricValue(await metrics(), 'carebox_cache_errors_total', { cache: 'patient' });
    expect(errorsDuring, 'reads bypassed the cache').to.be.greaterThan(0);

    // Authenticated routes cannot check the session: 503 with a clear code, fast, never 500.
    const started = Date.now();
    const denied = await read();
    expect(Date.now() - started).to.be.lessThan(1_500);
    expect(denied.status).to.equal(503);
    expect(denied.body.error.code).to.equal('SESSION_STORE_UNAVAILABLE');
    expect(denied.headers['retry-after']).to.equal('5');
    const login = await request(app).post('/api/v1/auth/login').send({ username: 'admin', password: GOOD_PASSWORD });
    expect(login.status).to.equal(503);
    expect(login.body.error.code).to.equal('SESSION_STORE_UNAVAILABLE');

    // A change during the outage: committed, and never served stale afterwards.
    await services.patients.update(ctx, patient.id, { givenName: 'ChangedDuringOutage' });
    expect((await services.patients.get(ctx, patient.id)).givenName).to.equal('ChangedDuringOutage');

    await redis.startAgain();
    await eventually(async () => ((await request(app).get('/ready')).body.status === 'ready' ? true : undefined), 20_000, 'readiness to recover');
    stop = true;
    await reader;
    expect(failures, String(failures[0])).to.have.length(0);

    // Redis came back empty: the old session is gone (401), signing in works again (rate limiter
    // scripts reloaded), and the cache fills and hits again.
    expect((await read()).status).to.equal(401);
    api.admin.token = await eventually(() => signIn(app, 'admin', GOOD_PASSWORD).catch(() => undefined), 10_000, 'sign-in after recovery');
    const fresh = await read();
    expect(fresh.status).to.equal(200);
    expect(fresh.body.givenName).to.equal('ChangedDuringOutage');
    const hits = metricValue(await metrics(), 'carebox_cache_hits_total', { cache: 'patient' });
    expect((await read()).status).to.equal(200);
    expect(metricValue(await metrics(), 'carebox_cache_hits_total', { cache: 'patient' })).to.equal(hits + 1);
    const job = await eventually(() => api.deps.jobs.enqueue('ping', {}).catch(() => undefined), 10_000, 'enqueue after recovery');
    expect(job.type).to.equal('ping');
  });

  it('replays an invalidation that could not be sent, so the stale copy is not served once Redis is reachable again', async () => {
    const { app } = api;
    const services = appInfo(app).services;
    const patient = await api.createPatient({ givenName: 'Stale' });
    await services.patients.get(ctx, patient.id);
    expect((await services.patients.get(ctx, patient.id)).givenName).to.equal('Stale'); // cached now
    // This process loses its connection (Redis itself keeps the cached copy), the patient changes.
    api.deps.redis.disconnect();
    await services.patients.update(ctx, patient.id, { givenName: 'Fresh' });
    await api.deps.redis.connect();
    expect(await api.deps.redis.exists(`${api.deps.config.QUEUE_NAME_PREFIX}:c:patient:${patient.id}`), 'the stale copy is still in Redis').to.equal(1);
    expect((await services.patients.get(ctx, patient.id)).givenName).to.equal('Fresh');
  });
});
