import { expect } from 'chai';
import { clinicianPrefix, mrnPrefix, syntheticPatient, TENANT_PATTERN } from '../../../../server/src/demo/demo-data.generator.js';

describe('server demo data: synthetic records', () => {
  it('makes patient i the same every time, clearly marked as demo data', () => {
    expect(syntheticPatient('demo', 42)).to.deep.equal(syntheticPatient('demo', 42));
    expect(syntheticPatient('demo', 42)).not.to.deep.equal(syntheticPatient('demo', 43));
    const p = syntheticPatient('trial', 7);
    expect(p.mrn).to.equal('TRIAL-0000007');
    expect(p.familyName).to.match(/\(demo\)$/);
    expect(p.email).to.match(/@example\.invalid$/);
    expect(p.birthDate).to.match(/^(19[3-9]\d|20[01]\d)-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$/);
  });

  it('names tenants safely', () => {
    expect(mrnPrefix('demo')).to.equal('DEMO-');
    expect(clinicianPrefix('demo')).to.equal('demo-clinician-');
    for (const ok of ['demo', 'a', 'load-test-1']) expect(TENANT_PATTERN.test(ok), ok).to.equal(true);
    for (const bad of ['', 'Demo', '-x', 'a_b', 'x'.repeat(21), "a'b"]) expect(TENANT_PATTERN.test(bad), bad).to.equal(false);
  });
});
