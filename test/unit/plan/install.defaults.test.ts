import { expect } from 'chai';
import { PreflightError } from '../../../installer/errors.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { DRILL_BYTES, SCHEDULER_BYTES } from '../../../installer/plan/scheduler.sizing.js';
import { planCarebox, planWithDefaults } from '../../../installer/plan/tier.plan.js';
import type { Intent } from '../../../installer/plan/plan.types.js';

const EMPTY_INTENT: Intent = { tier: null, users: null, usersSource: null, nodes: null };
const DEFAULTS = { alerts: true, backups: true };

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function preflightError(f: () => unknown): PreflightError | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof PreflightError) return e;
    throw e;
  }
}

describe("plan: a new install's defaults (alerts, scheduled backups)", () => {
  it('runs Prometheus and Alertmanager, and the backup scheduler with its restore drill, where they fit', () => {
    const plan = planWithDefaults(hypotheticalHost(2, 8 * GiB), EMPTY_INTENT, DEFAULTS);
    expect(plan.intent.alerts).to.equal('stack');
    expect(plan.intent.backups).to.equal('scheduled');
    expect(plan.sizing.monitoring).to.not.equal(null);
    expect(plan.sizing.scheduler).to.deep.equal({ memoryBytes: SCHEDULER_BYTES, cpus: 0.5, drillMemoryBytes: DRILL_BYTES });
  });

  it("the scheduler and the drill are lines of the memory budget, taken from PostgreSQL's share, with derivations", () => {
    const host = hypotheticalHost(2, 8 * GiB);
    const manual = planCarebox(host, { ...EMPTY_INTENT, backups: 'manual' });
    const scheduled = planCarebox(host, { ...EMPTY_INTENT, backups: 'scheduled' });
    expect(manual.sizing.scheduler ?? null).to.equal(null);
    expect(manual.budget.memoryBytes.items.map((i) => i.name)).to.not.include('scheduler');
    const items = Object.fromEntries(scheduled.budget.memoryBytes.items.map((i) => [i.name, i.amount]));
    expect(items.scheduler).to.equal(SCHEDULER_BYTES);
    expect(items['restore drill']).to.equal(DRILL_BYTES);
    expect(scheduled.budget.memoryBytes.demand).to.be.at.most(scheduled.budget.memoryBytes.limit);
    expect(manual.sizing.postgres.limits.memoryBytes - scheduled.sizing.postgres.limits.memoryBytes).to.equal(SCHEDULER_BYTES + DRILL_BYTES);
    expect(scheduled.derivations['sizing.scheduler.memoryBytes']).to.match(/measured 32 MiB idle/);
    expect(scheduled.derivations['sizing.postgres.limits.memoryBytes']).to.match(/scheduler and restore drill 384 MiB/);
  });

  it('on the 1 GiB minimum host: alerts external and backups manual, each said why, instead of refusing the host', () => {
    const host = hypotheticalHost(1, 1 * GiB);
    expect(
      preflightError(() => planCarebox(host, { ...EMPTY_INTENT, alerts: 'stack' })),
      'an explicit --alerts stack is refused there',
    ).to.not.equal(null);
    const err = preflightError(() => planCarebox(host, { ...EMPTY_INTENT, backups: 'scheduled' }));
    expect(err, 'an explicit --backup-at HH:MM is refused there').to.not.equal(null);
    expect((err!.details as { schedulerDoesNotFit?: boolean }).schedulerDoesNotFit).to.equal(true);
    expect(err!.hint).to.match(/--backup-at off/);
    const plan = planWithDefaults(host, EMPTY_INTENT, DEFAULTS);
    expect(plan.intent.alerts).to.equal('external');
    expect(plan.intent.backups).to.equal('manual');
    expect(plan.sizing.monitoring ?? null).to.equal(null);
    expect(plan.sizing.scheduler ?? null).to.equal(null);
    const reasons = plan.reasons.join('\n');
    expect(reasons).to.match(/alerts external: Prometheus and Alertmanager do not fit beside the default tier on this host/);
    expect(reasons).to.match(/backups manual: the scheduler and its restore drill \(384 MiB\) do not fit .*carebox backup.* cron/);
  });

  it('scheduled backups go before in-stack monitoring when only one fits', () => {
    // Find a host where the scheduler fits beside the tier but monitoring does not as well.
    let found = null;
    for (let mib = 1024; mib <= 4096 && !found; mib += 64) {
      const plan = planWithDefaults(hypotheticalHost(1, mib * MiB), EMPTY_INTENT, DEFAULTS);
      if (plan.intent.backups === 'scheduled' && plan.intent.alerts === 'external') found = plan;
    }
    expect(found, 'a host size where only one of them fits').to.not.equal(null);
    expect(found!.sizing.scheduler).to.not.equal(null);
  });

  it('keeps what is not defaulted: an explicit mode is planned as given, and refused where it does not fit', () => {
    const host = hypotheticalHost(1, 1 * GiB);
    expect(() => planWithDefaults(host, { ...EMPTY_INTENT, backups: 'scheduled' }, { alerts: true, backups: false })).to.throw(
      PreflightError,
      /scheduled backups/,
    );
    const plan = planWithDefaults(hypotheticalHost(2, 8 * GiB), { ...EMPTY_INTENT, backups: 'manual', alerts: 'off' }, { alerts: false, backups: false });
    expect(plan.intent.backups).to.equal('manual');
    expect(plan.intent.alerts).to.equal('off');
  });
});
