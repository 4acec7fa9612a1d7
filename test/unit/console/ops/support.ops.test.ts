import { expect } from 'chai';
import { envSecrets, redactEnv, scrubLogLine, scrubSecrets } from '../../../../console/ops/support.ops.js';

const ENV = '# comment\nCOMPOSE_PROJECT_NAME=carebox-x\nPOSTGRES_PASSWORD=AbCdEfGhIjKlMnOpQrStUv123456\nREDIS_PASSWORD=zyxwvutsrq9876543210\n\nSMTP_URL=smtp://u:secretpw@mail\n';

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
    const line = JSON.stringify({ level: 30, msg: 'POST 400', req: { id: 'x', method: 'POST', path: '/api/v1/patients', body: { familyName: 'Doe' }, query: { q: 'Doe' } }, err: { data: { mrn: 'M1' } } });
    const out = JSON.parse(scrubLogLine(line));
    expect(out.req).to.deep.equal({ id: 'x', method: 'POST', path: '/api/v1/patients' });
    expect(JSON.stringify(out)).to.not.match(/Doe|M1/);
  });

  it('redacts SQL statement text and parameters from PostgreSQL lines and query strings from access lines', () => {
    expect(scrubLogLine("2026-11-29 08:00:00 UTC [42] carebox@carebox LOG:  duration: 1200 ms  statement: SELECT * FROM patients WHERE family_name = 'Doe'")).to.match(/statement: \[redacted\]$/);
    expect(scrubLogLine("2026-11-29 08:00:00 UTC [42] ERROR:  duplicate key\n")).to.include('duplicate key');
    expect(scrubLogLine('DETAIL:  parameters: $1 = \'Doe\'')).to.match(/: \[redacted\]$/).and.not.include('Doe');
    expect(scrubLogLine('2026-11-29 08:00:00.1 UTC [77] carebox@carebox DETAIL:  Key (mrn)=(MRN-0001) already exists.')).to.match(/DETAIL: \[redacted\]$/);
    const err = scrubLogLine('2026-11-29 08:00:00.1 UTC [77] carebox@carebox ERROR:  invalid input syntax for type date: "2001-13-45"');
    expect(err).to.include('ERROR:  invalid input syntax for type date: "[redacted]"');
    expect(scrubLogLine('2026-11-29 08:00:00.1 UTC [77] CONTEXT:  COPY patients, line 3: "MRN-9,Doe"')).to.not.include('Doe');
    expect(scrubLogLine('172.24.0.1 [2026-11-29T08:48:36+00:00] "GET /api/v1/patients?name=Doe" 200 58')).to.equal('172.24.0.1 [2026-11-29T08:48:36+00:00] "GET /api/v1/patients" 200 58');
  });
});
