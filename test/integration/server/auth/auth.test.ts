import { expect } from 'chai';
import request from 'supertest';
import { sessionIdOf } from '../../../../server/src/auth/session.store.js';
import { bearer, GOOD_PASSWORD, migratedDatabase, signIn, TestApi } from '../support/api.js';
import { uniqueSuffix, type TestDatabase } from '../support/services.js';

describe('server auth (integration): sign-in, sessions, throttling, rate limit', function () {
  this.timeout(60_000);
  let api: TestApi;

  before(async () => {
    api = await TestApi.start('auth', {
      LOGIN_CLIENT_MAX_ATTEMPTS: '3',
      LOGIN_THROTTLE_WINDOW_SECONDS: '60',
      LOGIN_ACCOUNT_DELAY_AFTER: '2',
      LOGIN_ACCOUNT_DELAY_STEP_MS: '150',
      LOGIN_ACCOUNT_MAX_DELAY_MS: '450',
    });
  });
  after(async () => {
    await api?.close();
  });

  it('answers a wrong password and an unknown user alike: 401 INVALID_CREDENTIALS, and audits both', async () => {
    const user = await api.createUser('clerk');
    const wrong = await request(api.app).post('/api/v1/auth/login').send({ username: user.username, password: 'nope' });
    const unknown = await request(api.app).post('/api/v1/auth/login').send({ username: 'nobody.here', password: 'nope' });
    for (const res of [wrong, unknown]) {
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('INVALID_CREDENTIALS');
      expect(res.headers['www-authenticate']).to.match(/^Bearer/);
    }
    expect(wrong.body.error.message).to.equal(unknown.body.error.message);
    const audit = await request(api.app).get(`/api/v1/audit-events?action=auth.login&actorId=${user.id}`).set(bearer(api.admin.token));
    expect(audit.body.items.map((e: { outcome: string }) => e.outcome)).to.include.members(['rejected', 'success']);
    const unknownAudit = await request(api.app).get('/api/v1/audit-events?action=auth.login&outcome=rejected').set(bearer(api.admin.token));
    const record = unknownAudit.body.items.find((e: { actorUsername: string }) => e.actorUsername === '(unknown user)');
    expect(record, 'the attempted name is not stored (it may be a mistyped password)').to.not.equal(undefined);
    expect(JSON.stringify(unknownAudit.body)).not.to.include('nobody.here');
  });

  const login = (username: string, password: string, ip: string) =>
    request(api.app).post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ username, password });
  const timed = async (run: () => Promise<request.Response>): Promise<{ res: request.Response; ms: number }> => {
    const started = performance.now();
    const res = await run();
    return { res, ms: performance.now() - started };
  };

  it('issue 10 item 3: throttles guessing per account and address, slows it per account, never locks the owner out', async () => {
    const user = await api.createUser('admin');
    const attacker = '203.0.113.9';
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 5; i += 1) {
      last = await login(user.username, i === 4 ? user.password : `wrong ${i}`, attacker);
      statuses.push(last.status);
    }
    // 3 attempts per (name, address); then 429 even with the right password, for that address only.
    expect(statuses).to.deep.equal([401, 401, 401, 429, 429]);
    expect(last!.body.error.code).to.equal('TOO_MANY_LOGIN_ATTEMPTS');
    expect(Number(last!.headers['retry-after'])).to.be.within(1, 60);
    // The owner, at their own workstation: signed in, slowed by (3 failures − 2) × 150 ms.
    const owner = await timed(() => login(user.username, user.password, '198.51.100.7'));
    expect(owner.res.status, 'no lockout: the owner signs in').to.equal(200);
    expect(owner.ms).to.be.at.least(140);
    // A distributed attack (10 more addresses) only slows the owner, up to LOGIN_ACCOUNT_MAX_DELAY_MS.
    for (let i = 0; i < 10; i += 1) expect((await login(user.username, 'wrong', `203.0.113.${20 + i}`)).status).to.equal(401);
    const slowed = await timed(() => login(user.username, user.password, '198.51.100.7'));
    expect(slowed.res.status).to.equal(200);
    expect(slowed.ms).to.be.within(440, 3_000);
    // Nothing was locked in the database, and no user name is stored in Redis.
    const row = await api.deps.db('users').where({ id: user.id }).first('locked_until');
    expect(row.locked_until).to.equal(null);
    const keys = await api.deps.redis.keys(`${api.deps.config.QUEUE_NAME_PREFIX}:rl:*`);
    expect(keys.length).to.be.greaterThan(0);
    expect(keys.join(' ')).not.to.include(user.username);
    // Throttled attempts are audited as denied.
    const audit = await request(api.app).get(`/api/v1/audit-events?action=auth.login&actorId=${user.id}&outcome=denied`).set(bearer(api.admin.token));
    expect(audit.body.items.length).to.equal(2);
    expect(audit.body.items[0].details).to.deep.equal({ reason: 'throttled' });
  });

  it('issue 10 item 3: answers an unknown user name exactly like a real one: same statuses, bodies and headers, about the same time', async () => {
    const user = await api.createUser('clerk');
    const ghost = `ghost.${api.unique()}`;
    const run = async (username: string, ip: string) => {
      const out: Array<{ status: number; body: unknown; retryAfter: unknown }> = [];
      for (let i = 0; i < 4; i += 1) {
        const res = await login(username, 'wrong password', ip);
        out.push({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] !== undefined });
      }
      return out;
    };
    const real = await run(user.username, '203.0.113.50');
    const unknown = await run(ghost, '203.0.113.51');
    expect(real.map((r) => r.status)).to.deep.equal([401, 401, 401, 429]);
    expect(unknown).to.deep.equal(real);
    // Timing: fresh names and addresses each time (no throttle delay), interleaved, medians within a factor 1.6.
    const users = await Promise.all(Array.from({ length: 9 }, () => api.createUser('clerk')));
    const samples = { existing: [] as number[], missing: [] as number[] };
    for (const [i, u] of users.entries()) {
      samples.existing.push((await timed(() => login(u.username, 'wrong password', `192.0.2.${i + 1}`))).ms);
      samples.missing.push((await timed(() => login(`${u.username}.x`, 'wrong password', `192.0.2.${i + 101}`))).ms);
    }
    const median = (ms: number[]) => [...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
    const existing = median(samples.existing);
    const missing = median(samples.missing);
    process.stdout.write(`      sign-in timing: wrong password median ${existing.toFixed(1)} ms, unknown user ${missing.toFixed(1)} ms\n`);
    expect(missing / existing).to.be.within(1 / 1.6, 1.6);
  });

  it('logout revokes the token; a malformed or unknown token is 401', async () => {
    const user = await api.createUser('clerk');
    const token = await signIn(api.app, user.username, user.password);
    expect((await request(api.app).get('/api/v1/auth/me').set(bearer(token))).status).to.equal(200);
    expect((await request(api.app).post('/api/v1/auth/logout').set(bearer(token))).status).to.equal(204);
    const after = await request(api.app).get('/api/v1/auth/me').set(bearer(token));
    expect(after.status).to.equal(401);
    expect(after.body.error.code).to.equal('INVALID_TOKEN');
    for (const header of ['Basic abc', 'Bearer', `Bearer cbx_${'A'.repeat(43)}`, 'Bearer a b']) {
      const res = await request(api.app).get('/api/v1/auth/me').set('Authorization', header);
      expect(res.status, header).to.equal(401);
    }
    const none = await request(api.app).get('/api/v1/patients');
    expect(none.status).to.equal(401);
    expect(none.body.error.code).to.equal('UNAUTHENTICATED');
  });

  it('keeps sessions in Redis by token hash with a sliding idle TTL', async () => {
    const token = await signIn(api.app, 'admin', GOOD_PASSWORD);
    const key = `${api.deps.config.QUEUE_NAME_PREFIX}:s:${sessionIdOf(token)}`;
    expect(await api.deps.redis.exists(key)).to.equal(1);
    expect(await api.deps.redis.get(key)).not.to.include(token);
    await api.deps.redis.expire(key, 100);
    await request(api.app).get('/api/v1/auth/me').set(bearer(token));
    expect(await api.deps.redis.ttl(key)).to.be.greaterThan(api.deps.config.SESSION_IDLE_TIMEOUT_SECONDS - 5);
  });

  it('lets a user with a one-time password do nothing but change it (403 PASSWORD_CHANGE_REQUIRED), with the password rules enforced', async () => {
    const username = `clerk.${api.unique()}`;
    const created = await request(api.app).post('/api/v1/users').set(bearer(api.admin.token)).send({ username, displayName: 'New Clerk', role: 'clerk' });
    const temporary = created.body.temporaryPassword as string;
    const token = await signIn(api.app, username, temporary);
    const blocked = await request(api.app).get('/api/v1/patients').set(bearer(token));
    expect(blocked.status).to.equal(403);
    expect(blocked.body.error.code).to.equal('PASSWORD_CHANGE_REQUIRED');
    expect((await request(api.app).get('/api/v1/auth/me').set(bearer(token))).body.mustChangePassword).to.equal(true);

    const change = (currentPassword: string, newPassword: string) =>
      request(api.app).post('/api/v1/auth/change-password').set(bearer(token)).send({ currentPassword, newPassword });
    expect((await change('wrong', GOOD_PASSWORD)).status).to.equal(401);
    const short = await change(temporary, 'short');
    expect(short.status).to.equal(400);
    expect(short.body.error.fields[0].path).to.equal('newPassword');
    const withName = await change(temporary, `my name is ${username}!`);
    expect(withName.status).to.equal(400);
    expect(withName.body.error.fields[0].message).to.match(/user name/);
    expect((await change(temporary, temporary)).status).to.equal(400);
    expect((await change(temporary, GOOD_PASSWORD)).status).to.equal(204);
    expect((await request(api.app).get('/api/v1/patients').set(bearer(token))).status).to.equal(200);
  });

  it('ends the other sessions on a password change, and all sessions on a role change, deactivation or reset', async () => {
    const user = await api.createUser('clerk');
    const a = await signIn(api.app, user.username, user.password);
    const b = await signIn(api.app, user.username, user.password);
    const newPassword = `${GOOD_PASSWORD} v2`;
    expect((await request(api.app).post('/api/v1/auth/change-password').set(bearer(a)).send({ currentPassword: user.password, newPassword })).status).to.equal(
      204,
    );
    expect((await request(api.app).get('/api/v1/auth/me').set(bearer(a))).status).to.equal(200);
    expect((await request(api.app).get('/api/v1/auth/me').set(bearer(b))).status).to.equal(401);

    const promoted = await request(api.app).patch(`/api/v1/users/${user.id}`).set(bearer(api.admin.token)).send({ role: 'admin' });
    expect(promoted.status).to.equal(200);
    expect((await request(api.app).get('/api/v1/auth/me').set(bearer(a))).status, 'role change ends sessions').to.equal(401);

    const c = await signIn(api.app, user.username, newPassword);
    expect((await request(api.app).patch(`/api/v1/users/${user.id}`).set(bearer(api.admin.token)).send({ active: false })).status).to.equal(200);
    expect((await request(api.app).get('/api/v1/auth/me').set(bearer(c))).status).to.equal(401);
    expect((await request(api.app).post('/api/v1/auth/login').send({ username: user.username, password: newPassword })).status).to.equal(401);

    await request(api.app).patch(`/api/v1/users/${user.id}`).set(bearer(api.admin.token)).send({ active: true });
    const reset = await request(api.app).post(`/api/v1/users/${user.id}/reset-password`).set(bearer(api.admin.token));
    expect(reset.status).to.equal(200);
    const d = await signIn(api.app, user.username, reset.body.temporaryPassword);
    expect((await request(api.app).get('/api/v1/auth/me').set(bearer(d))).body.mustChangePassword).to.equal(true);
  });

  it('refuses to demote or deactivate the last active admin (409 LAST_ADMIN); duplicate names are 409 USERNAME_TAKEN', async () => {
    const only = await request(api.app).get('/api/v1/users?role=admin').set(bearer(api.admin.token));
    const activeAdmins = only.body.items.filter((u: { active: boolean }) => u.active);
    for (const other of activeAdmins.filter((u: { id: string }) => u.id !== api.admin.id)) {
      await request(api.app).patch(`/api/v1/users/${other.id}`).set(bearer(api.admin.token)).send({ role: 'clerk' });
    }
    const demote = await request(api.app).patch(`/api/v1/users/${api.admin.id}`).set(bearer(api.admin.token)).send({ role: 'clerk' });
    expect(demote.status).to.equal(409);
    expect(demote.body.error.code).to.equal('LAST_ADMIN');
    const deactivate = await request(api.app).patch(`/api/v1/users/${api.admin.id}`).set(bearer(api.admin.token)).send({ active: false });
    expect(deactivate.body.error.code).to.equal('LAST_ADMIN');
    const dup = await request(api.app).post('/api/v1/users').set(bearer(api.admin.token)).send({ username: 'ADMIN', displayName: 'x', role: 'clerk' });
    expect(dup.status).to.equal(409);
    expect(dup.body.error.code).to.equal('USERNAME_TAKEN');
  });
});

