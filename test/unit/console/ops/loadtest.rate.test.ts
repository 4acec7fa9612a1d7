import { expect } from 'chai';
import { bisectRate, judgeProof, judgeRate, littleStaff, PROOF_SHARES, proofStaffLevels, rateLevels } from '../../../../console/ops/loadtest.rate.js';

const latency = { p50: 10, p95: 50, p99: 80, mean: 15, max: 120 };
const errors = { total: 0, rate: 0, socket: 0, timeouts: 0, non2xx: 0, statusCodes: {} };
const ok = { latency, errors, requests: 1000, actionsStarted: 600, lateStarts: 0 };

describe('load test rates (open model)', () => {
  it('doubles from 5 actions/s and ends at --max-rate', () => {
    expect(rateLevels(50)).to.deep.equal([5, 10, 20, 40, 50]);
    expect(() => rateLevels(0)).to.throw(/maxRate/);
  });

  it('judges a rate by errors, p95 and whether the generator kept up', () => {
    expect(judgeRate(ok).sustained).to.equal(true);
    expect(judgeRate({ ...ok, latency: { ...latency, p95: 201 } }).reason).to.match(/p95 201 ms > 200 ms/);
    expect(judgeRate({ ...ok, errors: { ...errors, total: 2, rate: 0.002 } }).reason).to.match(/errors 0.20 %/);
    expect(judgeRate({ ...ok, lateStarts: 31 }).reason).to.match(/fell behind/);
    expect(judgeRate({ ...ok, requests: 0 }).sustained).to.equal(false);
  });

  it('bisects until the failed rate is within 10 % of the sustained one', () => {
    expect(bisectRate(320, 640)).to.equal(480);
    expect(bisectRate(400, 440)).to.equal(null);
    expect(bisectRate(0, 5)).to.equal(2.5);
  });

  it("converts a rate to active staff by Little's law, rounded down", () => {
    expect(littleStaff(400, 0.03, 29.8)).to.equal(11932);
  });

  it('proves N, then 15 % and 30 % fewer staff, never a repeat or zero', () => {
    expect(PROOF_SHARES).to.deep.equal([1, 0.85, 0.7]);
    expect(proofStaffLevels(13112)).to.deep.equal([13112, 11145, 9178]);
    expect(proofStaffLevels(2)).to.deep.equal([2, 1]);
    expect(proofStaffLevels(1)).to.deep.equal([1]);
    expect(proofStaffLevels(0)).to.deep.equal([]);
  });

  it('judges the proof by p95 and errors only', () => {
    expect(judgeProof(ok).held).to.equal(true);
    expect(judgeProof({ ...ok, latency: { ...latency, p95: 246 } }).reason).to.match(/p95 246 ms/);
  });
});
