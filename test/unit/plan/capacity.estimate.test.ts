import { expect } from 'chai';
import { CALIBRATION, CAPACITY_BASIS, estimateCapacity, RPS_PER_WEB_CPU, withMeasuredFrom } from '../../../installer/plan/capacity.estimate.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { buildIntent } from '../../../installer/plan/intent.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { DEFAULT_PROFILE, effectiveThinkTimeS } from '../../../installer/plan/workload.profile.js';

describe('plan: capacity estimate', () => {
  const measured = {
    concurrentUsers: 9000,
    actionsPerSecond: 300,
    requestsPerSecond: 510,
    responseTimeS: 0.1,
    thinkTimeS: 29.8,
    p95Ms: 170,
    measuredAt: '2026-12-07T13:30:00.000Z',
  };

  it('is calibrated on the documented load test and states that basis', () => {
    const webCpus = Math.min(2, 2 * 0.65);
    expect(RPS_PER_WEB_CPU).to.deep.equal([
      Math.floor(Math.min(...CALIBRATION.sustainedRequestsPerSecond) / webCpus),
      Math.floor(Math.max(...CALIBRATION.sustainedRequestsPerSecond) / webCpus),
    ]);
    expect(CAPACITY_BASIS).to.match(/req\/s per web-worker CPU \(calibrated on \d+–\d+ req\/s sustained at p95 ≤ 200 ms by `carebox loadtest` on a 2-CPU host/);
    // The calibration host's own estimate reproduces what was measured there (web CPU binds).
    const e = estimateCapacity({ webProcesses: 2, cpus: 2, nodes: 1, postgresCpus: 2, redisCpus: 1, webDbConnections: 20, profile: DEFAULT_PROFILE });
    expect(e.bottleneck).to.equal('web-cpu');
    expect(e.requestsPerSecond[0]).to.be.within(Math.min(...CALIBRATION.sustainedRequestsPerSecond) - 2, Math.min(...CALIBRATION.sustainedRequestsPerSecond));
    expect(e.derivation).to.match(/Little's law/);
    expect(e.thinkTimeS).to.equal(Math.round(effectiveThinkTimeS(DEFAULT_PROFILE) * 100) / 100);
  });

  it("shows the installed stack's measured capacity only on a plan of the same stack, converted to its think time", () => {
    const host = hypotheticalHost(2, 8 * 1024 ** 3);
    const plan = planCarebox(host, buildIntent({}));
    const installed = { ...plan, capacity: { ...plan.capacity, measured } };
    expect(withMeasuredFrom(plan, installed).capacity.measured).to.deep.include({
      actionsPerSecond: 300,
      concurrentUsers: Math.floor(300 * (0.1 + plan.capacity.thinkTimeS!)),
    });
    expect(withMeasuredFrom(plan, null).capacity.measured).to.equal(null);
    // Recorded by an older Carebox, before sizing had fields this planner adds: still the same stack.
    const { shutdownTimeoutMs: _s, ...olderQueue } = installed.sizing.queue as typeof installed.sizing.queue & { shutdownTimeoutMs?: number };
    const older = { ...installed, sizing: { ...installed.sizing, queue: olderQueue } } as typeof installed;
    expect(withMeasuredFrom(plan, older).capacity.measured, 'a plan recorded before a field existed').to.not.equal(null);
    const other = planCarebox(host, buildIntent({ tier: 'default' }));
    expect(withMeasuredFrom(other, installed).capacity.measured, 'another tier').to.equal(null);
    const bigger = planCarebox(hypotheticalHost(8, 32 * 1024 ** 3), buildIntent({ tier: plan.tier }));
    expect(withMeasuredFrom(bigger, installed).capacity.measured, 'another size').to.equal(null);
    // A slower profile: the same X* serves more staff.
    const slow = planCarebox(host, buildIntent({ thinkTime: '60' }));
    expect(withMeasuredFrom(slow, installed).capacity.measured!.concurrentUsers).to.be.above(17_000);
    // A closed-loop figure from before active staff is not shown as staff.
    const legacy = {
      ...plan,
      capacity: { ...plan.capacity, measured: { concurrentUsers: 75, requestsPerSecond: 600, p95Ms: 190, measuredAt: '2026-11-29T10:00:00.000Z' } as never },
    };
    expect(withMeasuredFrom(plan, legacy).capacity.measured).to.equal(null);
  });
});
