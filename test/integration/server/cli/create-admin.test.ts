import { expect } from 'chai';
import request from 'supertest';
import { createApp } from '../../../../server/src/app.js';
import { createWebDependencies } from '../../../../server/src/lifecycle/web.dependencies.js';
import { bearer, migratedDatabase, silent } from '../support/api.js';
import { createTestDatabase, eventually, serverEnv, testConfig, type TestDatabase } from '../support/services.js';
import { SpawnedProcess } from '../support/spawned-process.js';

/** Runs create-admin.ts to completion. */
async function runCreateAdmin(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = SpawnedProcess.start('create-admin', env);
  const { code } = await run.exited;
  return { code, stdout: run.stdoutText, stderr: run.stderr };
}

describe('server CLI (integration): node dist/server/src/create-admin.js', function () {
  this.timeout(60_000);
  let database: TestDatabase;

  before(async () => {
    database = await migratedDatabase('create_admin');
  });
  after(async () => {
    await database?.drop();
  });

  it('creates the admin once: one JSON line with a one-time password, which signs in and must be changed; then created:false', async () => {
    const env = serverEnv({ DATABASE_URL: database.url, LOG_LEVEL: 'info' });
    const first = await runCreateAdmin(env);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout.endsWith('\n')).to.equal(true);
    expect(first.stdout.trimEnd().split('\n')).to.have.length(1);
    const result = JSON.parse(first.stdout) as { created: boolean; username: string; password: string };
    expect(Object.keys(result)).to.deep.equal(['created', 'username', 'password']);
    expect(result).to.include({ created: true, username: 'admin' });
    expect(result.password).to.match(/^[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){4}$/);
    expect(first.stderr, 'logs go to stderr').to.include('first admin created');
    expect(first.stderr, 'the password is never logged').not.to.include(result.password);

    const deps = createWebDependencies(testConfig({ DATABASE_URL: database.url }), silent, () => undefined);
    try {
      await eventually(async () => (deps.redis.status === 'ready' ? true : undefined), 5_000, 'redis');
      const app = createApp(deps);
      const login = await request(app).post('/api/v1/auth/login').send({ username: 'admin', password: result.password });
      expect(login.status).to.equal(200);
      expect(login.body.user).to.include({ role: 'admin', mustChangePassword: true });
      const blocked = await request(app).get('/api/v1/users').set(bearer(login.body.token));
      expect(blocked.body.error.code).to.equal('PASSWORD_CHANGE_REQUIRED');
    } finally {
      await deps.close();
    }

    const second = await runCreateAdmin(env);
    expect(second.code, second.stderr).to.equal(0);
    expect(JSON.parse(second.stdout)).to.deep.equal({ created: false, username: 'admin' });
    expect(second.stdout.trimEnd().split('\n')).to.have.length(1);
  });

  it('creates exactly one admin when several runs race', async () => {
    const fresh = await migratedDatabase('create_admin_race');
    try {
      const env = serverEnv({ DATABASE_URL: fresh.url });
      const runs = await Promise.all([runCreateAdmin(env), runCreateAdmin(env), runCreateAdmin(env)]);
      expect(runs.map((r) => r.code)).to.deep.equal([0, 0, 0]);
      expect(runs.map((r) => JSON.parse(r.stdout).created).filter(Boolean)).to.have.length(1);
    } finally {
      await fresh.drop();
    }
  });

  it('exits 1 with a message on stderr and nothing on stdout when the database is not migrated', async () => {
    const empty = await createTestDatabase('create_admin_empty');
    try {
      const run = await runCreateAdmin(serverEnv({ DATABASE_URL: empty.url }));
      expect(run.code).to.equal(1);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.match(/^carebox-create-admin: the database is not migrated; run `node dist\/server\/src\/migrate.js` first$/m);
    } finally {
      await empty.drop();
    }
  });
});
