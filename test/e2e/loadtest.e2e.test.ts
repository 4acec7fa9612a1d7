/**
 * Issues 6 and 16 end to end: `carebox loadtest --json` on an installed stack (stand-in images,
 * loopback, a short bounded run) drives arrival rates of the workload profile's actions, reports
 * X*, R, Z and N = X* × (R + Z), proves N with virtual staff who pause (≥ 60 s), records only a
 * proven figure in carebox.json (shown by status and plan), reports saturation, removes its
 * synthetic data, and never reads or changes a real patient.
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
    const row = await sql(
      docker,
      s.project,
      "INSERT INTO patients (mrn, given_name, family_name, birth_date, sex) VALUES ('REAL-LT-1', 'Ada', 'Realperson', '1970-01-01', 'female') RETURNING id || '|' || updated_at::text",
    );
    const [id, updatedAt] = row.split('|');
    real = { id: id!, updatedAt: updatedAt! };
  });

  after(async () => {
    await teardownTestStack(s);
  });

  it('measures X*, converts it to active staff, proves it, records it, and leaves only real data behind', async () => {
    const r = await cli(s!, ['loadtest', '--json', '--duration', '3', '--max-rate', '40', '--proof-duration', '60', '--saturation-max', '25'], {
      timeoutMs: 600_000,
    });
    expect(r.code, r.stderr.slice(-3000)).to.equal(0);
    const j = r.json;
    expect(j.ok).to.equal(true);
    expect(j.url).to.equal(`${s!.url}/`);
    expect(j.criteria).to.deep.equal({ p95LimitMs: 200, errorRateLimit: 0.001 });
    expect(j.maxRate).to.equal(40);
    expect(j.tier).to.equal('default');
    expect(j.host.cpus).to.be.greaterThan(0);
    expect(j.profile.version).to.equal(1);
    expect(j.requestsPerAction).to.equal(1.7);
    expect(j.thinkTimeS).to.be.within(29, 30);
    const rates = j.levels.filter((l: any) => l.kind === 'rate');
    // The ramp starts at 5 actions/s and doubles while sustained (then bisects), never past --max-rate.
    expect(rates[0].load).to.equal(5);
    for (const l of rates) expect(l.load).to.be.within(0.1, 40);
    if (rates[0].sustained) expect(rates[1]?.load).to.equal(10);
    for (const l of j.levels) {
      expect(l.requests).to.be.greaterThan(0);
      expect(l.latencyMs.p50).to.be.at.most(l.latencyMs.p95);
      expect(l.latencyMs.p95).to.be.at.most(l.latencyMs.p99);
      expect(l.errors).to.include.keys('total', 'rate', 'socket', 'timeouts', 'non2xx', 'statusCodes');
      if (l.errors.total === 0) expect(Object.keys(l.errors.statusCodes).every((c) => c === '200' || c === '201')).to.equal(true);
    }
    for (const l of rates) expect(l.sustained).to.equal(l.latencyMs.p95 <= 200 && l.errors.rate <= 0.001 && l.sustained);
    const best = rates.filter((l: any) => l.sustained).sort((a: any, b: any) => b.load - a.load)[0];
    if (best) {
      // Little's law, as reported.
      expect(j.xStar).to.equal(best.actionsPerSecond);
      expect(j.responseTimeS).to.equal(best.responseTimeS);
      expect(j.activeStaff).to.equal(Math.floor(j.xStar * (j.responseTimeS + j.thinkTimeS)));
      expect(j.latencyMs.p95).to.equal(best.latencyMs.p95);
      // The proof: N virtual staff with think time for at least 60 s.
      expect(j.proof.length).to.be.at.least(1);
      expect(j.proof[0].staff).to.equal(j.activeStaff);
      expect(j.proof[0].durationS).to.be.at.least(60);
      const proven = j.proof.find((p: any) => p.held);
      if (proven) {
        expect(proven.p95Ms).to.be.at.most(200);
        // The proof's own throughput and R, converted by Little's law: within 5 % of the staff it ran.
        expect(j.measured).to.include({ actionsPerSecond: proven.actionsPerSecond, responseTimeS: proven.responseTimeS, p95Ms: proven.p95Ms });
        expect(j.measured.concurrentUsers).to.equal(Math.floor(proven.actionsPerSecond * (proven.responseTimeS + j.thinkTimeS)));
        expect(Math.abs(j.measured.concurrentUsers - proven.staff) / proven.staff).to.be.below(0.05);
        expect(j.notRecordedBecause).to.equal(null);
      } else {
        expect(j.measured).to.equal(null);
        expect(j.notRecordedBecause).to.match(/the proof did not hold/);
      }
    } else {
      expect(j.xStar).to.equal(0);
      expect(j.measured).to.equal(null);
    }
    expect(j.stoppedBecause).to.be.a('string').that.is.not.empty;
    expect(j.saturation).to.include.keys('connections', 'requestsPerSecond', 'p95Ms', 'stoppedBecause');
    expect(
      j.levels
        .filter((l: any) => l.kind === 'saturation')
        .map((l: any) => l.load)
        .slice(0, 1),
    ).to.deep.equal([10]);
    expect(j.signIns.count).to.equal(200);

    // Synthetic data: its own tenant, created and removed.
    const tenant: string = j.syntheticData.tenant;
    expect(tenant).to.match(/^lt-[0-9a-f]{6}$/);
    expect(j.syntheticData.cleanupError).to.equal(null);
    expect(j.syntheticData.created).to.deep.equal({ patients: 4000, clinicians: 40, users: 200 });
    expect(j.syntheticData.removed).to.deep.include({ patients: 4000, clinicians: 40, users: 200 });
    expect(j.syntheticData.removed.appointments).to.be.at.least(4000); // one each, plus the bookings
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM patients WHERE is_synthetic')).to.equal('0');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM users WHERE is_synthetic')).to.equal('0');
    expect(await sql(docker, s!.project, 'SELECT count(*) FROM appointments')).to.equal('0');
    expect(await sql(docker, s!.project, `SELECT count(*) FROM users WHERE username LIKE '${tenant}-%'`)).to.equal('0');

    // The real patient: unchanged, and never read (no audit event names it).
    expect(await sql(docker, s!.project, `SELECT id || '|' || updated_at::text FROM patients WHERE mrn = 'REAL-LT-1'`)).to.equal(
      `${real.id}|${real.updatedAt}`,
    );
    expect(await sql(docker, s!.project, `SELECT count(*) FROM audit_events WHERE patient_id = '${real.id}' OR resource_id = '${real.id}'`)).to.equal('0');
    // The load test's requests were audited (the trail is append-only and keeps them), all about synthetic records.
    const audited = Number(
      await sql(docker, s!.project, `SELECT count(*) FROM audit_events WHERE actor_username LIKE '${tenant}-clerk-%' AND action = 'patient.read'`),
    );
    expect(audited).to.be.greaterThan(0);
    expect(
      await sql(
        docker,
        s!.project,
        `SELECT count(*) FROM audit_events WHERE actor_username LIKE '${tenant}-clerk-%' AND patient_id IN (SELECT id FROM patients)`,
      ),
    ).to.equal('0');

    // Recorded in carebox.json when proven, and shown by status and plan next to the estimate.
    const manifest = JSON.parse(readText(join(s!.root, 'carebox.json')));
    expect(manifest.plan.capacity.measured ?? null).to.deep.equal(j.measured);
    const status = await cli(s!, ['status', '--json', '--no-usage']);
    expect(status.json.capacity.measured).to.deep.equal(j.measured);
    expect(status.json.capacity.estimate).to.deep.equal(manifest.plan.capacity.concurrentUsers);
    expect(status.json.capacity.unit).to.equal('active staff (one action every 30 s)');
    // Headroom: the load test's own requests are within the last minute of nginx's log.
    expect(status.json.load.capacity.source).to.equal(j.measured ? 'measured' : 'estimated');
    expect(status.json.load.requests).to.be.a('number');
    expect(status.json.load.activeSessions).to.be.at.most(1); // every load-test session was ended
    const statusText = await cli(s!, ['status', '--no-usage']);
    if (j.measured) expect(statusText.stdout).to.include(formatMeasured(j.measured, 'active staff (one action every 30 s)'));
    expect(statusText.stdout).to.match(/Load \(last 60 s\): [\d.]+ actions\/s/);
    const plan = await cli(s!, ['plan', '--json']);
    expect(plan.json.capacity.measured).to.deep.equal(j.measured);
  });

  it('Ctrl-C during a level stops the load, removes the synthetic data, records nothing and exits 130', async () => {
    const measuredBefore = JSON.parse(readText(join(s!.root, 'carebox.json'))).plan.capacity.measured ?? null;
    let sent = false;
    const r = await cli(s!, ['loadtest', '--json', '--duration', '20', '--max-rate', '20'], {
      timeoutMs: 300_000,
      onStderr: (soFar, child) => {
        // Interrupt once the first measured level is running (after sign-in and warm-up).
        if (!sent && /loadtest: step 1\/\d+: 5 actions\/s/.test(soFar)) {
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
    for (const args of [
      ['--duration', '0'],
      ['--max-rate', 'lots'],
      ['--max-rate', '100000'],
      ['--proof-duration', '30'],
      ['--think-time', '0'],
      ['--profile', '/nonexistent/profile.json'],
    ]) {
      const r = await cli(s!, ['loadtest', '--json', ...args]);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.json.error.code).to.equal('USAGE');
    }
  });
});
