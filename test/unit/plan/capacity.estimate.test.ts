import { expect } from 'chai';
import { CAPACITY_BASIS, estimateCapacity, withMeasuredFrom } from '../../../installer/plan/capacity.estimate.js';
import { hypotheticalHost } from '../../../installer/detect/host.detect.js';
import { buildIntent } from '../../../installer/plan/intent.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';

describe('plan: capacity estimate', () => {
  const measured = { concurrentUsers: 180, requestsPerSecond: 900, p95Ms: 170, measuredAt: '2026-11-29T10:00:00.000Z' };

  it('states its basis: the measurement it was calibrated on', () => {
    expect(CAPACITY_BASIS).to.match(/measured/);
    expect(CAPACITY_BASIS).to.match(/carebox loadtest/);
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
