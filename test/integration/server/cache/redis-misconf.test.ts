import { expect } from 'chai';
import request from 'supertest';
import { toHttpError } from '../../../../server/src/http/error-mapping.js';
import { bearer, GOOD_PASSWORD, migratedDatabase, signIn, TestApi } from '../support/api.js';
import { eventually, ThrowawayRedis, type TestDatabase } from '../support/services.js';

/**
 * Issue 13 item 5: Redis refuses writes after a failed background save (MISCONF: the disk is full,
 * or the fork was refused under a strict vm.overcommit_memory). Reproduced for real: a
 * redis-server with a save point whose working directory is /proc, where no file can be created,
 * so BGSAVE fails and `stop-writes-on-bgsave-error` (the default) stops writes. The API must answer
 * 503 with Retry-After (never a 500, never a 2xx that was not stored), and recover once Redis
 * writes again.
 */
describe('server Redis refusing writes (integration): MISCONF answers 503 + Retry-After, never 500, and recovers', function () {
  this.timeout(120_000);
  let redis: ThrowawayRedis;
  let database: TestDatabase;
  let api: TestApi;

  before(async () => {
    redis = await ThrowawayRedis.start(['--save', '3600 1', '--dir', '/proc']);
    database = await migratedDatabase('redis_misconf');
    api = await TestApi.start('redis_misconf', { REDIS_URL: redis.url }, { database });
  });
  after(async () => {
    await api?.close();
    await database?.drop();
    await redis?.stop();
  });

  it('sign-in, reads, writes and the job queue get 503 with Retry-After (never 500, nothing half-stored) while Redis refuses writes; it all works again after', async () => {
    expect(await redis.command('BGSAVE')).to.match(/^\+Background saving started/);
    await eventually(
      async () => ((await redis.command('INFO persistence')).includes('rdb_last_bgsave_status:err') ? true : undefined),
      10_000,
      'the background save to fail',
    );
    expect(await redis.command('SET probe 1')).to.match(/^-MISCONF/);

    const refused = await request(api.app).post('/api/v1/auth/login').send({ username: 'admin', password: GOOD_PASSWORD });
    expect(refused.status, JSON.stringify(refused.body)).to.equal(503);
    expect(refused.body.error.code).to.be.oneOf(['SESSION_STORE_UNAVAILABLE', 'STORE_REFUSES_WRITES']);
    expect(refused.headers['retry-after']).to.be.a('string');
    // Every authenticated request checks (and slides) its session in Redis: the API degrades to
    // 503 + Retry-After as a whole, never a 500, and a refused write stores nothing.
    const patient = await request(api.app)
      .post('/api/v1/patients')
      .set(bearer(api.admin.token))
      .send({ mrn: 'MISCONF-1', givenName: 'A', familyName: 'B', birthDate: '1990-01-01', sex: 'unknown' });
    const reads = await request(api.app).get('/api/v1/patients?limit=5').set(bearer(api.admin.token));
    for (const [what, r] of [
      ['write', patient],
      ['read', reads],
    ] as const) {
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).to.be.oneOf(what === 'read' ? [200, 503] : [201, 503]);
      if (r.status === 503) expect(r.headers['retry-after'], what).to.be.a('string');
    }
    const stored = Number((await api.deps.db('patients').where({ mrn: 'MISCONF-1' }).count<{ count: string }[]>({ count: '*' }))[0]!.count);
    expect(stored, 'a 201 is stored, a 503 is not').to.equal(patient.status === 201 ? 1 : 0);
    // The job queue refuses too: enqueueing (what a booking does for its reminder) maps to 503, not 500.
    const enqueue = await api.deps.jobs.enqueue('ping', {}).then(
      () => null,
      (e: unknown) => e,
    );
    expect(enqueue, 'enqueue under MISCONF').to.be.instanceOf(Error);
    const mapped = toHttpError(enqueue, { bodyLimitBytes: 1024 });
    expect(mapped.status, String(enqueue)).to.equal(503);
    expect(mapped.code).to.equal('STORE_REFUSES_WRITES');
    expect(mapped.retryAfterSeconds).to.equal(30);

    // The operator fixes the disk: writes resume once Redis accepts them again.
    await redis.command('CONFIG SET stop-writes-on-bgsave-error no');
    const token = await signIn(api.app, 'admin', GOOD_PASSWORD);
    expect(token).to.be.a('string');
  });
});
