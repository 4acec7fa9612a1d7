import { expect } from 'chai';
import fc from 'fast-check';
import { LATENCY_RESOLUTION_MS, LatencyRecorder } from '../../../../console/ops/loadtest.latency.js';

describe('loadtest: latency recorder', () => {
  it('gives nearest-rank percentiles to the bucket resolution, never above the maximum', () => {
    const r = new LatencyRecorder();
    for (let i = 1; i <= 100; i += 1) r.record(i);
    expect(r.count).to.equal(100);
    expect(r.percentile(50)).to.be.closeTo(50, LATENCY_RESOLUTION_MS + 1e-9);
    expect(r.percentile(95)).to.be.closeTo(95, LATENCY_RESOLUTION_MS + 1e-9);
    expect(r.percentile(99)).to.be.closeTo(99, LATENCY_RESOLUTION_MS + 1e-9);
    expect(r.percentile(100)).to.equal(100);
    expect(r.meanMs).to.equal(50.5);
    expect(r.max).to.equal(100);
  });

  it('is empty-safe and ignores values that are not times', () => {
    const r = new LatencyRecorder();
    expect(r.percentile(95)).to.equal(0);
    r.record(Number.NaN);
    r.record(-1);
    r.record(Number.POSITIVE_INFINITY);
    expect(r.count).to.equal(0);
  });

  it('keeps the exact maximum of values above the ceiling', () => {
    const r = new LatencyRecorder();
    r.record(2);
    r.record(120_000);
    expect(r.percentile(100)).to.equal(120_000);
    expect(r.max).to.equal(120_000);
  });

  it('property: a percentile is within one bucket of the sorted sample it names, and merging equals recording both', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 5_000, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 100 }), (values, p) => {
        const r = new LatencyRecorder();
        for (const v of values) r.record(v);
        const sorted = [...values].sort((a, b) => a - b);
        const exact = sorted[Math.max(1, Math.ceil((p / 100) * values.length)) - 1]!;
        const got = r.percentile(p);
        expect(got).to.be.at.least(exact - 1e-6);
        expect(got).to.be.at.most(exact + LATENCY_RESOLUTION_MS + 1e-6);
        const a = new LatencyRecorder();
        const b = new LatencyRecorder();
        values.forEach((v, i) => (i % 2 === 0 ? a : b).record(v));
        a.merge(b);
        expect(a.percentile(p)).to.equal(got);
        expect(a.count).to.equal(values.length);
      }),
      { numRuns: 200 },
    );
  });
});
