import { expect } from 'chai';
import request from 'supertest';
import { bearer, GOOD_PASSWORD, metricValue, signIn, TestApi } from '../support/api.js';

/**
 * Issue 4's "Done when", walked in-process as a new user would: sign in as the admin, create a
 * clinician, register a patient, book; the same slot again is 409; read the patient twice and the
 * cache hit counter rises; the audit trail shows both reads.
 */
describe('server flow (integration): the "Done when" walk-through on real PostgreSQL and Redis', function () {
  this.timeout(60_000);
  let api: TestApi;

  before(async () => {
    api = await TestApi.start('done_when');
  });
  after(async () => {
    await api?.close();
  });

  it('signs in as admin, creates a clinician and a patient, books, refuses the double booking, caches the reads and audits them', async () => {
    const { app } = api;
    const token = await signIn(app, 'admin', GOOD_PASSWORD);
    const admin = bearer(token);

    const clinician = await request(app)
      .post('/api/v1/users')
      .set(admin)
      .send({ username: 'dr.quinn', displayName: 'Dr Michaela Quinn', role: 'clinician', department: 'General Medicine', email: 'quinn@example.org' });
    expect(clinician.status).to.equal(201);
    expect(clinician.body.user).to.include({ role: 'clinician', mustChangePassword: true });
    expect(clinician.body.temporaryPassword).to.match(/^[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){4}$/);

    const patient = await request(app)
      .post('/api/v1/patients')
      .set(admin)
      .send({ mrn: 'mrn-done-1', givenName: 'Katherine', familyName: 'Johnson', birthDate: '1918-08-26', sex: 'female', phone: '+1 555 0100' });
    expect(patient.status).to.equal(201);
    expect(patient.body).to.include({ mrn: 'MRN-DONE-1', isSynthetic: false });

    const slot = {
      patientId: patient.body.id,
      clinicianId: clinician.body.user.id,
      startsAt: '2031-03-03T09:00:00Z',
      endsAt: '2031-03-03T09:30:00Z',
      department: 'General Medicine',
    };
    const booked = await request(app).post('/api/v1/appointments').set(admin).send(slot);
    expect(booked.status).to.equal(201);
    expect(booked.body).to.include({ status: 'booked', patientId: patient.body.id });
    const again = await request(app).post('/api/v1/appointments').set(admin).send(slot);
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('SLOT_TAKEN');

    const before = (await request(app).get('/metrics')).text;
    const first = await request(app).get(`/api/v1/patients/${patient.body.id}`).set(admin);
    const second = await request(app).get(`/api/v1/patients/${patient.body.id}`).set(admin);
    expect(first.status).to.equal(200);
    expect(second.body).to.deep.equal(first.body);
    const after = (await request(app).get('/metrics')).text;
    expect(metricValue(after, 'carebox_cache_misses_total', { cache: 'patient' })).to.equal(
      metricValue(before, 'carebox_cache_misses_total', { cache: 'patient' }) + 1,
    );
    expect(metricValue(after, 'carebox_cache_hits_total', { cache: 'patient' })).to.equal(
      metricValue(before, 'carebox_cache_hits_total', { cache: 'patient' }) + 1,
    );
    expect(after).to.match(/^carebox_cache_hit_ratio\{cache="patient"\} [0-9.]+$/m);

    const audit = await request(app).get(`/api/v1/audit-events?patientId=${patient.body.id}&action=patient.read`).set(admin);
    expect(audit.status).to.equal(200);
    expect(audit.body.items).to.have.length(2);
    for (const event of audit.body.items) {
      expect(event).to.include({
        action: 'patient.read',
        actorUsername: 'admin',
        actorRole: 'admin',
        resourceType: 'patient',
        resourceId: patient.body.id,
        outcome: 'success',
      });
      expect(event.clientIp).to.be.a('string');
      expect(event.requestId).to.be.a('string');
      expect(Date.parse(event.occurredAt)).to.be.closeTo(Date.now(), 60_000);
    }
    const all = await request(app).get(`/api/v1/audit-events?patientId=${patient.body.id}`).set(admin);
    expect(all.body.items.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`)).to.deep.equal([
      'patient.read:success',
      'patient.read:success',
      'appointment.create:conflict',
      'appointment.create:success',
      'patient.create:success',
    ]);
  });
});