describe('server auth (integration): the login rate limit is shared by replicas (Redis store)', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let replicas: TestApi[] = [];

  before(async () => {
    database = await migratedDatabase('ratelimit');
    const shared = { QUEUE_NAME_PREFIX: `it-rl-${uniqueSuffix()}`, LOGIN_RATE_LIMIT_MAX: '5', LOGIN_RATE_LIMIT_WINDOW_SECONDS: '30' };
    // The first replica signs the admin in (1 attempt) before the limit is what the test counts.
    replicas = [await TestApi.start('rl', shared, { database }), await TestApi.start('rl', shared, { database })];
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await database?.drop();
  });

  it('answers 429 TOO_MANY_LOGIN_ATTEMPTS with Retry-After once one address made LOGIN_RATE_LIMIT_MAX attempts across replicas', async () => {
    const ip = '198.51.100.23';
    const statuses: number[] = [];
    let last: request.Response | undefined;
    for (let i = 0; i < 7; i += 1) {
      last = await request(replicas[i % 2]!.app)
        .post('/api/v1/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ username: 'nobody', password: 'wrong' });
      statuses.push(last.status);
    }
    expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 429, 429]);
    expect(last!.body.error.code).to.equal('TOO_MANY_LOGIN_ATTEMPTS');
    expect(Number(last!.headers['retry-after'])).to.be.within(1, 30);
    expect(last!.headers).to.have.property('ratelimit');
    const other = await request(replicas[0]!.app)
      .post('/api/v1/auth/login')
      .set('X-Forwarded-For', '198.51.100.24')
      .send({ username: 'admin', password: GOOD_PASSWORD });
    expect(other.status, 'another address is not limited').to.equal(200);
  });
});
