import { expect } from 'chai';
import { demoDataArgs, demoDataSummary } from '../../../../console/ops/demo-data.ops.js';

describe('demo-data: what the verb asks for and what it prints for people', () => {
  it('asks the server CLI to remove one tenant, or every one only with --all', () => {
    expect(demoDataArgs({ patients: null, tenant: 'trial', clinicians: null, appointmentsPerPatient: null, remove: true })).to.deep.equal([
      'node',
      'dist/server/src/demo-data.js',
      '--remove',
      '--tenant',
      'trial',
    ]);
    expect(demoDataArgs({ patients: null, tenant: null, clinicians: null, appointmentsPerPatient: null, remove: true, all: true })).to.deep.equal([
      'node',
      'dist/server/src/demo-data.js',
      '--remove',
      '--all',
    ]);
    expect(demoDataArgs({ patients: 0, tenant: null, clinicians: null, appointmentsPerPatient: null, remove: false })).to.deep.equal([
      'node',
      'dist/server/src/demo-data.js',
      '--patients',
      '0',
    ]);
  });

  it('summarises a creation with patients, clinicians and appointments, and the MRN prefix of the data set', () => {
    const text = demoDataSummary({
      action: 'create',
      tenant: 'trial',
      patients: { requested: 500, created: 300, existing: 200 },
      clinicians: { created: 0, existing: 2 },
      users: { created: 0, existing: 0 },
      appointments: { created: 600, skipped: 0 },
      durationMs: 900,
    });
    expect(text).to.equal(
      [
        "Demo data set 'trial' (MRNs TRIAL-…):",
        '  patients      500 requested: 300 created, 200 already there',
        '  clinicians    0 created, 2 already there',
        '  appointments  600 created',
      ].join('\n'),
    );
    expect(text).to.not.match(/[{}"]/);
  });

  it('summarises a removal, and says plainly when nothing matched', () => {
    expect(demoDataSummary({ action: 'remove', tenant: 'trial', removed: { patients: 50, appointments: 100, clinicians: 2, users: 1 } })).to.equal(
      "Removed synthetic data of data set 'trial': 50 patients, 100 appointments, 2 clinicians, 1 sign-in account.",
    );
    expect(demoDataSummary({ action: 'remove', tenant: 'nosuchtenant', removed: { patients: 0, appointments: 0, clinicians: 0, users: 0 } })).to.equal(
      "No synthetic data matched data set 'nosuchtenant': nothing was removed.",
    );
    expect(demoDataSummary({ action: 'remove', tenant: null, removed: { patients: 0, appointments: 0, clinicians: 0, users: 0 } })).to.equal(
      'There is no synthetic data: nothing was removed.',
    );
  });
});
