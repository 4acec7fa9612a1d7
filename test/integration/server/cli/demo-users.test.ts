import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { migratedDatabase, TestApi } from '../support/api.js';
import { serverEnv, type TestDatabase } from '../support/services.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Runs server/src/demo-data.ts with `stdin` piped in; stdout, stderr and the exit code. */
function demoData(env: Record<string, string>, args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string; json: any }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import=tsx', 'server/src/demo-data.ts', ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    if (stdin !== undefined) child.stdin!.end(stdin);
    child.on('close', (code) => {
      let json: any = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        // not JSON
      }
      done({ code, stdout, stderr, json });
    });
  });
}

/**
 * `demo-data.js --users U --password-stdin` (the sign-in accounts of `carebox loadtest`) and the
 * login rate limit's exception for them: a synthetic account's successful sign-in hands its slot
 * back; real accounts and failures count as before.
 */
describe('server CLI (integration): synthetic sign-in accounts for load tests', function () {
  this.timeout(120_000);
  const PASSWORD = 'a-random-load-test-password-0123456789';
  let database: TestDatabase;
  let env: Record<string, string>;
  let api: TestApi;

  before(async () => {
    database = await migratedDatabase('demo_users');
    env = serverEnv({ DATABASE_URL: database.url, LOG_LEVEL: 'info' });
    api = await TestApi.start('demo_users', { LOGIN_RATE_LIMIT_MAX: '3', LOGIN_RATE_LIMIT_WINDOW_SECONDS: '60' }, { database });
  });
  after(async () => {
    await api?.close();
    await database?.drop();
  });

  it('refuses --users without --password-stdin, a short password, and --users with --remove (exit 2)', async () => {
    for (const [args, stdin] of [
      [['--patients', '0', '--users', '2'], undefined],
      [['--patients', '0', '--password-stdin'], 'x'],
      [['--remove', '--users', '2'], undefined],
    ] as Array<[string[], string | undefined]>) {
      const r = await demoData(env, args, stdin);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stdout).to.equal('');
    }
    const short = await demoData(env, ['--patients', '0', '--tenant', 'short', '--users', '1', '--password-stdin'], 'too-short\n');
    expect(short.code).to.equal(2);
    expect(short.stderr).to.include('12..256');
  });

  it('creates clerk accounts that sign in with the password from stdin, never printing or logging it; a re-run resets them', async () => {
    const r = await demoData(env, ['--patients', '20', '--tenant', 'lt-test', '--users', '3', '--password-stdin'], `${PASSWORD}\n`);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.users).to.deep.equal({ created: 3, existing: 0 });
    expect(r.stdout + r.stderr).to.not.include(PASSWORD);
    const rows = await api.deps
      .db('users')
      .where('username', 'like', 'lt-test-clerk-%')
      .orderBy('username')
      .select('username', 'role', 'is_synthetic', 'must_change_password', 'password_hash');
    expect(rows.map((u) => u.username)).to.deep.equal(['lt-test-clerk-00001', 'lt-test-clerk-00002', 'lt-test-clerk-00003']);
    for (const u of rows) {
      expect(u).to.include({ role: 'clerk', is_synthetic: true, must_change_password: false });
      expect(u.password_hash).to.match(/^\$argon2id\$/);
    }
    const login = await request(api.app).post('/api/v1/auth/login').send({ username: 'lt-test-clerk-00002', password: PASSWORD });
    expect(login.status).to.equal(200);
    expect(login.body.user.isSynthetic).to.equal(true);

    const again = await demoData(
      env,
      ['--patients', '20', '--tenant', 'lt-test', '--users', '3', '--password-stdin'],
      'another-password-for-the-same-accounts\n',
    );
    expect(again.json.users).to.deep.equal({ created: 0, existing: 3 });
    expect((await request(api.app).post('/api/v1/auth/login').send({ username: 'lt-test-clerk-00001', password: PASSWORD })).status).to.equal(401);
    expect(
      (await request(api.app).post('/api/v1/auth/login').send({ username: 'lt-test-clerk-00001', password: 'another-password-for-the-same-accounts' })).status,
    ).to.equal(200);
    await demoData(env, ['--patients', '20', '--tenant', 'lt-test', '--users', '3', '--password-stdin'], `${PASSWORD}\n`);
  });

  it("a synthetic account's successful sign-ins give their rate-limit slot back; real accounts and failures still count", async () => {
    // A fresh window: the earlier sign-ins of this file (the admin's, a wrong password) counted.
    const prefix = api.deps.config.QUEUE_NAME_PREFIX;
    const keys = await api.deps.redis.keys(`${prefix}:rl:*`);
    if (keys.length > 0) await api.deps.redis.del(...keys);
    // LOGIN_RATE_LIMIT_MAX is 3 per address: ten synthetic sign-ins in a row all pass.
    for (let i = 0; i < 10; i += 1) {
      const r = await request(api.app)
        .post('/api/v1/auth/login')
        .send({ username: `lt-test-clerk-0000${1 + (i % 3)}`, password: PASSWORD });
      expect(r.status, `synthetic sign-in ${i + 1}`).to.equal(200);
    }
    const real = await api.createUser('clerk'); // its sign-ins count (1 here, in createUser)
    const statuses: number[] = [];
    statuses.push((await request(api.app).post('/api/v1/auth/login').send({ username: real.username, password: real.password })).status);
    statuses.push((await request(api.app).post('/api/v1/auth/login').send({ username: 'lt-test-clerk-00001', password: 'wrong password!!' })).status);
    statuses.push((await request(api.app).post('/api/v1/auth/login').send({ username: 'lt-test-clerk-00001', password: PASSWORD })).status);
    // createUser's sign-in + the real sign-in + the failed synthetic attempt = 3: the limit is reached,
    // so even a synthetic sign-in (counted while it runs) is refused now.
    expect(statuses).to.deep.equal([200, 401, 429]);
  });

  it("--remove --tenant deletes the accounts with the tenant's data, and nothing real", async () => {
    const before = await api.deps.db('users').where({ is_synthetic: false }).count({ n: '*' });
    const r = await demoData(env, ['--remove', '--tenant', 'lt-test']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json.removed).to.deep.include({ patients: 20, users: 3 });
    expect(await api.deps.db('users').where('username', 'like', 'lt-test-%').count({ n: '*' })).to.deep.equal([{ n: '0' }]);
    expect(await api.deps.db('users').where({ is_synthetic: false }).count({ n: '*' })).to.deep.equal(before);
  });
});
