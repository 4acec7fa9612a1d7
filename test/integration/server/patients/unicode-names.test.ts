import { expect } from 'chai';
import request from 'supertest';
import { bearer, TestApi } from '../support/api.js';

/** Issue 10 item 9: Unicode names (NFC on input, case- and accent-insensitive search, refused characters). */
describe('server patients (integration): Unicode names and search', function () {
  this.timeout(60_000);
  let api: TestApi;
  let admin: Record<string, string>;

  before(async () => {
    api = await TestApi.start('unicode-names');
    admin = bearer(api.admin.token);
  });
  after(async () => {
    await api?.close();
  });

  const search = (q: string) =>
    request(api.app)
      .get(`/api/v1/patients?q=${encodeURIComponent(q)}`)
      .set(admin);
  const names = (res: request.Response) => res.body.items.map((p: { givenName: string; familyName: string }) => `${p.givenName} ${p.familyName}`);

  it('searches case- and accent-insensitively, whatever the Unicode form of the term or the stored name', async () => {
    await api.createPatient({ givenName: 'İlke', familyName: 'Yıldız', mrn: 'PC-0101' });
    await api.createPatient({ givenName: 'Ümit', familyName: 'Özdemir', mrn: 'PC-0102' });
    // Stored decomposed (U + combining diaeresis): kept as NFC.
    const decomposed = await api.createPatient({ givenName: 'Zoe\u0308', familyName: 'Mu\u0308ller', mrn: 'PC-0103' });
    expect(decomposed.familyName).to.equal('M\u00fcller');
    expect(names(await search('İlke'))).to.deep.equal(['İlke Yıldız']);
    expect(names(await search('ilke'))).to.deep.equal(['İlke Yıldız']);
    expect(names(await search('ILKE'))).to.deep.equal(['İlke Yıldız']);
    expect(names(await search('U\u0308mit'))).to.deep.equal(['Ümit Özdemir']);
    expect(names(await search('umit'))).to.deep.equal(['Ümit Özdemir']);
    expect(names(await search('ÜMIT ozdemir'))).to.deep.equal(['Ümit Özdemir']);
    expect(names(await search('muller'))).to.deep.equal(['Zoë Müller']);
    expect(names(await search('Müller zoe'))).to.deep.equal(['Zoë Müller']);
  });

  it('refuses control and bidi-override characters in names, and lone surrogates anywhere, with 400; stores nothing', async () => {
    const body = { mrn: 'PC-0200', birthDate: '1990-01-01', sex: 'unknown' };
    for (const [givenName, familyName] of [
      ['Eve', 'Evil\u202Egnp.exe'],
      ['Eve\u202D', 'Doe'],
      ['Eve\u2066x\u2069', 'Doe'],
      ['Eve', 'Do\u0000e'],
      ['Eve', 'Do\ne'],
      ['Eve', 'Do\u200Fe'],
    ]) {
      const res = await request(api.app)
        .post('/api/v1/patients')
        .set(admin)
        .send({ ...body, givenName, familyName });
      expect(res.status, JSON.stringify(familyName)).to.equal(400);
      expect(res.body.error.code).to.equal('VALIDATION_FAILED');
      expect(res.body.error.fields[0].message).to.match(/control or bidirectional/);
    }
    // A lone surrogate (\ud800 sent as a JSON escape) is refused, not stored as U+FFFD.
    const lone = await request(api.app)
      .post('/api/v1/patients')
      .set(admin)
      .set('Content-Type', 'application/json')
      .send('{"mrn":"PC-0201","givenName":"A\\ud800","familyName":"B","birthDate":"1990-01-01","sex":"unknown"}');
    expect(lone.status).to.equal(400);
    expect(lone.body.error.fields).to.deep.equal([{ path: 'givenName', message: 'contains an unpaired UTF-16 surrogate (not valid Unicode text)' }]);
    // Joiners some scripts need stay allowed.
    const joined = await request(api.app)
      .post('/api/v1/patients')
      .set(admin)
      .send({ ...body, mrn: 'PC-0202', givenName: 'می\u200Cخواهم', familyName: 'Doe' });
    expect(joined.status).to.equal(201);
    expect(names(await search('pc-0200'))).to.deep.equal([]);
    expect(names(await search('pc-0201'))).to.deep.equal([]);
  });
});
