import { expect } from 'chai';
import { firstAdminLines, parseCreateAdmin } from '../../../installer/apply/install.apply.js';
import { OperationError } from '../../../installer/errors.js';

describe('apply: first admin', () => {
  it('parses the created account and keeps the one-time password for the summary only', () => {
    const a = parseCreateAdmin('{"created":true,"username":"admin","password":"Xy7-one-time"}\n');
    expect(a).to.deep.equal({ username: 'admin', created: true, oneTimePassword: 'Xy7-one-time' });
    const lines = firstAdminLines(a).join('\n');
    expect(lines).to.include('Xy7-one-time');
    expect(lines).to.match(/shown only now/);
  });

  it('shows no password when the admin already existed', () => {
    const a = parseCreateAdmin('{"created":false,"username":"admin"}');
    expect(a.oneTimePassword).to.equal(null);
    expect(firstAdminLines(a).join('\n')).to.not.match(/password:/i);
    expect(firstAdminLines(null)).to.deep.equal([]);
  });

  it('refuses output that is not the contract (version mismatch)', () => {
    expect(() => parseCreateAdmin('')).to.throw(OperationError);
    expect(() => parseCreateAdmin('{"ok":true}')).to.throw(OperationError, /first-admin/);
    expect(() => parseCreateAdmin('{not json')).to.throw(OperationError);
  });
});

describe('apply: images on a re-run', () => {
  it('keeps the recorded base images and leaves the server image to the build check', async () => {
    const { recordedBaseImages } = await import('../../../installer/apply/install.apply.js');
    expect(recordedBaseImages(null)).to.equal(null);
    const prev = {
      images: {
        postgres: 'carebox-standin/postgres:15',
        redis: 'carebox-standin/redis:7',
        nginx: 'carebox-standin/nginx:1.22',
        pgbouncer: 'carebox-standin/pgbouncer:1',
        node: 'carebox-standin/node:20',
        server: 'carebox/server:0.1.0-abc',
      },
    } as never;
    const r = recordedBaseImages(prev)!;
    expect(r.postgres).to.equal('carebox-standin/postgres:15');
    expect(r.node).to.equal('carebox-standin/node:20');
    expect(r).to.not.have.property('server');
  });
});
