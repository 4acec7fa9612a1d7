/**
 * An in-process Carebox API on real PostgreSQL and Redis for integration tests: its own migrated
 * database, the real web dependencies, the first admin signed in with a changed password, and
 * helpers to make users, patients and appointments through the API itself.
 */
import type { Express } from 'express';
import type { Logger } from 'pino';
import request from 'supertest';
import { createApp } from '../../../../server/src/app.js';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { createWebDependencies, type WebDependencies } from '../../../../server/src/lifecycle/web.dependencies.js';
import { createLogger } from '../../../../server/src/observability/logger.js';
import { createFirstAdmin } from '../../../../server/src/users/first-admin.js';
import type { UserRole } from '../../../../server/src/users/user.types.js';
import { createTestDatabase, eventually, testConfig, type TestDatabase } from './services.js';

export const silent = createLogger({ level: 'silent', role: 'test' });

/** The Authorization header for a token. */
export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/** A password that passes the policy for any user name used in tests. */
export const GOOD_PASSWORD = 'correct horse battery staple 42';

/** A signed-in user. */
export interface TestUser {
  id: string;
  username: string;
  role: UserRole;
  password: string;
  token: string;
}

/** Creates a database of its own and applies every migration. */
export async function migratedDatabase(label: string): Promise<TestDatabase> {
  const database = await createTestDatabase(label);
  const migrator = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent, statementTimeoutMs: 0 });
  try {
    await migrator.migrate.latest();
  } finally {
    await migrator.destroy();
  }
  return database;
}

/** Signs in and returns the token (fails the test on anything but 200). */
export async function signIn(app: Express, username: string, password: string): Promise<string> {
  const res = await request(app).post('/api/v1/auth/login').send({ username, password });
  if (res.status !== 200) throw new Error(`sign-in of ${username} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/** A running test API. */
export class TestApi {
  private counter = 0;

  private constructor(
    readonly app: Express,
    readonly deps: WebDependencies,
    readonly database: TestDatabase | null,
    readonly admin: TestUser,
  ) {}

  /**
   * Starts an API over a fresh migrated database (or `database` when given) with the first admin
   * signed in. The login rate limit and throttle are loose unless the overrides set them.
   */
  static async start(
    label: string,
    overrides: Record<string, string> = {},
    options: { logger?: Logger<string>; database?: TestDatabase } = {},
  ): Promise<TestApi> {
    const database = options.database ?? (await migratedDatabase(label));
    const deps = createWebDependencies(
      testConfig({
        DATABASE_URL: database.url,
        LOGIN_RATE_LIMIT_MAX: '100000',
        LOGIN_CLIENT_MAX_ATTEMPTS: '1000',
        LOGIN_ACCOUNT_DELAY_AFTER: '1000',
        ...overrides,
      }),
      options.logger ?? silent,
      () => undefined,
    );
    await eventually(async () => (deps.redis.status === 'ready' ? true : undefined), 10_000, 'Redis connection');
    const app = createApp(deps);
    const first = await createFirstAdmin(deps.db);
    let admin: TestUser;
    if (first.created) {
      const token = await signIn(app, 'admin', first.password);
      const changed = await request(app)
        .post('/api/v1/auth/change-password')
        .set(bearer(token))
        .send({ currentPassword: first.password, newPassword: GOOD_PASSWORD });
      if (changed.status !== 204) throw new Error(`change-password answered ${changed.status}`);
      const me = await request(app).get('/api/v1/auth/me').set(bearer(token));
      admin = { id: me.body.id, username: 'admin', role: 'admin', password: GOOD_PASSWORD, token };
    } else {
      const token = await signIn(app, 'admin', GOOD_PASSWORD);
      const me = await request(app).get('/api/v1/auth/me').set(bearer(token));
      admin = { id: me.body.id, username: 'admin', role: 'admin', password: GOOD_PASSWORD, token };
    }
    return new TestApi(app, deps, options.database ? null : database, admin);
  }

  /** Closes the dependencies and drops the database this API created. */
  async close(): Promise<void> {
    await this.deps.close();
    await this.database?.drop();
  }

  /** A unique suffix for names and MRNs. */
  unique(): string {
    this.counter += 1;
    return `${Date.now().toString(36)}${this.counter}`;
  }

  /** Creates a user through the API, signs in, replaces the one-time password, and signs in again. */
  async createUser(role: UserRole, fields: Record<string, unknown> = {}): Promise<TestUser> {
    const username = (fields.username as string | undefined) ?? `${role}.${this.unique()}`;
    const created = await request(this.app)
      .post('/api/v1/users')
      .set(bearer(this.admin.token))
      .send({ username, displayName: `Test ${role} ${username}`, role, ...(role === 'clinician' ? { department: 'Cardiology' } : {}), ...fields });
    if (created.status !== 201) throw new Error(`create user answered ${created.status}: ${JSON.stringify(created.body)}`);
    const first = await signIn(this.app, username, created.body.temporaryPassword);
    const changed = await request(this.app)
      .post('/api/v1/auth/change-password')
      .set(bearer(first))
      .send({ currentPassword: created.body.temporaryPassword, newPassword: GOOD_PASSWORD });
    if (changed.status !== 204) throw new Error(`change-password answered ${changed.status}: ${JSON.stringify(changed.body)}`);
    return { id: created.body.user.id, username, role, password: GOOD_PASSWORD, token: first };
  }

  /** Registers a patient through the API (as the admin unless `token`). */
  async createPatient(fields: Record<string, unknown> = {}, token = this.admin.token): Promise<Record<string, any>> {
    const suffix = this.unique();
    const res = await request(this.app)
      .post('/api/v1/patients')
      .set(bearer(token))
      .send({ mrn: `T-${suffix}`, givenName: 'Grace', familyName: `Hopper${suffix}`, birthDate: '1956-12-09', sex: 'female', ...fields });
    if (res.status !== 201) throw new Error(`create patient answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Books an appointment through the API (as the admin unless `token`). */
  async book(fields: Record<string, unknown>, token = this.admin.token): Promise<request.Response> {
    return request(this.app)
      .post('/api/v1/appointments')
      .set(bearer(token))
      .send({ department: 'Cardiology', ...fields });
  }
}

/** A counter value from Prometheus text, 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
