import { expect } from 'chai';
import { effectiveCpus, effectiveMemory, effectiveSwap } from '../../../installer/detect/effective.resolve.js';

const online = (n: number) => ({ value: n, source: 'online' });

describe('detect/effective.resolve', () => {
  it('CPUs: the smallest of online, quota, cpuset and affinity binds', () => {
    expect(
      effectiveCpus({
        online: online(16),
        quota: { value: 4, source: 'quota' },
        cpuset: { value: 6, source: 'cpuset' },
        affinity: { value: 3, source: 'affinity' },
      }),
    ).to.deep.equal({ value: 3, source: 'affinity' });
  });
  it('CPUs: a fractional quota stays fractional', () => {
    expect(effectiveCpus({ online: online(4), quota: { value: 1.5, source: 'q' }, cpuset: null, affinity: null }).value).to.equal(1.5);
  });
  it('CPUs: a quota below 1 CPU stays as it is (the planner refuses it as below every minimum)', () => {
    const r = effectiveCpus({ online: online(4), quota: { value: 0.25, source: 'q' }, cpuset: null, affinity: null });
    expect(r).to.deep.equal({ value: 0.25, source: 'q' });
  });
  it('CPUs: a limit equal to the host figure does not bind; the host source keeps the remarks', () => {
    const r = effectiveCpus({
      online: online(2),
      quota: null,
      cpuset: { value: 2, source: 'cpuset' },
      affinity: { value: 2, source: 'aff' },
      remarks: ['no quota'],
    });
    expect(r).to.deep.equal({ value: 2, source: 'online; no quota' });
  });
  it('CPUs: between equal limits, the quota is named first', () => {
    const r = effectiveCpus({
      online: online(8),
      quota: { value: 1, source: 'quota' },
      cpuset: { value: 1, source: 'cpuset' },
      affinity: { value: 1, source: 'aff' },
    });
    expect(r.source).to.equal('quota');
  });
  it('memory: min(MemTotal, cgroup, constrainedMemory)', () => {
    const total = { value: 16e9, source: 'meminfo' };
    expect(effectiveMemory({ total, cgroup: { value: 1e9, source: 'cg' }, constrained: { value: 1e9, source: 'pc' } })).to.deep.equal({
      value: 1e9,
      source: 'cg',
    });
    expect(effectiveMemory({ total, cgroup: null, constrained: { value: 2e9, source: 'pc' } }).source).to.equal('pc');
    expect(effectiveMemory({ total, cgroup: { value: 32e9, source: 'cg' }, constrained: null, remarks: ['r'] })).to.deep.equal({
      value: 16e9,
      source: 'meminfo; r',
    });
  });
  it('swap: capped by the cgroup, 0 when unknown', () => {
    expect(effectiveSwap({ value: 4, source: 'st' }, { value: 2, source: 'cg' })).to.deep.equal({ value: 2, source: 'cg' });
    expect(effectiveSwap({ value: 4, source: 'st' }, null).value).to.equal(4);
    expect(effectiveSwap(null, null).value).to.equal(0);
  });
});
