import { expect } from 'chai';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import request from 'supertest';
import { createApp } from '../../../server/src/app.js';
import { createKnex } from '../../../server/src/db/knex.factory.js';
import { createWebDependencies, type WebDependencies } from '../../../server/src/lifecycle/web.dependencies.js';
import { createLogger } from '../../../server/src/observability/logger.js';
import { createTestDatabase, eventually, testConfig, type TestDatabase } from './support/services.js';

const silent = createLogger({ level: 'silent', role: 'test' });

/** Builds the real dependencies for `databaseUrl` and waits until Redis is connected. */
async function webDeps(overrides: Record<string, string>, logger: Logger<string> = silent): Promise<WebDependencies> {
  const deps = createWebDependencies(testConfig(overrides), logger, () => undefined);
  await eventually(async () => (deps.redis.status === 'ready' ? true : undefined), 5_000, 'Redis connection');
  return deps;
}

describe('server app (integration): real PostgreSQL and Redis', function () {
  this.timeout(30_000);
  let database: TestDatabase;
  let deps: WebDependencies;

  before(async () => {
    database = await createTestDatabase('app');
    const migrator = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent });
    await migrator.migrate.latest();
    await migrator.destroy();
    deps = await webDeps({ DATABASE_URL: database.url, BODY_LIMIT_BYTES: '2048' });
  });
  after(async () => {
    await deps?.close();
    await database?.drop();
  });

  it('GET /health answers 200 {status:"ok"} with a request id and security headers', async () => {
    const res = await request(createApp(deps)).get('/health');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
    expect(res.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers).not.to.have.property('x-powered-by');
    // HSTS comes from the edge only (nginx, over TLS): the app never sends it, not even behind TLS.
    expect(res.headers).not.to.have.property('strict-transport-security');
    const proxied = await request(createApp(deps)).get('/api/v1/patients').set('X-Forwarded-Proto', 'https');
    expect(proxied.headers).not.to.have.property('strict-transport-security');
  });

  it('GET /ready answers 200 with postgres and redis ok', async () => {
    const res = await request(createApp(deps)).get('/ready');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    expect(res.headers['cache-control']).to.equal('no-store');
  });

  it('GET /metrics exposes pool gauges, queue depths, HTTP metrics by route and process metrics', async () => {
    const app = createApp(deps);
    const counter = (text: string, route: string, status: number): number => {
      const re = new RegExp(`^carebox_http_requests_total\\{method="GET",route="${route}",status_code="${status}"\\} (\\d+)$`, 'm');
      return Number(re.exec(text)?.[1] ?? 0);
    };
    const beforeText = (await request(app).get('/metrics')).text;
    await request(app).get('/health');
    await request(app).get('/no/such/route');
    const res = await request(app).get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/plain/);
    const text = res.text;
    for (const gauge of ['carebox_db_pool_used', 'carebox_db_pool_free', 'carebox_db_pool_pending', 'carebox_db_pool_max']) {
      expect(text).to.match(new RegExp(`^${gauge} \\d+$`, 'm'));
    }
    expect(text).to.match(/^carebox_db_pool_max 10$/m);
    expect(text).to.match(/^carebox_queue_jobs\{queue="system",state="waiting"\} \d+$/m);
    expect(counter(text, '/health', 200)).to.equal(counter(beforeText, '/health', 200) + 1);
    expect(counter(text, 'unmatched', 404)).to.equal(counter(beforeText, 'unmatched', 404) + 1);
    expect(text).to.match(/^carebox_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/health",status_code="200"\} \d+$/m);
    expect(text).to.match(/^process_resident_memory_bytes \d+/m);
    expect(text).not.to.include('/no/such/route');
  });

  it('keeps metrics per app instance (one Registry each)', async () => {
    const other = await webDeps({ DATABASE_URL: database.url });
    try {
      await request(createApp(deps)).get('/health');
      const res = await request(createApp(other)).get('/metrics');
      expect(res.text).not.to.match(/carebox_http_requests_total\{method="GET",route="\/health"/);
    } finally {
      await other.close();
    }
  });

  it('answers unknown routes with 404 JSON; reads no body before authentication; bodies over the limit 413, bad JSON 400', async () => {
    const app = createApp(deps);
    const missing = await request(app).get('/api/v1/nothing');
    expect(missing.status).to.equal(404);
    expect(missing.body.error.code).to.equal('NOT_FOUND');

    // Issue 10 item 1: without a session the body of a protected route is never read or parsed.
    const unauthenticated = await request(app).post('/api/v1/patients').set('Content-Type', 'application/json').send('{"mrn":');
    expect(unauthenticated.status).to.equal(401);

    // The public sign-in route reads at most min(4 KiB, BODY_LIMIT_BYTES = 2048).
    const big = await request(app)
      .post('/api/v1/auth/login')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ username: 'x', password: 'x'.repeat(5000) }));
    expect(big.status).to.equal(413);
    expect(big.body.error.code).to.equal('PAYLOAD_TOO_LARGE');
    expect(big.body.error.message).to.match(/2048 bytes/);

    const bad = await request(app).post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"username":');
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal('INVALID_JSON');
  });

  it('echoes a sane incoming X-Request-Id (nginx $request_id)', async () => {
    const res = await request(createApp(deps)).get('/health').set('X-Request-Id', 'a1b2c3d4e5f60718293a4b5c6d7e8f90');
    expect(res.headers['x-request-id']).to.equal('a1b2c3d4e5f60718293a4b5c6d7e8f90');
  });

  it('logs one line per request with the client address from X-Forwarded-For (TRUST_PROXY=1), no query, no body', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
        done();
      },
    });
    const logged = await webDeps({ DATABASE_URL: database.url }, createLogger({ level: 'info', role: 'test', destination }));
    try {
      await request(createApp(logged))
        .post('/api/v1/patients?family=Lovelace')
        .set('X-Forwarded-For', '203.0.113.7')
        .set('Authorization', 'Bearer top-secret-token')
        .send({ mrn: 'MRN-LOG-1', password: 'hunter2' });
      const line = lines.find((l) => (l.req as { path?: string } | undefined)?.path === '/api/v1/patients');
      expect(line, JSON.stringify(lines)).to.not.equal(undefined);
      expect(line!.req).to.include({ method: 'POST', remoteAddress: '203.0.113.7' });
      const text = JSON.stringify(lines);
      for (const leaked of ['Lovelace', 'MRN-LOG-1', 'hunter2', 'top-secret-token']) expect(text).not.to.include(leaked);
      // The console's /metrics scrapes (every few seconds) stay out of the request log; other
      // requests are logged.
      const app = createApp(logged);
      for (let i = 0; i < 3; i++) expect((await request(app).get('/metrics')).status).to.equal(200);
      await request(app).get('/health').set('X-Request-Id', 'health-after-scrapes-1');
      await eventually(
        async () => (lines.some((l) => (l.req as { id?: string }).id === 'health-after-scrapes-1') ? true : undefined),
        5_000,
        'the /health line',
      );
      expect(lines.filter((l) => (l.req as { path?: string }).path === '/metrics')).to.deep.equal([]);
    } finally {
      await logged.close();
    }
  });

  it('answers 503 shutting_down once shutdown has begun, and asks clients to close the connection', async () => {
    const local = await webDeps({ DATABASE_URL: database.url });
    try {
      const app = createApp(local);
      expect((await request(app).get('/ready')).status).to.equal(200);
      local.readiness.beginShutdown();
      const res = await request(app).get('/ready');
      expect(res.status).to.equal(503);
      expect(res.body).to.deep.equal({ status: 'shutting_down' });
      expect(res.headers.connection).to.equal('close');
      expect((await request(app).get('/health')).status).to.equal(200);
    } finally {
      await local.close();
    }
  });
});

describe('server app (integration): readiness requires the latest migration', function () {
  this.timeout(30_000);
  let database: TestDatabase;
  let deps: WebDependencies;

  before(async () => {
    database = await createTestDatabase('unmigrated');
    deps = await webDeps({ DATABASE_URL: database.url });
  });
  after(async () => {
    await deps?.close();
    await database?.drop();
  });

  it('answers 503 naming postgres until migrate has run, then 200', async () => {
    const app = createApp(deps);
    const before = await request(app).get('/ready');
    expect(before.status).to.equal(503);
    expect(before.body.status).to.equal('not_ready');
    expect(before.body.checks).to.deep.equal({ postgres: 'down: schema not migrated (run migrate)', redis: 'ok' });

    await deps.db.migrate.latest();
    const after = await request(app).get('/ready');
    expect(after.status).to.equal(200);
  });
});
