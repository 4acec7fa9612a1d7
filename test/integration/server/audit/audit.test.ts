import { expect } from 'chai';
import request from 'supertest';
import { bearer, TestApi } from '../support/api.js';

describe('server audit (integration): every read and change of patient data is recorded, or refused', function () {
  this.timeout(60_000);
  let api: TestApi;
  let admin: Record<string, string>;

  before(async () => {
    api = await TestApi.start('audit');
    admin = bearer(api.admin.token);
  });
  after(async () => {
    await api?.close();
  });

  const events = async (qs: string) => (await request(api.app).get(`/api/v1/audit-events?${qs}`).set(admin)).body.items as Array<Record<string, any>>;

  it('records search results per patient without the search terms, and list results per appointment', async () => {
    const patient = await api.createPatient({ familyName: 'Auditable' });
    const clinician = await api.createUser('clinician');
    await api.book({ patientId: patient.id, clinicianId: clinician.id, startsAt: '2034-01-01T09:00:00Z', endsAt: '2034-01-01T09:30:00Z' });
    await request(api.app).get('/api/v1/patients?q=auditable').set(admin);
    await request(api.app).get(`/api/v1/appointments?patientId=${patient.id}`).set(admin);
    const trail = await events(`patientId=${patient.id}`);
    expect(trail.map((e) => e.action)).to.include.members([
      'patient.search.result',
      'appointment.list',
      'appointment.list.result',
      'appointment.create',
      'patient.create',
    ]);
    const search = (await events('action=patient.search'))[0]!;
    expect(search.details).to.deep.equal({ resultCount: 1, filtered: true });
    expect(JSON.stringify(await events('limit=100')).toLowerCase()).not.to.include('auditable');
  });

  it('records failed attempts with their outcome (not_found, rejected by the database rules)', async () => {
    const missing = '5b0f0e58-8d67-4d35-9d4e-7c3fd31d6c00';
    await request(api.app).get(`/api/v1/patients/${missing}`).set(admin);
    const [event] = await events(`patientId=${missing}`);
    expect(event).to.include({ action: 'patient.read', outcome: 'not_found', resourceId: missing });
    expect(event!.details).to.deep.equal({ code: 'NOT_FOUND' });
  });

  it('fails the request with 503 AUDIT_UNAVAILABLE and changes nothing when the audit record cannot be written', async () => {
    const patient = await api.createPatient({ givenName: 'Before' });
    await api.deps.db.raw('alter table audit_events rename to audit_events_away');
    try {
      const update = await request(api.app).patch(`/api/v1/patients/${patient.id}`).set(admin).send({ givenName: 'After' });
      expect(update.status).to.equal(503);
      expect(update.body.error.code).to.equal('AUDIT_UNAVAILABLE');
      expect(update.headers['retry-after']).to.equal('5');
      const read = await request(api.app).get(`/api/v1/patients/${patient.id}`).set(admin);
      expect(read.status, 'no data leaves without its audit record').to.equal(503);
      expect(read.body).not.to.have.property('givenName');
      const create = await request(api.app)
        .post('/api/v1/patients')
        .set(admin)
        .send({ mrn: 'AUD-NOPE', givenName: 'X', familyName: 'Y', birthDate: '2000-01-01', sex: 'unknown' });
      expect(create.status).to.equal(503);
    } finally {
      await api.deps.db.raw('alter table audit_events_away rename to audit_events');
    }
    const row = await api.deps.db('patients').where({ id: patient.id }).first('given_name');
    expect(row.given_name, 'the change was rolled back with its audit record').to.equal('Before');
    expect(await api.deps.db('patients').where({ mrn: 'AUD-NOPE' }).first()).to.equal(undefined);
  });

  it('filters by actor, action, outcome and time, newest first, and pages', async () => {
    const clerk = await api.createUser('clerk');
    for (let i = 0; i < 3; i += 1) await api.createPatient({}, clerk.token);
    const mine = await events(`actorId=${clerk.id}&action=patient.create`);
    expect(mine).to.have.length(3);
    expect(Number(mine[0]!.id)).to.be.greaterThan(Number(mine[1]!.id));
    const from = new Date(Date.now() - 60_000).toISOString();
    const page1 = await request(api.app).get(`/api/v1/audit-events?actorId=${clerk.id}&limit=2&from=${from}`).set(admin);
    const page2 = await request(api.app).get(`/api/v1/audit-events?actorId=${clerk.id}&limit=2&from=${from}&cursor=${page1.body.nextCursor}`).set(admin);
    const ids = [...page1.body.items, ...page2.body.items].map((e: { id: string }) => e.id);
    expect(new Set(ids).size).to.equal(ids.length);
    expect((await events(`actorId=${clerk.id}&to=${from}`)).length).to.equal(0);
    expect((await request(api.app).get('/api/v1/audit-events?outcome=maybe').set(admin)).status).to.equal(400);
  });
});
