/**
 * Issue 6 end to end: `carebox loadtest --json` on an installed stack (stand-in images, loopback,
 * a short bounded run) returns the sustained concurrent users at p95 ≤ 200 ms, records them in
 * carebox.json (shown by status and plan), removes its synthetic data, and never reads or changes
 * a real patient.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { formatMeasured } from '../../installer/plan/plan.format.js';
import { readText, requireE2ePrereqs } from './e2e.helpers.js';
import { cli, installTestStack, sql, teardownTestStack, type TestStack } from './ops.helpers.js';

describe('e2e: carebox loadtest on an installed stack', function () {
  this.timeout(600_000);
  let docker: Docker;
  let s: TestStack | null = null;
  let real = { id: '', updatedAt: '' };

  before(async () => {
    docker = await requireE2ePrereqs();
    s = await installTestStack('loadtest', 'default');
    // A real patient the load test must never read or change.
    const row = await sql(docker, s.project, "INSERT INTO patients (mrn, given_name, family_name, birth_date, sex) VALUES ('REAL-LT-1', 'Ada', 'Realperson', '1970-01-01', 'female') RETURNING id || '|' || updated_at::text");
    const [id, updatedAt] = row.split('|');
    real = { id: id!, updatedAt: updatedAt! };
  });

  after(async () => {
    await teardownTestStack(s);
  });

  it('measures, reports the sustained users, records them, and leaves only real data behind', async () => {
    const r = await cli(s!, ['loadtest', '--json', '--duration', '3', '--max-users', '50'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    const j = r.json;
    expect(j.ok).to.equal(true);
    expect(j.url).to.equal(`${s!.url}/`);
    expect(j.criteria).to.deep.equal({ p95LimitMs: 200, errorRateLimit: 0.001 });
    expect(j.maxUsers).to.equal(50);
    expect(j.levels).to.be.an('array').that.is.not.empty;
    for (const l of j.levels) {
      expect(l.users).to.be.within(1, 50);
      expect(l.requests).to.be.greaterThan(0);
      expect(l.requestsPerSecond).to.be.greaterThan(0);
      expect(l.latencyMs.p50).to.be.at.most(l.latencyMs.p95);
      expect(l.latencyMs.p95).to.be.at.most(l.latencyMs.p99);
      expect(l.errors).to.include.keys('total', 'rate', 'socket', 'timeouts', 'non2xx', 'statusCodes');
      expect(l.sustained).to.equal(l.latencyMs.p95 <= 200 && l.errors.rate <= 0.001);
      // Every request of the mix succeeded or failed visibly: nothing but 200/201 when there are no errors.
      if (l.errors.total === 0) expect(Object.keys(l.errors.statusCodes).sort()).to.deep.equal(['200', '201']);
    }
    expect(j.levels.map((l: any) => l.users).slice(0, 1)).to.deep.equal([10]);
    const best = j.levels.filter((l: any) => l.sustained).sort((a: any, b: any) => b.users - a.users)[0];
    if (best) {
      expect(j.sustained).to.deep.include({ concurrentUsers: best.users, requestsPerSecond: best.requestsPerSecond, p95Ms: best.latencyMs.p95 });
      expect(j.sustained.p95Ms).to.be.at.most(200);
    } else {
      expect(j.sustained).to.equal(null);
    }
    expect(j.measured.concurrentUsers).to.equal(j.sustained?.concurrentUsers ?? 0);
    expect(Date.parse(j.measured.measuredAt)).to.be.greaterThan(Date.now() - 600_000);
    expect(j.stoppedBecause).to.be.a('string').that.is.not.empty;
    expect(j.signIns.count).to.be.within(10, 50);

    // Synthetic data: its own tenant, created and removed.
    const tenant: string = j.syntheticData.tenant;
    expect(tenant).to.match(/^lt-[0-9a-f]{6}$/);
    expect(j.syntheticData.cleanupError).to.equal(null);
    expect(j.syntheticData.created).to.deep.equal({ patients: 2000, clinicians: 10, users: 50 });
    expect(j.syntheticData.removed).to.deep.include({ patients: 2000, clinicians: 10, users: 50 });
    expect(j.syntheticData.removed.appointments).to.be.at.least(2000); // one each, plus the bookings
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients WHERE is_synthetic')).to.equal('0');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM users WHERE is_synthetic')).to.equal('0');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM appointments')).to.equal('0');
    expect(await sql(docker, s!.project, `SELECT count(*) FROM users WHERE username LIKE '${tenant}-%'`)).to.equal('0');

    // The real patient: unchanged, and never read (no audit event names it).
    expect(await sql(docker, s!.project, `SELECT id || '|' || updated_at::text FROM patients WHERE mrn = 'REAL-LT-1'`)).to.equal(`${real.id}|${real.updatedAt}`);
    expect(await sql(docker, s!.project, `SELECT count(*) FROM audit_events WHERE patient_id = '${real.id}' OR resource_id = '${real.id}'`)).to.equal('0');
    // The load test's requests were audited (the trail is append-only and keeps them), all about synthetic records.
    const audited = Number(await sql(docker, s!.project, `SELECT count(*) FROM audit_events WHERE actor_username LIKE '${tenant}-clerk-%' AND action = 'patient.read'`));
    expect(audited).to.be.greaterThan(0);
    expect(await sql(docker, s!.project, `SELECT count(*) FROM audit_events WHERE actor_username LIKE '${tenant}-clerk-%' AND patient_id IN (SELECT id FROM patients)`)).to.equal('0');

    // Recorded in carebox.json, and shown by status and plan next to the estimate.
    const manifest = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(manifest.plan.capacity.measured).to.deep.equal(j.measured);
    const status = await cli(s!, ['status', '--json', '--no-usage']);
    expect(status.json.capacity.measured).to.deep.equal(j.measured);
    expect(status.json.capacity.estimate).to.deep.equal(manifest.plan.capacity.concurrentUsers);
    const statusText = await cli(s!, ['status', '--no-usage']);
    expect(statusText.stdout).to.include(formatMeasured(j.measured));
    expect(j.measured.limitedByMaxUsers).to.equal(j.levels.every((l: any) => l.sustained));
    const plan = await cli(s!, ['plan', '--json']);
    expect(plan.json.capacity.measured).to.deep.equal(j.measured);
  });

  it('Ctrl-C during a level stops the load, removes the synthetic data, records nothing and exits 130', async () => {
    const measuredBefore = JSON.parse(readText(join(s!.root, 'carebox.json'))).plan.capacity.measured ?? null;
    let sent = false;
    const r = await cli(s!, ['loadtest', '--json', '--duration', '20', '--max-users', '20'], {
      timeoutMs: 300_000,
      onStderr: (soFar, child) => {
        // Interrupt once the first measured level is running (after sign-in and warm-up).
        if (!sent && /loadtest: level 1\/\d+: 10 users/.test(soFar)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent, r.stderr.slice(-2000)).to.equal(true);
    expect(r.code, r.stderr.slice(-2000)).to.equal(130);
    expect(r.json.error.code).to.equal('INTERRUPTED');
    expect(r.json.error.message).to.match(/synthetic data was removed/);
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients WHERE is_synthetic')).to.equal('0');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM users WHERE is_synthetic')).to.equal('0');
    expect(JSON.parse(readText(join(s!.root, 'carebox.json'))).plan.capacity.measured ?? null).to.deep.equal(measuredBefore);
    expect(existsSync(join(s!.root, '.carebox.lock')), 'the operation lock is released').to.equal(false);
  });

  it('refuses bad flags with exit 2 before touching anything', async () => {
    for (const args of [['--duration', '0'], ['--max-users', 'lots'], ['--max-users', '100000']]) {
      const r = await cli(s!, ['loadtest', '--json', ...args]);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.json.error.code).to.equal('USAGE');
    }
  });
});
