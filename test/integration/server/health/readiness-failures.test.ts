import { expect } from 'chai';
import request from 'supertest';
import { createApp } from '../../../../server/src/app.js';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { createWebDependencies, type WebDependencies } from '../../../../server/src/lifecycle/web.dependencies.js';
import { createLogger } from '../../../../server/src/observability/logger.js';
import { createTestDatabase, eventually, freePort, testConfig, ThrowawayRedis, type TestDatabase } from '../support/services.js';

const silent = createLogger({ level: 'silent', role: 'test' });

describe('server readiness (integration): a dependency down is named, and recovery is automatic', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  const opened: WebDependencies[] = [];
  const deps = (overrides: Record<string, string>): WebDependencies => {
    const d = createWebDependencies(testConfig({ DATABASE_URL: database.url, ...overrides }), silent, () => undefined);
    opened.push(d);
    return d;
  };

  before(async () => {
    database = await createTestDatabase('readiness');
    const migrator = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent });
    await migrator.migrate.latest();
    await migrator.destroy();
  });
  after(async () => {
    await Promise.all(opened.map((d) => d.close()));
    await database?.drop();
  });

  it('answers 200 degraded naming redis when only Redis is unreachable (reads still work); liveness stays 200', async () => {
    const closedPort = await freePort();
    const app = createApp(deps({ REDIS_URL: `redis://127.0.0.1:${closedPort}` }));
    const started = Date.now();
    const res = await eventually(
      async () => {
        const r = await request(app).get('/ready');
        return String(r.body.checks?.redis).includes('ECONNREFUSED') ? r : undefined;
      },
      5_000,
      'redis reported down with its reason',
    );
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('degraded');
    expect(res.body.checks.postgres).to.equal('ok');
    expect(res.body.checks.redis).to.match(/^down: (reconnecting|connecting|connect|close)/);
    expect(Date.now() - started).to.be.lessThan(5_000);
    expect((await request(app).get('/health')).status).to.equal(200);
  });

  it('answers 503 naming postgres when PostgreSQL is unreachable', async () => {
    const closedPort = await freePort();
    const d = deps({ DATABASE_URL: `postgres://carebox:carebox@127.0.0.1:${closedPort}/carebox` });
    await eventually(async () => (d.redis.status === 'ready' ? true : undefined), 5_000, 'Redis connection');
    const started = Date.now();
    const res = await request(createApp(d)).get('/ready');
    expect(Date.now() - started, 'the check is bounded').to.be.lessThan(1_500);
    expect(res.status).to.equal(503);
    expect(res.body.status).to.equal('not_ready');
    expect(res.body.checks.redis).to.equal('ok');
    expect(res.body.checks.postgres).to.match(/^down: .*ECONNREFUSED/);
  });

  it('survives a Redis crash: readiness says degraded, then recovers on its own, and jobs can be enqueued again', async () => {
    const redis = await ThrowawayRedis.start();
    try {
      const d = deps({ REDIS_URL: redis.url });
      const app = createApp(d);
      await eventually(async () => ((await request(app).get('/ready')).body.status === 'ready' ? true : undefined), 10_000, 'ready');
      await d.jobs.enqueue('ping', {});

      await redis.stop();
      const down = await eventually(
        async () => {
          const r = await request(app).get('/ready');
          return r.body.status === 'degraded' ? r : undefined;
        },
        10_000,
        'readiness to notice the outage',
      );
      expect(down.status).to.equal(200);
      expect(down.body.checks.postgres).to.equal('ok');
      expect(down.body.checks.redis).to.match(/^down: /);
      // Enqueueing fails fast while Redis is away (no hang behind the reconnect).
      const started = Date.now();
      const failed = await d.jobs.enqueue('ping', {}).then(
        () => null,
        (err: unknown) => err,
      );
      expect(failed).to.be.instanceOf(Error);
      expect(Date.now() - started).to.be.lessThan(3_000);

      await redis.startAgain();
      await eventually(async () => ((await request(app).get('/ready')).body.status === 'ready' ? true : undefined), 20_000, 'recovery');
      // Redis lost its script cache in the restart; the producer must have reloaded it.
      const job = await eventually(() => d.jobs.enqueue('ping', {}).catch(() => undefined), 10_000, 'enqueue after restart');
      expect(job.type).to.equal('ping');
    } finally {
      await redis.stop();
    }
  });
});
