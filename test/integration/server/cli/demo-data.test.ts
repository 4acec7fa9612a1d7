import { expect } from 'chai';
import { createKnex } from '../../../../server/src/db/knex.factory.js';
import { migratedDatabase, silent } from '../support/api.js';
import { serverEnv, testConfig, type TestDatabase } from '../support/services.js';
import { SpawnedProcess } from '../support/spawned-process.js';
import type { Knex } from 'knex';

async function runDemoData(env: Record<string, string>, args: string[]): Promise<{ code: number | null; json: any; stdout: string; stderr: string }> {
  const run = SpawnedProcess.start('demo-data', env, args);
  const { code } = await run.exited;
  let json: unknown = null;
  try {
    json = JSON.parse(run.stdoutText);
  } catch {
    // not JSON
  }
  return { code, json, stdout: run.stdoutText, stderr: run.stderr };
}

describe('server CLI (integration): node dist/server/src/demo-data.js', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let db: Knex;
  let env: Record<string, string>;
  const real = { patient: '', clinician: '', appointment: '' };

  before(async () => {
    database = await migratedDatabase('demo_data');
    db = createKnex(testConfig({ DATABASE_URL: database.url }), { applicationName: 'carebox-test', logger: silent });
    env = serverEnv({ DATABASE_URL: database.url, LOG_LEVEL: 'info' });
    const [p] = await db('patients')
      .insert({ mrn: 'REAL-1', given_name: 'Real', family_name: 'Person', birth_date: '1980-05-05', sex: 'male' })
      .returning('id');
    const [u] = await db('users').insert({ username: 'real.doc', display_name: 'Real Doc', role: 'clinician', password_hash: 'x' }).returning('id');
    const [a] = await db('appointments')
      .insert({ patient_id: p.id, clinician_id: u.id, starts_at: '2030-01-01T09:00:00Z', ends_at: '2030-01-01T09:30:00Z', department: 'X' })
      .returning('id');
    Object.assign(real, { patient: p.id, clinician: u.id, appointment: a.id });
  });
  after(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('refuses bad usage with exit 2 and the usage text on stderr', async () => {
    // `--remove` alone would delete every synthetic data set: it needs --tenant or --all (issue 17).
    for (const args of [
      [],
      ['--patients', 'ten'],
      ['--patients', '5', '--tenant', 'Bad Name'],
      ['--remove', '--patients', '3'],
      ['--bogus'],
      ['--remove'],
      ['--patients', '3', '--all'],
      ['--remove', '--all', '--tenant', 'demo'],
      ['--patients', '3', '--clinicians', '201'],
    ]) {
      const run = await runDemoData(env, args);
      expect(run.code, args.join(' ')).to.equal(2);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.include('usage: demo-data.js');
    }
  });

  it('creates synthetic patients, clinicians and appointments, marked as such, fast; re-runs top up instead of duplicating', async () => {
    const started = Date.now();
    const first = await runDemoData(env, ['--patients', '3000']);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout.trimEnd().split('\n')).to.have.length(1);
    expect(first.json).to.deep.include({
      action: 'create',
      tenant: 'demo',
      patients: { requested: 3000, created: 3000, existing: 0 },
      clinicians: { created: 12, existing: 0 },
    });
    expect(first.json.appointments).to.deep.equal({ created: 6000, skipped: 0 });
    expect(Date.now() - started, 'batched inserts').to.be.lessThan(30_000);
    const synthetic = await db('patients').where({ is_synthetic: true, demo_tenant: 'demo' }).count({ n: '*' });
    expect(synthetic).to.deep.equal([{ n: '3000' }]);
    const sample = await db('patients').where({ mrn: 'DEMO-0000001' }).first();
    expect(sample).to.include({ is_synthetic: true, demo_tenant: 'demo' });
    expect(sample.family_name).to.match(/\(demo\)$/);
    expect(await db('users').where({ is_synthetic: true }).where('username', 'like', 'demo-clinician-%').count({ n: '*' })).to.deep.equal([{ n: '12' }]);

    const again = await runDemoData(env, ['--patients', '3000']);
    expect(again.json.patients).to.deep.equal({ requested: 3000, created: 0, existing: 3000 });
    expect(again.json.appointments.created).to.equal(0);
    const more = await runDemoData(env, ['--patients', '3100']);
    expect(more.json.patients).to.deep.equal({ requested: 3100, created: 100, existing: 3000 });
    expect(more.json.appointments).to.deep.equal({ created: 200, skipped: 0 });
  });

  it('removes only synthetic data (one tenant, or all) and never a real record', async () => {
    await runDemoData(env, ['--patients', '50', '--tenant', 'trial2']);
    // A trial booking of a real patient with a synthetic clinician describes nobody real either.
    const demoDoc = await db('users').where({ username: 'demo-clinician-001' }).first('id');
    await db('appointments').insert({
      patient_id: real.patient,
      clinician_id: demoDoc.id,
      starts_at: '2030-02-01T09:00:00Z',
      ends_at: '2030-02-01T09:30:00Z',
      department: 'X',
    });

    const one = await runDemoData(env, ['--remove', '--tenant', 'trial2']);
    expect(one.code, one.stderr).to.equal(0);
    expect(one.json).to.deep.include({ action: 'remove', tenant: 'trial2' });
    expect(one.json.removed).to.deep.equal({ patients: 50, appointments: 100, clinicians: 2, users: 0 });
    expect(await db('patients').where({ demo_tenant: 'demo' }).count({ n: '*' })).to.deep.equal([{ n: '3100' }]);

    const nothing = await runDemoData(env, ['--remove', '--tenant', 'nosuchtenant']);
    expect(nothing.code, nothing.stderr).to.equal(0);
    expect(nothing.json.removed).to.deep.equal({ patients: 0, appointments: 0, clinicians: 0, users: 0 });

    const all = await runDemoData(env, ['--remove', '--all']);
    expect(all.json).to.deep.include({ action: 'remove', tenant: null });
    expect(all.json.removed).to.deep.equal({ patients: 3100, appointments: 6201, clinicians: 12, users: 0 });
    expect(await db('patients').where({ is_synthetic: true }).count({ n: '*' })).to.deep.equal([{ n: '0' }]);
    expect(await db('patients').where({ id: real.patient }).first()).to.not.equal(undefined);
    expect(await db('users').where({ id: real.clinician }).first()).to.not.equal(undefined);
    expect(await db('appointments').where({ id: real.appointment }).first()).to.not.equal(undefined);
    const audit = await db('audit_events').where({ actor_username: 'system:demo-data' }).pluck('action');
    expect(audit).to.include.members(['demo-data.create', 'demo-data.remove']);
  });

  it('--patients 0 creates nothing: no patients and no clinician accounts that would show in the real clinician list', async () => {
    const before = await db('users').count({ n: '*' });
    const zero = await runDemoData(env, ['--patients', '0', '--tenant', 'empty']);
    expect(zero.code, zero.stderr).to.equal(0);
    expect(zero.json).to.deep.include({ patients: { requested: 0, created: 0, existing: 0 }, clinicians: { created: 0, existing: 0 } });
    expect(await db('users').count({ n: '*' })).to.deep.equal(before);
    expect(await db('users').where('username', 'like', 'empty-clinician-%').count({ n: '*' })).to.deep.equal([{ n: '0' }]);
  });

  it('a named tenant uses its own MRN prefix (its name in capitals), as the README says', async () => {
    const r = await runDemoData(env, ['--patients', '2', '--tenant', 'trial3']);
    expect(r.code, r.stderr).to.equal(0);
    expect(await db('patients').where({ demo_tenant: 'trial3' }).orderBy('mrn').pluck('mrn')).to.deep.equal(['TRIAL3-0000001', 'TRIAL3-0000002']);
    await runDemoData(env, ['--remove', '--tenant', 'trial3']);
  });
});
