import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { startWorkerProcess, type WorkerProcess } from '../../../../server/src/lifecycle/worker.dependencies.js';
import { SmtpMailTransport } from '../../../../server/src/notifications/mail.transport.js';
import { bearer, migratedDatabase, TestApi, type TestUser } from '../support/api.js';
import { FakeSmtpServer } from '../support/fake-smtp.js';
import { eventually, testConfig, type TestDatabase } from '../support/services.js';

describe('server jobs (integration): reminders, daily summary, exports and retention with a worker on real Redis', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let api: TestApi;
  let worker: WorkerProcess;
  let mailDir: string;
  let clinician: TestUser;
  let clerk: TestUser;
  let admin: Record<string, string>;
  const workerConfig = (overrides: Record<string, string> = {}) =>
    testConfig({
      DATABASE_URL: database.url,
      QUEUE_NAME_PREFIX: api.deps.config.QUEUE_NAME_PREFIX,
      MAIL_FILE_DIR: mailDir,
      DAILY_REPORT_RECIPIENTS: 'head.nurse@example.org',
      JOB_RETENTION_SUCCEEDED_HOURS: '1',
      ...overrides,
    });

  before(async () => {
    database = await migratedDatabase('jobs_flow');
    mailDir = mkdtempSync(join(tmpdir(), 'carebox-mail-'));
    api = await TestApi.start('jobs_flow', {}, { database });
    admin = bearer(api.admin.token);
    clinician = await api.createUser('clinician', { displayName: 'Dr Jane Foster' });
    clerk = await api.createUser('clerk');
    worker = startWorkerProcess(workerConfig(), { logger: api.deps.logger, onBroken: () => undefined });
  });
  after(async () => {
    await worker?.close(2_000);
    await api?.close();
    await database?.drop();
    rmSync(mailDir, { recursive: true, force: true });
  });

  const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
  const jobDone = async (queue: string, id: string) =>
    eventually(
      async () => {
        const res = await request(api.app)
          .get(`/api/v1/jobs/${queue}/${encodeURIComponent(id)}`)
          .set(admin);
        return res.body.status === 'succeeded' || res.body.status === 'failed' ? res.body : undefined;
      },
      30_000,
      `job ${queue}/${id}`,
    );

  it('sends one reminder per due appointment through the outbox (file transport by default), none for far, cancelled or synthetic ones', async () => {
    const patient = await api.createPatient({ givenName: 'Remy', familyName: 'Minder', email: 'remy@example.org' });
    const noMail = await api.createPatient({ givenName: 'Nomail' });
    const due = await api.book({ patientId: patient.id, clinicianId: clinician.id, startsAt: inHours(2), endsAt: inHours(2.5) });
    await api.book({ patientId: noMail.id, clinicianId: clinician.id, startsAt: inHours(3), endsAt: inHours(3.5) });
    await api.book({ patientId: patient.id, clinicianId: clinician.id, startsAt: inHours(72), endsAt: inHours(72.5) });
    const cancelled = await api.book({ patientId: patient.id, clinicianId: clinician.id, startsAt: inHours(4), endsAt: inHours(4.5) });
    const [synthetic] = await api.deps
      .db('patients')
      .insert({
        mrn: 'DEMO-9999999',
        given_name: 'Demo',
        family_name: 'Person (demo)',
        birth_date: '1970-01-01',
        sex: 'unknown',
        email: 'demo@example.invalid',
        is_synthetic: true,
        demo_tenant: 'demo',
      })
      .returning('id');
    expect((await api.book({ patientId: synthetic.id, clinicianId: clinician.id, startsAt: inHours(6), endsAt: inHours(6.5) })).status).to.equal(201);
    await request(api.app).post(`/api/v1/appointments/${cancelled.body.id}/status`).set(admin).send({ status: 'cancelled' });

    const scan = await request(api.app).post('/api/v1/notifications/reminder-scans').set(admin);
    expect(scan.status).to.equal(202);
    expect(scan.headers.location).to.equal(scan.body.statusUrl);
    const result = await jobDone('notifications', scan.body.id);
    expect(result).to.include({ status: 'succeeded', type: 'reminders-scan' });

    const rows = await api.deps.db('notification_outbox').where({ kind: 'appointment-reminder' }).select('appointment_id', 'status', 'recipient');
    expect(rows).to.have.length(2);
    expect(rows.find((r) => r.appointment_id === due.body.id)).to.include({ status: 'sent', recipient: 'remy@example.org' });
    expect(rows.find((r) => r.appointment_id !== due.body.id)).to.include({ status: 'skipped', recipient: null });
    const files = readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
    expect(files).to.have.length(1);
    const mail = readFileSync(join(mailDir, files[0]!), 'utf8');
    expect(mail).to.match(/^From: Carebox <no-reply@carebox.invalid>\r\nTo: remy@example.org\r\nSubject: Appointment reminder: /);
    expect(mail).to.include('Dear Remy Minder,').and.to.include('Dr Jane Foster');

    const again = await request(api.app).post('/api/v1/notifications/reminder-scans').set(admin);
    await jobDone('notifications', again.body.id);
    expect(await api.deps.db('notification_outbox').where({ kind: 'appointment-reminder' }).count({ n: '*' })).to.deep.equal([{ n: '2' }]);
    expect(readdirSync(mailDir).filter((f) => f.endsWith('.eml'))).to.have.length(1);
  });

  it('sends through SMTP when SMTP_URL is set; retries a temporary refusal later and gives up on a permanent one', async () => {
    const smtp = await FakeSmtpServer.start();
    try {
      const transport = new SmtpMailTransport(smtp.url);
      await transport.send({
        id: 'a1b2',
        from: 'Carebox <no-reply@hospital.example>',
        to: 'pat@example.org',
        subject: 'Grüße',
        text: 'line one\n.starts with a dot\nÜmlaut',
      });
      expect(smtp.received).to.have.length(1);
      expect(smtp.received[0]).to.include({ from: 'no-reply@hospital.example' });
      expect(smtp.received[0]!.to).to.deep.equal(['pat@example.org']);
      expect(smtp.received[0]!.data).to.include('Subject: =?UTF-8?B?');
      expect(Buffer.from(smtp.received[0]!.data.split('\r\n\r\n')[1]!.replace(/\r\n/g, ''), 'base64').toString('utf8')).to.equal(
        'line one\r\n.starts with a dot\r\nÜmlaut',
      );

      const smtpWorker = startWorkerProcess(workerConfig({ SMTP_URL: smtp.url, QUEUE_NAME_PREFIX: `${api.deps.config.QUEUE_NAME_PREFIX}-smtp` }), {
        logger: api.deps.logger,
        onBroken: () => undefined,
      });
      try {
        const patient = await api.createPatient({ email: 'temp@example.org' });
        const booked = await api.book({ patientId: patient.id, clinicianId: clinician.id, startsAt: inHours(5), endsAt: inHours(5.5) });
        smtp.rcptReply = '451 4.3.0 try later';
        await smtpWorker.worker.enqueue('reminders-scan', {});
        const row = await eventually(
          async () => {
            const r = await api.deps.db('notification_outbox').where({ appointment_id: booked.body.id }).first();
            return r && r.attempts === 1 && r.status === 'pending' ? r : undefined;
          },
          20_000,
          'a retry to be scheduled',
        );
        expect(row.last_error).to.match(/451/);
        expect(new Date(row.next_attempt_at).getTime()).to.be.greaterThan(Date.now() + 30_000);

        smtp.rcptReply = '550 5.1.1 no such user';
        await api.deps.db('notification_outbox').where({ id: row.id }).update({ next_attempt_at: api.deps.db.fn.now() });
        await smtpWorker.worker.enqueue('reminders-scan', {});
        const failed = await eventually(
          async () => {
            const r = await api.deps.db('notification_outbox').where({ id: row.id }).first();
            return r.status === 'failed' ? r : undefined;
          },
          20_000,
          'a permanent failure',
        );
        expect(failed.last_error).to.match(/550/);
      } finally {
        await smtpWorker.close(2_000);
      }
    } finally {
      await smtp.stop();
    }
  });

  it('computes the daily summary on demand, stores it, mails it to DAILY_REPORT_RECIPIENTS, and reads it back', async () => {
    const patient = await api.createPatient();
    const a = await api.book({
      patientId: patient.id,
      clinicianId: clinician.id,
      startsAt: '2036-06-01T09:00:00Z',
      endsAt: '2036-06-01T09:30:00Z',
      department: 'Neurology',
    });
    await api.book({
      patientId: patient.id,
      clinicianId: clinician.id,
      startsAt: '2036-06-01T10:00:00Z',
      endsAt: '2036-06-01T10:30:00Z',
      department: 'Neurology',
    });
    await api.book({ patientId: patient.id, clinicianId: clinician.id, startsAt: '2036-06-02T00:30:00Z', endsAt: '2036-06-02T01:00:00Z' });
    await request(api.app).post(`/api/v1/appointments/${a.body.id}/status`).set(admin).send({ status: 'no-show' });

    expect((await request(api.app).get('/api/v1/reports/daily-summary/2036-06-01').set(admin)).status).to.equal(404);
    const queued = await request(api.app).post('/api/v1/reports/daily-summary').set(admin).send({ date: '2036-06-01' });
    expect(queued.status).to.equal(202);
    await jobDone('reports', queued.body.id);
    const summary = await request(api.app).get('/api/v1/reports/daily-summary/2036-06-01').set(bearer(clerk.token));
    expect(summary.status).to.equal(200);
    expect(summary.body).to.include({ date: '2036-06-01', timezone: 'UTC', total: 2, synthetic: 0 });
    expect(summary.body.byStatus).to.include({ booked: 1, 'no-show': 1 });
    expect(summary.body.byDepartment).to.deep.equal([
      { department: 'Neurology', total: 2, byStatus: { booked: 1, 'checked-in': 0, completed: 0, cancelled: 0, 'no-show': 1 } },
    ]);
    expect(summary.body.byClinician[0]).to.include({ clinicianId: clinician.id, displayName: 'Dr Jane Foster', total: 2 });
    expect(JSON.stringify(summary.body)).not.to.match(/Grace|Hopper/);
    const mail = await api.deps.db('notification_outbox').where({ kind: 'daily-summary', dedupe_key: '2036-06-01:head.nurse@example.org' }).first();
    expect(mail.status).to.equal('sent');
  });

  it("exports a patient's appointments as CSV for the requester (formula cells defused), audited end to end", async () => {
    const patient = await api.createPatient({ familyName: '=HYPERLINK("http://evil")', mrn: 'CSV-001' });
    await api.book({
      patientId: patient.id,
      clinicianId: clinician.id,
      startsAt: '2037-01-01T09:00:00Z',
      endsAt: '2037-01-01T09:30:00Z',
      department: 'Cardiology, "North"',
    });
    await api.book({ patientId: patient.id, clinicianId: clinician.id, startsAt: '2037-01-02T09:00:00Z', endsAt: '2037-01-02T09:30:00Z' });
    const requested = await request(api.app).post(`/api/v1/patients/${patient.id}/appointment-exports`).set(bearer(clerk.token));
    expect(requested.status).to.equal(202);
    expect(requested.body).to.include({ status: 'queued', patientId: patient.id, downloadUrl: null });
    expect((await request(api.app).get(`/api/v1/exports/${requested.body.id}/csv`).set(bearer(clerk.token))).status).to.be.oneOf([200, 409]);
    const ready = await eventually(
      async () => {
        const r = await request(api.app).get(`/api/v1/exports/${requested.body.id}`).set(bearer(clerk.token));
        return r.body.status === 'ready' ? r.body : undefined;
      },
      30_000,
      'export ready',
    );
    expect(ready).to.include({ rowCount: 2, downloadUrl: `/api/v1/exports/${requested.body.id}/csv` });
    const csv = await request(api.app).get(ready.downloadUrl).set(bearer(clerk.token));
    expect(csv.status).to.equal(200);
    expect(csv.headers['content-type']).to.match(/^text\/csv/);
    expect(csv.headers['content-disposition']).to.equal(`attachment; filename="appointments-${patient.id}.csv"`);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).to.equal('appointment_id,mrn,family_name,given_name,starts_at,ends_at,department,clinician,status');
    expect(lines).to.have.length(3);
    expect(lines[1]).to.include(',CSV-001,"\'=HYPERLINK(""http://evil"")",Grace,2037-01-01T09:00:00.000Z,');
    expect(lines[1]).to.include('"Cardiology, ""North""",Dr Jane Foster,booked');

    const other = await api.createUser('clerk');
    expect((await request(api.app).get(`/api/v1/exports/${requested.body.id}/csv`).set(bearer(other.token))).body.error.code).to.equal('NOT_YOUR_EXPORT');
    expect((await request(api.app).get(`/api/v1/exports/${requested.body.id}`).set(admin)).status).to.equal(200);
    const audit = await request(api.app).get(`/api/v1/audit-events?patientId=${patient.id}`).set(admin);
    expect(audit.body.items.map((e: { action: string }) => e.action)).to.include.members([
      'patient.export.request',
      'patient.export.generate',
      'patient.export.download',
    ]);
  });

  it('removes finished jobs older than the retention, and expired exports, in the maintenance job', async () => {
    const ping = await api.deps.jobs.enqueue('ping', {});
    await jobDone('system', ping.id);
    const fresh = await api.deps.jobs.enqueue('ping', {});
    await jobDone('system', fresh.id);
    // Age the first job past JOB_RETENTION_SUCCEEDED_HOURS (1 h).
    const key = `${api.deps.config.QUEUE_NAME_PREFIX}:system:jobs`;
    const stored = JSON.parse((await api.deps.redis.hget(key, ping.id))!);
    stored.options.timestamp = Date.now() - 2 * 3_600_000;
    await api.deps.redis.hset(key, ping.id, JSON.stringify(stored));
    const patient = await api.createPatient();
    const exp = await request(api.app).post(`/api/v1/patients/${patient.id}/appointment-exports`).set(admin);
    await api.deps
      .db('appointment_exports')
      .where({ id: exp.body.id })
      .update({ expires_at: api.deps.db.raw("now() - interval '1 minute'") });

    const job = await worker.worker.enqueue('maintenance', {});
    await jobDone('system', job.id);
    expect((await request(api.app).get(`/api/v1/jobs/system/${ping.id}`).set(admin)).status, 'pruned').to.equal(404);
    expect((await request(api.app).get(`/api/v1/jobs/system/${fresh.id}`).set(admin)).status, 'kept').to.equal(200);
    expect((await request(api.app).get(`/api/v1/exports/${exp.body.id}`).set(admin)).status).to.equal(404);
    const depths = await request(api.app).get('/api/v1/queues').set(admin);
    expect(depths.body.queues.map((q: { queue: string }) => q.queue)).to.deep.equal(['system', 'notifications', 'reports', 'exports']);
  });

  it('queues each scheduled run once however many workers schedule it', async () => {
    const second = startWorkerProcess(workerConfig(), { logger: api.deps.logger, onBroken: () => undefined });
    try {
      const first = await worker.worker.enqueue('daily-summary', { date: '2036-07-01' }, { jobId: 'daily-summary:2036-07-01' });
      const again = await second.worker.enqueue('daily-summary', { date: '2036-07-01' }, { jobId: 'daily-summary:2036-07-01' });
      expect(first.duplicate).to.equal(false);
      expect(again).to.include({ duplicate: true, id: 'daily-summary:2036-07-01' });
      await jobDone('reports', 'daily-summary:2036-07-01');
    } finally {
      await second.close(2_000);
    }
  });
});
