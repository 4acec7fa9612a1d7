import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { appInfo } from '../../../../server/src/app.js';
import type { UserRole } from '../../../../server/src/users/user.types.js';
import { bearer, signIn, TestApi, type TestUser } from '../support/api.js';

type Access = 'public' | readonly UserRole[];
const ALL: readonly UserRole[] = ['admin', 'clinician', 'clerk'];
const ADMIN: readonly UserRole[] = ['admin'];
const ADMIN_CLERK: readonly UserRole[] = ['admin', 'clerk'];

/**
 * The role × route matrix, stated here independently of the route definitions: widening or
 * narrowing access in the code without changing this table fails the test.
 */
const MATRIX: Record<string, Access> = {
  'POST /api/v1/auth/login': 'public',
  'POST /api/v1/auth/logout': ALL,
  'GET /api/v1/auth/me': ALL,
  'POST /api/v1/auth/change-password': ALL,
  'POST /api/v1/users': ADMIN,
  'GET /api/v1/users': ADMIN,
  'GET /api/v1/users/:id': ADMIN,
  'PATCH /api/v1/users/:id': ADMIN,
  'POST /api/v1/users/:id/reset-password': ADMIN,
  'GET /api/v1/clinicians': ALL,
  'GET /api/v1/patients': ALL,
  'POST /api/v1/patients': ADMIN_CLERK,
  'GET /api/v1/patients/:id': ALL,
  'PATCH /api/v1/patients/:id': ADMIN_CLERK,
  'GET /api/v1/appointments': ALL,
  'POST /api/v1/appointments': ADMIN_CLERK,
  'GET /api/v1/appointments/:id': ALL,
  'PATCH /api/v1/appointments/:id': ADMIN_CLERK,
  'POST /api/v1/appointments/:id/status': ALL,
  'POST /api/v1/patients/:id/appointment-exports': ADMIN_CLERK,
  'GET /api/v1/exports/:id': ADMIN_CLERK,
  'GET /api/v1/exports/:id/csv': ADMIN_CLERK,
  'GET /api/v1/audit-events': ADMIN,
  'GET /api/v1/jobs/:queue/:id': ADMIN,
  'GET /api/v1/queues': ADMIN,
  'POST /api/v1/reports/daily-summary': ADMIN,
  'GET /api/v1/reports/daily-summary/:date': ADMIN_CLERK,
  'POST /api/v1/notifications/reminder-scans': ADMIN,
};

/** A concrete path: ids are random (404 for the allowed), queues and dates valid. */
function concrete(path: string): string {
  return path
    .replace(':queue', 'system')
    .replace(':date', '2026-01-01')
    .replace(/:id/g, () => randomUUID());
}

describe('server RBAC (integration): every route × every role', function () {
  this.timeout(120_000);
  let api: TestApi;
  const users = {} as Record<UserRole, TestUser>;

  before(async () => {
    api = await TestApi.start('rbac');
    users.admin = api.admin;
    users.clinician = await api.createUser('clinician');
    users.clerk = await api.createUser('clerk');
  });
  after(async () => {
    await api?.close();
  });

  it('states access for exactly the routes the app registers', () => {
    const registered = appInfo(api.app).routes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect([...registered].sort()).to.deep.equal(Object.keys(MATRIX).sort());
    for (const route of appInfo(api.app).routes) {
      const expected = MATRIX[`${route.method.toUpperCase()} ${route.path}`]!;
      if (expected === 'public') expect(route.access).to.deep.equal({ public: true });
      else expect([...(route.access as { roles: UserRole[] }).roles].sort()).to.deep.equal([...expected].sort());
    }
  });

  for (const [route, access] of Object.entries(MATRIX)) {
    const [method, path] = route.split(' ') as [string, string];
    if (access === 'public') continue;
    it(`${route}: 401 without a session; ${access.join(', ')} pass the role check, the others get 403 FORBIDDEN`, async () => {
      const send = (token?: string) => {
        const r = request(api.app)[method.toLowerCase() as 'get' | 'post' | 'patch'](concrete(path));
        if (token !== undefined) r.set(bearer(token));
        return method === 'GET' ? r : r.send({});
      };
      const anonymous = await send();
      expect(anonymous.status).to.equal(401);
      for (const role of ALL) {
        // Logout ends the session it is sent with: use a fresh one.
        const token = route.endsWith('/logout') ? await signIn(api.app, users[role].username, users[role].password) : users[role].token;
        const res = await send(token);
        if (access.includes(role)) {
          expect(res.status, `${role}: ${JSON.stringify(res.body)}`).to.not.be.oneOf([401, 403]);
          expect(res.status, `${role}: ${JSON.stringify(res.body)}`).to.be.below(500);
        } else {
          expect(res.status, `${role}: ${JSON.stringify(res.body)}`).to.equal(403);
          expect(res.body.error.code).to.equal('FORBIDDEN');
        }
      }
    });
  }

  it('audits a refused attempt on patient data as denied', async () => {
    const patient = await api.createPatient();
    const res = await request(api.app).patch(`/api/v1/patients/${patient.id}`).set(bearer(users.clinician.token)).send({ givenName: 'X' });
    expect(res.status).to.equal(403);
    const audit = await request(api.app).get(`/api/v1/audit-events?actorId=${users.clinician.id}&outcome=denied`).set(bearer(api.admin.token));
    expect(audit.body.items.some((e: { action: string; resourceId: string }) => e.action === 'patient.update' && e.resourceId === patient.id)).to.equal(true);
  });

  it('lets clinicians set check-in, completion and no-show on their own appointments only', async () => {
    const patient = await api.createPatient();
    const other = await api.createUser('clinician');
    const mine = await api.book({ patientId: patient.id, clinicianId: users.clinician.id, startsAt: '2032-01-05T10:00:00Z', endsAt: '2032-01-05T10:20:00Z' });
    const theirs = await api.book({ patientId: patient.id, clinicianId: other.id, startsAt: '2032-01-05T10:00:00Z', endsAt: '2032-01-05T10:20:00Z' });
    const status = (id: string, s: string, token: string) => request(api.app).post(`/api/v1/appointments/${id}/status`).set(bearer(token)).send({ status: s });
    expect((await status(theirs.body.id, 'checked-in', users.clinician.token)).body.error.code).to.equal('NOT_YOUR_APPOINTMENT');
    expect((await status(mine.body.id, 'cancelled', users.clinician.token)).body.error.code).to.equal('STATUS_NOT_ALLOWED');
    expect((await status(mine.body.id, 'checked-in', users.clinician.token)).body.status).to.equal('checked-in');
    expect((await status(mine.body.id, 'completed', users.clinician.token)).body.status).to.equal('completed');
    expect((await status(theirs.body.id, 'cancelled', users.clerk.token)).body.status).to.equal('cancelled');
  });
});
