import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { appInfo } from '../../../../server/src/app.js';
import { AuditRepository } from '../../../../server/src/audit/audit.repository.js';
import { AuditService } from '../../../../server/src/audit/audit.service.js';
import { transactionRunner } from '../../../../server/src/db/transaction.js';
import { createMailTransport } from '../../../../server/src/notifications/mail.transport.js';
import { NotificationService } from '../../../../server/src/notifications/notification.service.js';
import { OutboxRepository } from '../../../../server/src/notifications/outbox.repository.js';
import { bearer, signIn, silent, TestApi, type TestUser } from '../support/api.js';

type Role = 'admin' | 'clinician' | 'clerk';
const ROLES: readonly Role[] = ['admin', 'clinician', 'clerk'];

interface AuditRow {
  action: string;
  outcome: string;
  patient_id: string | null;
  actor_role: string | null;
  details: Record<string, unknown> | null;
}

/**
 * Issue 10 item 6: every route × every role, against the real app on real PostgreSQL and Redis.
 * Each call carries its own X-Request-Id, and the trail is read back by it:
 * - every refused call (403) has a `denied` record, for admin-only routes too (/users,
 *   /audit-events, jobs, reports), with the patient id whenever the call names one;
 * - every call to a patient-data route (patients, appointments, exports), allowed or refused, has
 *   a record with the patient id the call was about.
 */
