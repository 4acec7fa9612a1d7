import { expect } from 'chai';
import { CALIBRATION, CAPACITY_BASIS, estimateCapacity, USERS_PER_WORKER_CPU, withMeasuredFrom } from '../../../installer/plan/capacity.estimate.js';
import { hypotheticalHost } from '../../../installer/detect/host.detect.js';
import { buildIntent } from '../../../installer/plan/intent.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';

describe('plan: capacity estimate', () => {
  const measured = { concurrentUsers: 180, requestsPerSecond: 900, p95Ms: 170, measuredAt: '2026-11-29T10:00:00.000Z' };

  it('is calibrated on the documented load test and states that basis', () => {
    // 63–75 users sustained on 2 web workers × 2 CPUs → min(2, 2 × 0.65) = 1.3 web CPUs.
    expect(CALIBRATION.sustainedUsers).to.deep.equal([75, 63, 75]);
    expect(USERS_PER_WORKER_CPU).to.deep.equal([Math.floor(63 / 1.3), Math.floor(75 / 1.3)]);
    expect(CAPACITY_BASIS).to.match(/^48–57 concurrent users per web-worker CPU, calibrated on 63–75 users sustained at p95 ≤ 200 ms by `carebox loadtest` on a 2-CPU host \(tier optimized, 2026-11-29/);
    // The calibration host's own estimate reproduces what was measured there.
    expect(estimateCapacity(2, 2, 1).value).to.deep.equal([62, 74]);
    expect(estimateCapacity(2, 2, 1).derivation).to.match(/per worker CPU/);
  });

  it('shows the installed stack\'s measured capacity only on a plan of the same stack', () => {
    const host = hypotheticalHost(2, 8 * 1024 ** 3);
    const plan = planCarebox(host, buildIntent({}));
    const installed = { ...plan, capacity: { ...plan.capacity, measured } };
    expect(withMeasuredFrom(plan, installed).capacity.measured).to.deep.equal(measured);
    expect(withMeasuredFrom(plan, null).capacity.measured).to.equal(null);
    const other = planCarebox(host, buildIntent({ tier: 'default' }));
    expect(withMeasuredFrom(other, installed).capacity.measured, 'another tier').to.equal(null);
    const bigger = planCarebox(hypotheticalHost(8, 32 * 1024 ** 3), buildIntent({ tier: plan.tier }));
    expect(withMeasuredFrom(bigger, installed).capacity.measured, 'another size').to.equal(null);
  });
});
