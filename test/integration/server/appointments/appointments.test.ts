import { expect } from 'chai';
import request from 'supertest';
import { bearer, TestApi, type TestUser } from '../support/api.js';

describe('server appointments (integration): booking, double booking, filters, life cycle', function () {
  this.timeout(60_000);
  let api: TestApi;
  let admin: Record<string, string>;
  let clinician: TestUser;
  let patient: Record<string, any>;

  before(async () => {
    api = await TestApi.start('appointments');
    admin = bearer(api.admin.token);
    clinician = await api.createUser('clinician');
    patient = await api.createPatient();
  });
  after(async () => {
    await api?.close();
  });

  const slot = (start: string, end: string, extra: Record<string, unknown> = {}) => ({
    patientId: patient.id,
    clinicianId: clinician.id,
    startsAt: start,
    endsAt: end,
    ...extra,
  });

  it('lets exactly one of many concurrent bookings of the same slot succeed (the database decides)', async () => {
    const attempts = await Promise.all(Array.from({ length: 8 }, () => api.book(slot('2033-02-01T09:00:00Z', '2033-02-01T09:30:00Z'))));
    const statuses = attempts.map((r) => r.status).sort();
    expect(statuses).to.deep.equal([201, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of attempts.filter((a) => a.status === 409)) expect(r.body.error.code).to.equal('SLOT_TAKEN');
  });

  it('refuses overlaps (any offset notation), allows back-to-back slots and other clinicians, and frees a cancelled slot', async () => {
    expect((await api.book(slot('2033-02-02T10:00:00Z', '2033-02-02T11:00:00Z'))).status).to.equal(201);
    expect((await api.book(slot('2033-02-02T11:30:00+01:00', '2033-02-02T12:30:00+01:00'))).status, 'overlaps 10:30-11:00Z').to.equal(409);
    expect((await api.book(slot('2033-02-02T11:00:00Z', '2033-02-02T11:15:00Z'))).status, 'back to back').to.equal(201);
    const other = await api.createUser('clinician');
    expect((await api.book(slot('2033-02-02T10:00:00Z', '2033-02-02T11:00:00Z', { clinicianId: other.id }))).status).to.equal(201);
    const first = await api.book(slot('2033-02-03T08:00:00Z', '2033-02-03T08:30:00Z'));
    expect((await request(api.app).post(`/api/v1/appointments/${first.body.id}/status`).set(admin).send({ status: 'cancelled' })).status).to.equal(200);
    expect((await api.book(slot('2033-02-03T08:00:00Z', '2033-02-03T08:30:00Z'))).status, 'cancelled frees the slot').to.equal(201);
  });

  it('validates: end after start, at most 12 h, explicit time zone, known patient and active clinician', async () => {
    const bad = await api.book(slot('2033-02-04T10:00:00Z', '2033-02-04T09:00:00Z'));
    expect(bad.status).to.equal(400);
    expect(bad.body.error.fields).to.deep.equal([{ path: 'endsAt', message: 'must be after startsAt' }]);
    expect((await api.book(slot('2033-02-04T00:00:00Z', '2033-02-04T13:00:00Z'))).body.error.fields[0].path).to.equal('endsAt');
    expect((await api.book(slot('2033-02-04T10:00:00', '2033-02-04T10:30:00'))).status).to.equal(400);
    const noPatient = await api.book(slot('2033-02-04T10:00:00Z', '2033-02-04T10:30:00Z', { patientId: '00000000-0000-4000-8000-000000000000' }));
    expect(noPatient.status).to.equal(422);
    expect(noPatient.body.error.code).to.equal('PATIENT_NOT_FOUND');
    const clerk = await api.createUser('clerk');
    const notClinician = await api.book(slot('2033-02-04T10:00:00Z', '2033-02-04T10:30:00Z', { clinicianId: clerk.id }));
    expect(notClinician.status).to.equal(422);
    expect(notClinician.body.error.code).to.equal('CLINICIAN_NOT_FOUND');
  });

  it('filters by date range, clinician, patient and status, and pages by start time', async () => {
    const other = await api.createPatient();
    for (let h = 8; h < 13; h += 1) {
      const hh = String(h).padStart(2, '0');
      const res = await api.book(slot(`2033-03-01T${hh}:00:00Z`, `2033-03-01T${hh}:30:00Z`, h % 2 === 0 ? {} : { patientId: other.id }));
      expect(res.status).to.equal(201);
    }
    const list = (qs: string) => request(api.app).get(`/api/v1/appointments?${qs}`).set(admin);
    const day = 'from=2033-03-01T00:00:00Z&to=2033-03-02T00:00:00Z';
    const all = await list(`${day}&clinicianId=${clinician.id}`);
    expect(all.body.items.map((a: { startsAt: string }) => a.startsAt.slice(11, 16))).to.deep.equal(['08:00', '09:00', '10:00', '11:00', '12:00']);
    expect((await list(`${day}&patientId=${other.id}`)).body.items).to.have.length(2);
    expect((await list(`${day}&status=cancelled`)).body.items).to.have.length(0);
    const page1 = await list(`${day}&limit=2`);
    const page2 = await list(`${day}&limit=2&cursor=${encodeURIComponent(page1.body.nextCursor)}`);
    const page3 = await list(`${day}&limit=2&cursor=${encodeURIComponent(page2.body.nextCursor)}`);
    expect([...page1.body.items, ...page2.body.items, ...page3.body.items].map((a: { id: string }) => a.id)).to.deep.equal(
      all.body.items.map((a: { id: string }) => a.id),
    );
    expect(page3.body.nextCursor).to.equal(null);
    const inverted = await list('from=2033-03-02T00:00:00Z&to=2033-03-01T00:00:00Z');
    expect(inverted.status).to.equal(400);
    expect(inverted.body.error.fields[0].path).to.equal('to');
  });

  it('moves through the life cycle; final states are final; only booked appointments are rescheduled', async () => {
    const booked = await api.book(slot('2033-04-01T09:00:00Z', '2033-04-01T09:30:00Z'));
    const set = (s: string) => request(api.app).post(`/api/v1/appointments/${booked.body.id}/status`).set(admin).send({ status: s });
    const move = (body: Record<string, unknown>) => request(api.app).patch(`/api/v1/appointments/${booked.body.id}`).set(admin).send(body);
    expect((await move({ startsAt: '2033-04-01T10:00:00Z', endsAt: '2033-04-01T10:30:00Z' })).body.startsAt).to.equal('2033-04-01T10:00:00.000Z');
    expect((await move({ startsAt: '2033-04-01T11:00:00Z' })).status, 'start and end together').to.equal(400);
    expect((await set('completed')).body.error.code).to.equal('INVALID_TRANSITION');
    expect((await set('checked-in')).body.status).to.equal('checked-in');
    expect((await set('checked-in')).status, 'idempotent').to.equal(200);
    expect((await move({ department: 'Neurology' })).body.error.code).to.equal('INVALID_STATE');
    expect((await set('completed')).body.status).to.equal('completed');
    expect((await set('no-show')).body.error.code).to.equal('INVALID_TRANSITION');
  });

  it('refuses a reschedule into a taken slot with 409 SLOT_TAKEN', async () => {
    await api.book(slot('2033-05-01T09:00:00Z', '2033-05-01T09:30:00Z'));
    const second = await api.book(slot('2033-05-01T10:00:00Z', '2033-05-01T10:30:00Z'));
    const res = await request(api.app)
      .patch(`/api/v1/appointments/${second.body.id}`)
      .set(admin)
      .send({ startsAt: '2033-05-01T09:15:00Z', endsAt: '2033-05-01T09:45:00Z' });
    expect(res.status).to.equal(409);
    expect(res.body.error.code).to.equal('SLOT_TAKEN');
  });
});
