import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { appInfo } from '../../../../server/src/app.js';
import { startWorkerProcess, type WorkerProcess } from '../../../../server/src/lifecycle/worker.dependencies.js';
import { createLogger } from '../../../../server/src/observability/logger.js';
import { bearer, migratedDatabase, signIn, TestApi } from '../support/api.js';
import { eventually, testConfig, type TestDatabase } from '../support/services.js';

/**
 * Runs every route (successes and failures, searches with names and MRNs in the query string) and
 * the jobs that read patient data, with every log line of the web and worker processes captured at
 * `trace`, then greps them for the seeded patient's names, MRN, birth date, e-mail, phone and
 * address, and for passwords and tokens.
 */
describe('server logs (integration): never patient data, never secrets', function () {
  this.timeout(120_000);
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim() !== ''),
      );
      done();
    },
  });
  const logger = createLogger({ level: 'trace', role: 'test', destination });
  let database: TestDatabase;
  let api: TestApi;
  let worker: WorkerProcess;
  let mailDir: string;

  const SECRET_PATIENT = {
    mrn: 'ZQX-LOGCHECK-77',
    givenName: 'Wilhelmina',
    familyName: 'Quixotebottom',
    birthDate: '1943-07-19',
    sex: 'female',
    email: 'wilhelmina.q@example.org',
    phone: '+49 30 9876 5432',
    address: '17 Lantern Alley, Gotham',
  };

  before(async () => {
    database = await migratedDatabase('logs');
    mailDir = mkdtempSync(join(tmpdir(), 'carebox-logs-mail-'));
    api = await TestApi.start('logs', { LOG_LEVEL: 'trace', MAIL_FILE_DIR: mailDir }, { logger, database });
    worker = startWorkerProcess(
      testConfig({ DATABASE_URL: database.url, QUEUE_NAME_PREFIX: api.deps.config.QUEUE_NAME_PREFIX, MAIL_FILE_DIR: mailDir, LOG_LEVEL: 'trace' }),
      {
        logger,
        onBroken: () => undefined,
      },
    );
  });
  after(async () => {
    await worker?.close(2_000);
    await api?.close();
    await database?.drop();
    rmSync(mailDir, { recursive: true, force: true });
  });

  it('exercises every route and job, then finds none of the patient fields, passwords or tokens in the logs', async () => {
    const { app } = api;
    const admin = bearer(api.admin.token);
    const clinician = await api.createUser('clinician');
    const clerk = await api.createUser('clerk');
    const patient = await api.createPatient(SECRET_PATIENT);
    const soon = new Date(Date.now() + 3_600_000);
    const booking = await api.book({
      patientId: patient.id,
      clinicianId: clinician.id,
      startsAt: soon.toISOString(),
      endsAt: new Date(soon.getTime() + 1_800_000).toISOString(),
    });
    expect(booking.status).to.equal(201);
    const appointmentId = booking.body.id as string;

    const calls: Array<[string, string, unknown?, Record<string, string>?]> = [
      ['get', `/api/v1/patients?q=${SECRET_PATIENT.familyName}`],
      ['get', `/api/v1/patients?q=${SECRET_PATIENT.givenName}%20${SECRET_PATIENT.familyName}`],
      ['get', `/api/v1/patients?q=${SECRET_PATIENT.mrn}`],
      ['get', `/api/v1/patients/${patient.id}`],
      ['get', `/api/v1/patients/${patient.id}`],
      ['patch', `/api/v1/patients/${patient.id}`, { address: SECRET_PATIENT.address, phone: SECRET_PATIENT.phone }],
      ['post', '/api/v1/patients', { ...SECRET_PATIENT }],
      ['post', '/api/v1/patients', { ...SECRET_PATIENT, birthDate: `${SECRET_PATIENT.birthDate}x` }],
      ['post', '/api/v1/patients', `{"mrn":"${SECRET_PATIENT.mrn}",`, { 'Content-Type': 'application/json' }],
      ['get', `/api/v1/appointments?patientId=${patient.id}`],
      ['get', `/api/v1/appointments/${appointmentId}`],
      ['patch', `/api/v1/appointments/${appointmentId}`, { notes: `${SECRET_PATIENT.familyName} prefers mornings` }],
      ['post', `/api/v1/appointments/${appointmentId}/status`, { status: 'bogus' }],
      ['get', `/api/v1/users?role=clinician`],
      ['get', `/api/v1/users/${clinician.id}`],
      ['patch', `/api/v1/users/${clerk.id}`, { displayName: 'Clerk Renamed' }],
      ['get', '/api/v1/clinicians'],
      ['get', `/api/v1/audit-events?patientId=${patient.id}`],
      ['get', '/api/v1/queues'],
      ['post', '/api/v1/reports/daily-summary', {}],
      ['post', '/api/v1/notifications/reminder-scans'],
      ['get', '/api/v1/auth/me'],
      ['get', '/api/v1/openapi.json'],
      ['get', '/ready'],
      ['get', '/metrics'],
      ['get', `/api/v1/nope?name=${SECRET_PATIENT.familyName}`],
    ];
    for (const [method, path, body, headers] of calls) {
      const r = request(app)
        [method as 'get'](path)
        .set(admin)
        .set(headers ?? {});
      const res = await (body === undefined ? r : r.send(body as object));
      expect(res.status, `${method} ${path}`).to.be.below(500);
    }
    const exp = await request(app).post(`/api/v1/patients/${patient.id}/appointment-exports`).set(admin);
    expect(exp.status).to.equal(202);
    await eventually(
      async () => ((await request(app).get(`/api/v1/exports/${exp.body.id}`).set(admin)).body.status === 'ready' ? true : undefined),
      20_000,
      'export ready',
    );
    const csv = await request(app).get(`/api/v1/exports/${exp.body.id}/csv`).set(admin);
    expect(csv.text).to.include(SECRET_PATIENT.mrn);
    const reset = await request(app).post(`/api/v1/users/${clerk.id}/reset-password`).set(admin);
    await request(app).post('/api/v1/auth/login').send({ username: clerk.username, password: reset.body.temporaryPassword });
    await request(app).post('/api/v1/auth/login').send({ username: clerk.username, password: 'hunter2-wrong-password' });
    const scratchToken = await signIn(app, clinician.username, clinician.password);
    await request(app).post('/api/v1/auth/logout').set(bearer(scratchToken));
    await request(app)
      .post('/api/v1/auth/change-password')
      .set(bearer(api.admin.token))
      .send({ currentPassword: 'hunter2-wrong-password', newPassword: 'another long password 1' });
    // The worker sends the reminder (file transport) for the appointment within the lead time.
    await worker.worker.enqueue('reminders-scan', {});
    await eventually(async () => ((await api.deps.db('notification_outbox').where({ status: 'sent' }).first()) ? true : undefined), 20_000, 'reminder sent');

    // Every API route was exercised at least once above.
    const exercised = new Set(lines.flatMap((l) => (JSON.parse(l).req?.path ? [JSON.parse(l).req.method + ' ' + JSON.parse(l).req.path] : [])));
    expect(exercised.size).to.be.greaterThan(20);
    expect(appInfo(app).routes.length).to.be.greaterThan(20);

    const text = lines.join('\n');
    expect(lines.length).to.be.greaterThan(40);
    const forbidden = [
      SECRET_PATIENT.mrn,
      SECRET_PATIENT.mrn.toLowerCase(),
      SECRET_PATIENT.givenName,
      SECRET_PATIENT.familyName,
      SECRET_PATIENT.birthDate,
      SECRET_PATIENT.email,
      SECRET_PATIENT.phone,
      SECRET_PATIENT.address,
      'Lantern',
      api.admin.token,
      scratchToken,
      clinician.password,
      reset.body.temporaryPassword,
      'hunter2-wrong-password',
    ];
    for (const value of forbidden) expect(text, `logs contain ${value}`).not.to.include(value);
    // The logs did record the requests (by route and status), so the absence above means something.
    expect(text).to.include('"path":"/api/v1/patients"');
    expect(text).to.include('job succeeded');
  });
});
