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
