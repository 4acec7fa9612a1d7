import { expect } from 'chai';
import request from 'supertest';
import { bearer, metricValue, TestApi } from '../support/api.js';

describe('server patients (integration): register, search, page, validate, cache', function () {
  this.timeout(60_000);
  let api: TestApi;
  let admin: Record<string, string>;

  before(async () => {
    api = await TestApi.start('patients');
    admin = bearer(api.admin.token);
    const people = [
      ['Marie', 'Curie', 'PC-0001'],
      ['Pierre', 'Curie', 'PC-0002'],
      ['Irène', 'Joliot-Curie', 'PC-0003'],
      ['Rosalind', 'Franklin', 'PC-0004'],
      ['Lise', 'Meitner', 'PC-0005'],
      ['Curie', 'Smith', 'PC-0006'],
      ['Ada', '100%_Lovelace', 'PC-0007'],
    ];
    for (const [givenName, familyName, mrn] of people) await api.createPatient({ givenName, familyName, mrn });
  });
  after(async () => {
    await api?.close();
  });

  const search = (q: string, extra = '') =>
    request(api.app)
      .get(`/api/v1/patients?q=${encodeURIComponent(q)}${extra}`)
      .set(admin);
  const names = (res: request.Response) => res.body.items.map((p: { givenName: string; familyName: string }) => `${p.givenName} ${p.familyName}`);

  it('finds by the start of the family or given name, case-insensitively, in name order', async () => {
    expect(names(await search('curie'))).to.deep.equal(['Marie Curie', 'Pierre Curie', 'Curie Smith']);
    expect(names(await search('JOLIOT'))).to.deep.equal(['Irène Joliot-Curie']);
    expect(names(await search('ros'))).to.deep.equal(['Rosalind Franklin']);
  });

  it('finds given + family in either order, by exact MRN (any case), and treats % and _ literally', async () => {
    expect(names(await search('marie curie'))).to.deep.equal(['Marie Curie']);
    expect(names(await search('curie marie'))).to.deep.equal(['Marie Curie']);
    expect(names(await search('pc-0004'))).to.deep.equal(['Rosalind Franklin']);
    expect(names(await search('PC-000'))).to.deep.equal([]); // a partial MRN is no match: server/README.md says why
    // As server/README.md documents: a comma separates words, words after the second are ignored,
    // and accents are folded (the name keys, see unicode-names.test.ts).
    expect(names(await search('curie, marie'))).to.deep.equal(['Marie Curie']);
    expect(names(await search('marie curie sklodowska'))).to.deep.equal(['Marie Curie']);
    expect(names(await search('irene'))).to.deep.equal(['Irène Joliot-Curie']);
    expect(names(await search('100%_'))).to.deep.equal(['Ada 100%_Lovelace']);
    expect(names(await search('%'))).to.deep.equal([]);
    expect(names(await search('_'))).to.deep.equal([]);
  });

  it('pages with limit and an opaque cursor, without gaps or repeats, and rejects foreign cursors', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await request(api.app)
        .get(`/api/v1/patients?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
        .set(admin);
      expect(res.status).to.equal(200);
      expect(res.body.items.length).to.be.at.most(2);
      seen.push(...res.body.items.map((p: { mrn: string }) => p.mrn));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).to.have.length(7);
    expect(new Set(seen).size).to.equal(7);
    const appointmentCursor = Buffer.from(JSON.stringify(['appointments', '2030-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000'])).toString(
      'base64url',
    );
    for (const bad of ['nonsense', appointmentCursor, Buffer.from('[]').toString('base64url')]) {
      const res = await request(api.app)
        .get(`/api/v1/patients?cursor=${encodeURIComponent(bad)}`)
        .set(admin);
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('INVALID_CURSOR');
    }
  });

  it('answers 400 naming every bad field, 409 MRN_TAKEN, 404 for an unknown id, 400 for a malformed id', async () => {
    const bad = await request(api.app)
      .post('/api/v1/patients')
      .set(admin)
      .send({ mrn: '!!', givenName: '', birthDate: '2999-01-01', sex: 'x', email: 'not-mail', shoeSize: 44 });
    expect(bad.status).to.equal(400);
    expect(bad.body.error.code).to.equal('VALIDATION_FAILED');
    expect(bad.body.error.fields.map((f: { path: string }) => f.path).sort()).to.deep.equal([
      'birthDate',
      'email',
      'familyName',
      'givenName',
      'mrn',
      'sex',
      'shoeSize',
    ]);
    const dup = await request(api.app)
      .post('/api/v1/patients')
      .set(admin)
      .send({ mrn: 'pc-0001', givenName: 'A', familyName: 'B', birthDate: '2000-01-01', sex: 'unknown' });
    expect(dup.status).to.equal(409);
    expect(dup.body.error.code).to.equal('MRN_TAKEN');
    expect(JSON.stringify(dup.body)).not.to.include('PC-0001');
    expect((await request(api.app).get('/api/v1/patients/7d3c0a2e-9a53-4c4b-8c0e-5d8b3d2f1a00').set(admin)).status).to.equal(404);
    const malformed = await request(api.app).get('/api/v1/patients/not-a-uuid').set(admin);
    expect(malformed.status).to.equal(400);
    expect(malformed.body.error.fields[0].path).to.equal('id');
  });

  it('invalidates the cached record on update: the next read sees the change', async () => {
    const patient = await api.createPatient({ givenName: 'Cached' });
    const read = () => request(api.app).get(`/api/v1/patients/${patient.id}`).set(admin);
    await read();
    const hitsBefore = metricValue((await request(api.app).get('/metrics')).text, 'carebox_cache_hits_total', { cache: 'patient' });
    expect((await read()).body.givenName).to.equal('Cached');
    expect(metricValue((await request(api.app).get('/metrics')).text, 'carebox_cache_hits_total', { cache: 'patient' })).to.equal(hitsBefore + 1);
    const updated = await request(api.app).patch(`/api/v1/patients/${patient.id}`).set(admin).send({ givenName: 'Changed', phone: '+44 20 7946 0000' });
    expect(updated.status).to.equal(200);
    expect(updated.body).to.include({ givenName: 'Changed', phone: '+44 20 7946 0000' });
    expect((await read()).body.givenName).to.equal('Changed');
    // After the tombstone expires the cache fills again.
    await new Promise((r) => setTimeout(r, 2_100));
    await read();
    const hits = metricValue((await request(api.app).get('/metrics')).text, 'carebox_cache_hits_total', { cache: 'patient' });
    await read();
    expect(metricValue((await request(api.app).get('/metrics')).text, 'carebox_cache_hits_total', { cache: 'patient' })).to.equal(hits + 1);
  });

  it('keeps a birth date as the calendar day it is (no time-zone shift)', async () => {
    const patient = await api.createPatient({ birthDate: '1990-01-01' });
    expect(patient.birthDate).to.equal('1990-01-01');
    expect((await request(api.app).get(`/api/v1/patients/${patient.id}`).set(admin)).body.birthDate).to.equal('1990-01-01');
  });
});