describe('server audit (integration): every route × role leaves the trail it should', function () {
  this.timeout(120_000);
  let api: TestApi;
  const users = {} as Record<Role, TestUser>;
  const ids = { patient: '', appointment: '', adminExport: '', clerkExport: '', user: '' };

  before(async () => {
    api = await TestApi.start('route-walk');
    users.admin = api.admin;
    users.clinician = await api.createUser('clinician');
    users.clerk = await api.createUser('clerk');
    const victim = await api.createUser('clinician');
    const patient = await api.createPatient({ email: 'walk@example.org' });
    const booked = await api.book({ patientId: patient.id, clinicianId: users.clinician.id, startsAt: '2035-03-01T09:00:00Z', endsAt: '2035-03-01T09:30:00Z' });
    const adminExport = await request(api.app).post(`/api/v1/patients/${patient.id}/appointment-exports`).set(bearer(api.admin.token));
    const clerkExport = await request(api.app).post(`/api/v1/patients/${patient.id}/appointment-exports`).set(bearer(users.clerk.token));
    Object.assign(ids, {
      patient: patient.id,
      appointment: booked.body.id,
      adminExport: adminExport.body.id,
      clerkExport: clerkExport.body.id,
      user: victim.id,
    });
  });
  after(async () => {
    await api?.close();
  });

  /** The patient a route is about (null when the call names none). */
  function patientOf(path: string): string | null {
    if (path.startsWith('/api/v1/patients/:id') || path.startsWith('/api/v1/appointments/:id') || path.startsWith('/api/v1/exports/:id')) return ids.patient;
    return null;
  }
  const isPatientData = (path: string) => /^\/api\/v1\/(patients|appointments|exports)/.test(path);

  function concrete(path: string): string {
    return path
      .replace('/patients/:id', `/patients/${ids.patient}`)
      .replace('/appointments/:id', `/appointments/${ids.appointment}`)
      .replace('/exports/:id', `/exports/${ids.adminExport}`)
      .replace('/users/:id', `/users/${ids.user}`)
      .replace('/jobs/:queue/:id', '/jobs/exports/1')
      .replace('/reports/daily-summary/:date', '/reports/daily-summary/2035-03-01');
  }

  function bodyFor(method: string, path: string): Record<string, unknown> | undefined {
    if (method === 'get') return undefined;
    if (path.endsWith('/auth/change-password')) return { currentPassword: 'not the password', newPassword: 'another long enough password' };
    if (path === '/api/v1/users') return { username: `walk.${api.unique()}`, displayName: 'Walk', role: 'clerk' };
    if (path === '/api/v1/users/:id') return { displayName: 'Walked' };
    if (path === '/api/v1/patients') return { mrn: `W-${api.unique()}`, givenName: 'Walk', familyName: 'Er', birthDate: '1990-01-01', sex: 'unknown' };
    if (path === '/api/v1/patients/:id') return { address: 'Walkway 1' };
    if (path === '/api/v1/appointments')
      return {
        patientId: ids.patient,
        clinicianId: users.clinician.id,
        startsAt: `2036-0${1 + (Number(api.unique().slice(-1)) % 8)}-01T10:00:00Z`,
        endsAt: undefined,
        department: 'D',
      };
    if (path === '/api/v1/appointments/:id') return { notes: 'walked' };
    if (path.endsWith('/status')) return { status: 'checked-in' };
    if (path.endsWith('daily-summary')) return { date: '2035-03-01' };
    return {};
  }

  it('walks every route as every role and checks the audit trail of each call', async () => {
    const routes = appInfo(api.app).routes.filter((r) => !('public' in r.access));
    let checked = 0;
    const summary: string[] = [];
    for (const route of routes) {
      for (const role of ROLES) {
        // Signing out ends the session: use a session of its own.
        const token = route.path.endsWith('/auth/logout') ? await signIn(api.app, users[role].username, users[role].password) : users[role].token;
        const requestId = randomBytes(16).toString('hex');
        let body = bodyFor(route.method, route.path);
        if (body && route.path === '/api/v1/appointments') {
          const start = new Date(Date.UTC(2036, 0, 1, 8) + checked * 3_600_000);
          body = { ...body, startsAt: start.toISOString(), endsAt: new Date(start.getTime() + 1_800_000).toISOString() };
        }
        const req = request(api.app)[route.method as 'get'](concrete(route.path)).set(bearer(token)).set('X-Request-Id', requestId);
        const res = body === undefined ? await req : await req.send(body);
        expect(res.status, `${route.method} ${route.path} as ${role}: ${JSON.stringify(res.body).slice(0, 200)}`).to.be.below(500);
        const rows = (await api.deps
          .db('audit_events')
          .where({ request_id: requestId })
          .select('action', 'outcome', 'patient_id', 'actor_role', 'details')) as AuditRow[];
        const where = `${route.method.toUpperCase()} ${route.path} as ${role} → ${res.status} ${res.body?.error?.code ?? ''}; trail ${JSON.stringify(rows)}`;
        if (res.status === 403) {
          const denied = rows.filter((r) => r.outcome === 'denied');
          expect(denied, `refused calls are audited: ${where}`).to.have.length.greaterThan(0);
          expect(denied[0]!.actor_role, where).to.equal(role);
        }
        if (isPatientData(route.path)) {
          expect(rows, `patient-data calls are audited, allowed or refused: ${where}`).to.have.length.greaterThan(0);
          const expected = patientOf(route.path);
          if (expected !== null) expect(rows[0]!.patient_id, `with the patient: ${where}`).to.equal(expected);
        }
        summary.push(`${route.method.toUpperCase()} ${route.path} ${role} ${res.status} ${rows.map((r) => `${r.action}:${r.outcome}`).join(',')}`);
        checked += 1;
      }
    }
    expect(checked).to.equal(routes.length * ROLES.length);
    expect(checked).to.be.greaterThan(60);
    // The named gaps of the issue are closed.
    const line = (s: string) => summary.filter((l) => l.includes(s));
    expect(line('GET /api/v1/exports/:id clerk 403').join(), 'NOT_YOUR_EXPORT is audited').to.include('patient.export.read:denied');
    expect(line('GET /api/v1/exports/:id admin 200').join(), 'reading an export is audited').to.include('patient.export.read:success');
    expect(line('GET /api/v1/users clinician 403').join()).to.include('user.list:denied');
    expect(line('GET /api/v1/audit-events clerk 403').join()).to.include('audit.list:denied');
  });

  it("a clerk reading another user's export: 403 NOT_YOUR_EXPORT, audited as denied with the patient; their own is read and audited", async () => {
    const other = await request(api.app).get(`/api/v1/exports/${ids.adminExport}`).set(bearer(users.clerk.token)).set('X-Request-Id', 'a'.repeat(32));
    expect(other.status).to.equal(403);
    expect(other.body.error.code).to.equal('NOT_YOUR_EXPORT');
    const [refused] = (await api.deps.db('audit_events').where({ request_id: 'a'.repeat(32) })) as Array<Record<string, unknown>>;
    expect(refused).to.include({ action: 'patient.export.read', outcome: 'denied', patient_id: ids.patient, resource_id: ids.adminExport });
    const csv = await request(api.app).get(`/api/v1/exports/${ids.adminExport}/csv`).set(bearer(users.clerk.token)).set('X-Request-Id', 'b'.repeat(32));
    expect(csv.status).to.equal(403);
    expect(
      await api.deps
        .db('audit_events')
        .where({ request_id: 'b'.repeat(32) })
        .first('action', 'outcome', 'patient_id'),
    ).to.deep.equal({ action: 'patient.export.download', outcome: 'denied', patient_id: ids.patient });
    const own = await request(api.app).get(`/api/v1/exports/${ids.clerkExport}`).set(bearer(users.clerk.token)).set('X-Request-Id', 'c'.repeat(32));
    expect(own.status).to.equal(200);
    expect(
      await api.deps
        .db('audit_events')
        .where({ request_id: 'c'.repeat(32) })
        .first('action', 'outcome', 'patient_id'),
    ).to.deep.equal({ action: 'patient.export.read', outcome: 'success', patient_id: ids.patient });
  });

  it("the worker's reminder mails are audited (composed with the outbox row, and each delivery), with the patient", async () => {
    const patient = await api.createPatient({ email: 'remind.me@example.org' });
    const soon = new Date(Date.now() + 3 * 3_600_000);
    soon.setUTCMinutes(0, 0, 0);
    const booked = await api.book({
      patientId: patient.id,
      clinicianId: users.clinician.id,
      startsAt: soon.toISOString(),
      endsAt: new Date(soon.getTime() + 1_800_000).toISOString(),
    });
    expect(booked.status, JSON.stringify(booked.body)).to.equal(201);
    const dir = await mkdtemp(join(tmpdir(), 'carebox-walk-mail-'));
    try {
      const db = api.deps.db;
      const config = api.deps.config;
      const notifications = new NotificationService(
        new OutboxRepository(db),
        createMailTransport({ SMTP_URL: undefined, MAIL_FILE_DIR: dir }),
        { from: config.MAIL_FROM, timezone: 'UTC', leadHours: 24 },
        silent,
        new AuditService(new AuditRepository(db), transactionRunner(db, config), silent),
        transactionRunner(db, config),
      );
      const result = await notifications.scan();
      expect(result.sent).to.be.at.least(1);
      const trail = (await db('audit_events')
        .where({ patient_id: patient.id })
        .whereIn('action', ['patient.reminder.compose', 'patient.reminder.send'])
        .orderBy('id')) as Array<Record<string, unknown>>;
      expect(trail.map((e) => `${e.action}:${e.outcome}:${e.actor_username}`)).to.deep.equal([
        'patient.reminder.compose:success:(system: reminders)',
        'patient.reminder.send:success:(system: reminders)',
      ]);
      expect(trail[0]!.resource_id).to.equal(booked.body.id);
      expect(JSON.stringify(trail)).not.to.include('remind.me');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
