import { expect } from 'chai';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { stablePlanHost } from '../../../installer/plan/host.stability.js';

const GiB = 1024 ** 3;

describe('planner: host stability across re-runs', () => {
  it('keeps the recorded figures when memory moved by a few MiB (balloon, kernel update)', () => {
    const recorded = hypotheticalHost(4, 8 * GiB);
    const detected = hypotheticalHost(4, 8 * GiB - 24 * 1024 ** 2);
    const r = stablePlanHost(recorded, detected);
    expect(r.kept).to.equal(true);
    expect(r.host.memoryBytes.value).to.equal(8 * GiB);
  });

  it('re-plans when CPUs changed or memory moved more than 2 %', () => {
    expect(stablePlanHost(hypotheticalHost(4, 8 * GiB), hypotheticalHost(8, 8 * GiB)).kept).to.equal(false);
    const grown = stablePlanHost(hypotheticalHost(4, 8 * GiB), hypotheticalHost(4, 16 * GiB));
    expect(grown.kept).to.equal(false);
    expect(grown.host.memoryBytes.value).to.equal(16 * GiB);
  });

  it('uses the detected figures on a first install', () => {
    const d = hypotheticalHost(2, 4 * GiB);
    expect(stablePlanHost(null, d)).to.deep.equal({ host: d, kept: false });
  });
});
