import { expect } from 'chai';
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { appInfo } from '../../../../server/src/app.js';
import type { RegisteredRoute } from '../../../../server/src/http/api-router.js';
import { bearer, GOOD_PASSWORD, metricValue, signIn, TestApi } from '../support/api.js';
import { freePort, serverEnv } from '../support/services.js';
import { SpawnedProcess } from '../support/spawned-process.js';

/** Requests per property; three properties. */
const RUNS = Number(process.env.CAREBOX_FUZZ_RUNS ?? 1_200);

interface FuzzRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/**
 * Malformed input on every route, against a real listening server on real PostgreSQL and Redis:
 * broken and hostile path segments, query strings, headers and bodies, as every role and as
 * nobody. The only property: the server never answers ≥ 500 (and never drops the connection).
 * Parser-hostile bodies go to the real multi-process server (main.ts) with the planned worker
 * heap, where a worker that dies shows in carebox_web_worker_restarts_total.
 */
describe('server fuzz (integration): no input makes the API answer ≥ 500', function () {
  this.timeout(600_000);
  let api: TestApi;
  let server: Server;
  let base: string;
  /** The real server (cluster primary + 2 workers with the default tier's 144 MiB heap) on the same database and Redis. */
  let real: SpawnedProcess;
  let realBase: string;
  let routes: readonly RegisteredRoute[];
  const tokens: Record<'admin' | 'clinician' | 'clerk', string> = { admin: '', clinician: '', clerk: '' };
  const accounts: Record<'admin' | 'clinician' | 'clerk', { username: string; password: string }> = {} as never;
  const valid = { patient: '', appointment: '', user: '', export: '', clinician: '' };
  const counts = { requests: 0, byStatus: new Map<number, number>() };

  before(async () => {
    api = await TestApi.start('fuzz', { BODY_LIMIT_BYTES: '4096' });
    routes = appInfo(api.app).routes;
    const clinician = await api.createUser('clinician');
    const clerk = await api.createUser('clerk');
    tokens.admin = api.admin.token;
    tokens.clinician = clinician.token;
    tokens.clerk = clerk.token;
    accounts.admin = { username: 'admin', password: GOOD_PASSWORD };
    accounts.clinician = clinician;
    accounts.clerk = clerk;
    // Sacrificial records the fuzz may change freely (not the accounts it signs in with).
    const victim = await api.createUser('clinician');
    const patient = await api.createPatient();
    const appointment = await api.book({ patientId: patient.id, clinicianId: victim.id, startsAt: '2035-01-01T09:00:00Z', endsAt: '2035-01-01T09:30:00Z' });
    const exp = await request(api.app).post(`/api/v1/patients/${patient.id}/appointment-exports`).set(bearer(api.admin.token));
    Object.assign(valid, { patient: patient.id, appointment: appointment.body.id, user: victim.id, export: exp.body.id, clinician: victim.id });
    server = api.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const realPort = await freePort();
    real = SpawnedProcess.start(
      'main',
      serverEnv({
        DATABASE_URL: api.deps.config.DATABASE_URL!,
        QUEUE_NAME_PREFIX: api.deps.config.QUEUE_NAME_PREFIX,
        PORT: String(realPort),
        WEB_CONCURRENCY: '2',
        LOG_LEVEL: 'info',
        LOGIN_RATE_LIMIT_MAX: '100000',
        BODY_LIMIT_BYTES: String(10 * 1024 * 1024),
        NODE_OPTIONS: '--max-old-space-size=144',
      }),
    );
    await real.waitForLog((l) => l.msg === 'listening' && real.logs.filter((x) => x.msg === 'listening').length === 2, 30_000, 'two workers listening');
    realBase = `http://127.0.0.1:${realPort}`;
  });
  after(async () => {
    await real?.stop();
    await new Promise((resolve) => server?.close(resolve));
    await api?.close();
    const summary = [...counts.byStatus]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    process.stdout.write(`      fuzz: ${counts.requests} requests; statuses ${summary}\n`);
  });

  const segment = fc.oneof(
    fc
      .constantFrom(
        () => valid.patient,
        () => valid.appointment,
        () => valid.user,
        () => valid.export,
      )
      .map((f) => f()),
    fc.uuid(),
    fc.string({ maxLength: 60 }).map(encodeURIComponent),
    fc.constantFrom(
      '%',
      '%E0%A4%A',
      '%00',
      '..',
      '.',
      '%2F..%2F',
      'null',
      '-1',
      '1e999',
      'system',
      'exports',
      '2026-02-30',
      '2026-13-01',
      '0'.repeat(300),
      "'; drop table patients; --",
    ),
  );
  const queryValue = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.integer().map(String),
    fc.constantFrom(
      '',
      '-1',
      '0',
      '101',
      '1e400',
      'NaN',
      'true',
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00+99:99',
      'booked',
      'x'.repeat(2_000),
      '%',
      '_',
      '\u0000',
      '😀',
    ),
    fc.uuid(),
  );
  const queryKey = fc.oneof(
    fc.constantFrom(
      'q',
      'limit',
      'cursor',
      'from',
      'to',
      'clinicianId',
      'patientId',
      'status',
      'role',
      'actorId',
      'action',
      'outcome',
      'limit[]',
      '__proto__',
      'constructor',
    ),
    fc.string({ maxLength: 12 }),
  );
  const query = fc
    .array(fc.tuple(queryKey, queryValue), { maxLength: 5 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
  /** Parser-hostile bodies (issue 10 item 1): deep nesting, floods of empty objects, huge strings, up to 10 MiB. */
  const adversarial = fc
    .tuple(
      fc.constantFrom('deepArrays', 'deepObjects', 'emptyObjects', 'hugeString', 'emptyArrays'),
      fc.constantFrom(1_000, 4_000, 20_000, 200_000, 10 * 1024 * 1024),
    )
    .map(([shape, bytes]) => {
      const n = Math.max(1, Math.floor(bytes / 6));
      switch (shape) {
        case 'deepArrays':
          return '['.repeat(bytes / 2) + ']'.repeat(bytes / 2);
        case 'deepObjects':
          return '{"a":'.repeat(n) + '1' + '}'.repeat(n);
        case 'emptyObjects':
          return `[${'{},'.repeat(Math.floor(bytes / 3) - 1)}{}]`;
        case 'emptyArrays':
          return `[${'[],'.repeat(Math.floor(bytes / 3) - 1)}[]]`;
        default:
          return JSON.stringify({ username: 'x', password: 'x', givenName: 'x'.repeat(bytes) });
      }
    });
  const jsonish = fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.string({ maxLength: 200 }),
    fc.constantFrom(
      '{',
      '{"a":',
      '[1,2',
      '"str"',
      'null',
      '123',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{}}}',
      '\u0000',
      'x'.repeat(5_000),
    ),
  );
  /** A valid-looking body for the route with one field replaced by arbitrary JSON, or extra fields. */
  const mutatedBody = (route: RegisteredRoute) =>
    fc.tuple(fc.anything({ maxDepth: 2 }), fc.nat(10), fc.boolean()).map(([value, pick, extra]) => {
      const template: Record<string, unknown> = bodyTemplate(route);
      const keys = Object.keys(template);
      if (keys.length > 0) template[keys[pick % keys.length]!] = value;
      if (extra) template.unexpected = value;
      return JSON.stringify(template) ?? '{}';
    });
  function bodyTemplate(route: RegisteredRoute): Record<string, unknown> {
    const p = route.path;
    if (p.endsWith('/auth/login')) return { username: 'nobody.fuzz', password: 'x' };
    if (p.endsWith('/change-password')) return { currentPassword: 'wrong', newPassword: 'a long enough password' };
    if (p === '/api/v1/users') return { username: `fz${Math.random().toString(36).slice(2, 8)}`, displayName: 'F', role: 'clerk', email: 'f@example.org' };
    if (p.startsWith('/api/v1/users/')) return { displayName: 'F', department: 'X' };
    if (p.includes('/patients') && !p.includes('exports'))
      return {
        mrn: `FZ-${Math.random().toString(36).slice(2, 8)}`,
        givenName: 'F',
        familyName: 'Z',
        birthDate: '1990-01-01',
        sex: 'unknown',
        email: 'f@example.org',
      };
    if (p.endsWith('/status')) return { status: 'checked-in' };
    if (p.includes('/appointments'))
      return { patientId: valid.patient, clinicianId: valid.clinician, startsAt: '2036-01-01T10:00:00Z', endsAt: '2036-01-01T10:30:00Z', department: 'D' };
    if (p.includes('daily-summary')) return { date: '2026-01-01' };
    return {};
  }
  const contentType = fc.constantFrom(
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=',
    '',
  );
  const who = fc.constantFrom<'admin' | 'clinician' | 'clerk' | 'none' | 'garbage'>('admin', 'admin', 'clinician', 'clerk', 'none', 'garbage');
  const garbageAuth = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom('Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', `Bearer cbx_${'A'.repeat(43)}`, `Bearer ${'x'.repeat(5_000)}`),
  );

  function fuzzRequest(route: RegisteredRoute, body: fc.Arbitrary<string | undefined>): fc.Arbitrary<FuzzRequest & { who: string }> {
    const params = (route.path.match(/:[A-Za-z0-9_]+/g) ?? []).length;
    return fc
      .record({
        segments: fc.array(segment, { minLength: params, maxLength: params }),
        query,
        who,
        garbage: garbageAuth,
        contentType,
        requestId: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 200 })),
        body,
      })
      .map((r) => {
        let i = 0;
        const path = route.path.replace(/:[A-Za-z0-9_]+/g, () => r.segments[i++] ?? '');
        const headers: Record<string, string> = {};
        if (r.who === 'garbage') headers.authorization = r.garbage;
        else if (r.who !== 'none') headers.authorization = `Bearer ${tokens[r.who]}`;
        if (r.body !== undefined && r.contentType !== '') headers['content-type'] = r.contentType;
        if (r.requestId !== undefined) headers['x-request-id'] = r.requestId;
        return { method: route.method.toUpperCase(), path, query: r.query, headers, body: r.body, who: r.who };
      });
  }

  /** Sends one request; fails on ≥ 500 or a dropped connection; re-signs in a role whose session a request ended. */
  const send = (req: FuzzRequest & { who: string }): Promise<boolean> => sendTo(req, base);

  async function sendTo(req: FuzzRequest & { who: string }, target: string): Promise<boolean> {
    const url = `${target}${req.path}${req.query ? `?${req.query}` : ''}`;
    let status: number;
    let text = '';
    try {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([, v]) => /^[\t\x20-\x7e]*$/.test(v)));
      const res = await fetch(url, { method: req.method, headers, body: req.method === 'GET' ? undefined : req.body, signal: AbortSignal.timeout(15_000) });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (err instanceof TypeError && /Invalid URL|header/i.test(String(err.cause ?? err.message))) return true; // the client refused to send it
      throw new Error(`${req.method} ${url} failed at the connection level: ${String((err as Error).cause ?? err)}`);
    }
    counts.requests += 1;
    counts.byStatus.set(status, (counts.byStatus.get(status) ?? 0) + 1);
    const role = req.who;
    if (status === 401 && (role === 'admin' || role === 'clinician' || role === 'clerk')) {
      tokens[role] = await signIn(api.app, accounts[role].username, accounts[role].password).catch(() => tokens[role]);
    }
    if (status >= 500)
      throw new Error(`${req.method} ${url} ${JSON.stringify(req.headers)} body=${String(req.body).slice(0, 300)} → ${status} ${text.slice(0, 300)}`);
    return true;
  }

  const anyRoute = () => fc.constantFrom(...routes);
  /** Web workers of the real server that died and were replaced (the cluster primary's counter). */
  async function workerRestarts(): Promise<number> {
    const text = await (await fetch(`${realBase}/metrics`)).text();
    expect(text).to.match(/^carebox_web_worker_restarts_total\{reason="exit"\} \d+$/m);
    return (
      metricValue(text, 'carebox_web_worker_restarts_total', { reason: 'exit' }) + metricValue(text, 'carebox_web_worker_restarts_total', { reason: 'signal' })
    );
  }

  it('malformed bodies (broken JSON, wrong types, extra and hostile fields, oversized) on every route', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyRoute().chain((route) => fuzzRequest(route, fc.oneof(jsonish, mutatedBody(route)))),
        send,
      ),
      { numRuns: RUNS },
    );
  });

  it('parser-hostile bodies (deep nesting, 10 MiB of empty objects, huge strings) on every route, as every role and nobody', async () => {
    const before = await workerRestarts();
    await fc.assert(
      fc.asyncProperty(
        anyRoute().chain((route) => fuzzRequest(route, adversarial)),
        (req) => sendTo(req, realBase),
      ),
      { numRuns: Math.max(50, Math.floor(RUNS / 6)) },
    );
    expect(await workerRestarts(), 'no worker died').to.equal(before);
  });

  it('malformed path segments and query strings on every route', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyRoute().chain((route) => fuzzRequest(route, fc.constant(undefined))),
        send,
      ),
      { numRuns: RUNS },
    );
  });

  it('malformed headers (tokens, content types, request ids) with valid-looking bodies on every route', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyRoute().chain((route) =>
          fuzzRequest(
            route,
            mutatedBody(route).map((b) => b),
          ),
        ),
        send,
      ),
      { numRuns: RUNS },
    );
    expect(counts.requests).to.be.greaterThan(RUNS * 2.5);
    const successes = [...counts.byStatus].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    expect(successes, 'some fuzzed requests were valid enough to succeed').to.be.greaterThan(20);
  });
});
