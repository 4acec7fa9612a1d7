import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { envSecrets, hashRecordIds, redactEnv, scrubLogLine, scrubSecrets } from '../../../../console/ops/support.ops.js';

const ENV =
  '# comment\nCOMPOSE_PROJECT_NAME=carebox-x\nPOSTGRES_PASSWORD=AbCdEfGhIjKlMnOpQrStUv123456\nREDIS_PASSWORD=zyxwvutsrq9876543210\n\nSMTP_URL=smtp://u:secretpw@mail\n';

describe('support bundle redaction', () => {
  it('redacts every .env value but the project name, keeping comments', () => {
    const r = redactEnv(ENV);
    expect(r).to.include('COMPOSE_PROJECT_NAME=carebox-x');
    expect(r).to.include('POSTGRES_PASSWORD=[redacted]');
    expect(r).to.include('SMTP_URL=[redacted]');
    expect(r).to.include('# comment');
    for (const s of envSecrets(ENV)) expect(r).to.not.include(s.value);
  });

  it('scrubs every secret value wherever it appears and counts them', () => {
    const secrets = envSecrets(ENV);
    expect(secrets.map((s) => s.key).sort()).to.deep.equal(['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'SMTP_URL']);
    const text = 'redis-server --requirepass zyxwvutsrq9876543210\nurl=postgres://carebox:AbCdEfGhIjKlMnOpQrStUv123456@db/carebox';
    const r = scrubSecrets(text, secrets);
    expect(r.count).to.equal(2);
    expect(r.text).to.equal('redis-server --requirepass [redacted:REDIS_PASSWORD]\nurl=postgres://carebox:[redacted:POSTGRES_PASSWORD]@db/carebox');
  });

  it('drops bodies and query data from JSON log lines at any depth', () => {
    const line = JSON.stringify({
      level: 30,
      msg: 'POST 400',
      req: { id: 'x', method: 'POST', path: '/api/v1/patients', body: { familyName: 'Doe' }, query: { q: 'Doe' } },
      err: { data: { mrn: 'M1' } },
    });
    const out = JSON.parse(scrubLogLine(line));
    expect(out.req).to.deep.equal({ id: 'x', method: 'POST', path: '/api/v1/patients' });
    expect(JSON.stringify(out)).to.not.match(/Doe|M1/);
  });

  it('redacts SQL statement text and parameters from PostgreSQL lines and query strings from access lines', () => {
    expect(
      scrubLogLine("2026-11-29 08:00:00 UTC [42] carebox@carebox LOG:  duration: 1200 ms  statement: SELECT * FROM patients WHERE family_name = 'Doe'"),
    ).to.match(/statement: \[redacted\]$/);
    expect(scrubLogLine('2026-11-29 08:00:00 UTC [42] ERROR:  duplicate key\n')).to.include('duplicate key');
    expect(scrubLogLine("DETAIL:  parameters: $1 = 'Doe'"))
      .to.match(/: \[redacted\]$/)
      .and.not.include('Doe');
    expect(scrubLogLine('2026-11-29 08:00:00.1 UTC [77] carebox@carebox DETAIL:  Key (mrn)=(MRN-0001) already exists.')).to.match(/DETAIL: \[redacted\]$/);
    const err = scrubLogLine('2026-11-29 08:00:00.1 UTC [77] carebox@carebox ERROR:  invalid input syntax for type date: "2001-13-45"');
    expect(err).to.include('ERROR:  invalid input syntax for type date: "[redacted]"');
    expect(scrubLogLine('2026-11-29 08:00:00.1 UTC [77] CONTEXT:  COPY patients, line 3: "MRN-9,Doe"')).to.not.include('Doe');
    expect(scrubLogLine('172.24.0.1 [2026-11-29T08:48:36+00:00] "GET /api/v1/patients?name=Doe" 200 58')).to.equal(
      '172.24.0.1 [2026-11-29T08:48:36+00:00] "GET /api/v1/patients" 200 58',
    );
  });

  it('replaces record ids in API paths (nginx access lines and server JSON lines) by a keyed hash, keeping route words', () => {
    const key = randomBytes(32);
    const id = '3f1c2b9a-7d41-4e8e-9b0a-1c2d3e4f5a6b';
    const access = `172.24.0.1 [2026-11-29T08:48:36+00:00] "GET /api/v1/patients/${id}" 200 58 0.004 0.004 id=abc`;
    const a = hashRecordIds(access, key);
    expect(a.count).to.equal(1);
    expect(a.text).to.not.include(id);
    expect(a.text).to.match(/"GET \/api\/v1\/patients\/id:[0-9a-f]{12}" 200 58 0\.004 0\.004 id=abc$/);
    // The same id in the server's request log gets the same hash (requests still correlate).
    const json = hashRecordIds(JSON.stringify({ msg: 'GET 200', req: { path: `/api/v1/patients/${id}/appointment-exports` } }), key);
    expect(json.text).to.include(a.text.match(/id:[0-9a-f]{12}/)![0]);
    expect(JSON.parse(json.text).req.path).to.match(/^\/api\/v1\/patients\/id:[0-9a-f]{12}\/appointment-exports$/);
    // Another key (another bundle) gives another hash: nobody without the key can test for a known id.
    expect(hashRecordIds(access, randomBytes(32)).text).to.not.equal(a.text);
    // Numbers and an MRN typed into a URL are identifiers too; route words and paths without ids stay.
    expect(hashRecordIds('"GET /api/v1/jobs/system/42"', key).text).to.match(/\/jobs\/system\/id:[0-9a-f]{12}"/);
    expect(hashRecordIds('"GET /api/v1/patients/DEMO-0000042"', key).text).to.not.include('DEMO-0000042');
    expect(hashRecordIds('"POST /api/v1/users/reset-password" "GET /health"', key)).to.deep.equal({
      text: '"POST /api/v1/users/reset-password" "GET /health"',
      count: 0,
    });
  });
});
