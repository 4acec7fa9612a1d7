import { expect } from 'chai';
import type { LoadStats } from '../../../../console/ops/loadtest.load.js';
import {
  bisectLevel,
  ERROR_RATE_LIMIT,
  judgeLevel,
  P95_LIMIT_MS,
  rampLevels,
  sustainedLevel,
  type LevelResult,
} from '../../../../console/ops/loadtest.ramp.js';

const stats = (p95: number, errors = 0, requests = 10_000): LoadStats => ({
  connections: 10,
  durationS: 10,
  requests,
  requestsPerSecond: requests / 10,
  latency: { p50: p95 / 2, p95, p99: p95 * 1.5, mean: p95 / 2, max: p95 * 2 },
  errors: { total: errors, rate: errors / Math.max(1, requests), socket: 0, timeouts: 0, non2xx: errors, statusCodes: {} },
});

describe('loadtest: ramp', () => {
  it('tries the ramp levels below --max-users, then --max-users itself', () => {
    expect(rampLevels(50)).to.deep.equal([10, 25, 50]);
    expect(rampLevels(60)).to.deep.equal([10, 25, 50, 60]);
    expect(rampLevels(3)).to.deep.equal([3]);
    expect(rampLevels(1000)).to.deep.equal([10, 25, 50, 100, 200, 400, 700, 1000]);
    expect(() => rampLevels(0)).to.throw();
  });

  it('sustains a level at p95 ≤ 200 ms and ≤ 0.1 % errors, and says why not otherwise', () => {
    expect(P95_LIMIT_MS).to.equal(200);
    expect(ERROR_RATE_LIMIT).to.equal(0.001);
    expect(judgeLevel(stats(200))).to.deep.equal({ sustained: true, reason: null });
    expect(judgeLevel(stats(200.1)).sustained).to.equal(false);
    expect(judgeLevel(stats(200.1)).reason).to.match(/^p95 200\.1 ms > 200 ms$/);
    expect(judgeLevel(stats(50, 10, 10_000)).sustained).to.equal(true); // exactly 0.1 %
    const failing = judgeLevel(stats(50, 11, 10_000));
    expect(failing.sustained).to.equal(false);
    expect(failing.reason).to.match(/^errors 0\.11 % > 0\.1 %$/);
    expect(judgeLevel(stats(1, 0, 0))).to.deep.equal({ sustained: false, reason: 'no response at all' });
  });

  it('bisects between the last sustained and the first failed level until they are close', () => {
    expect(bisectLevel(100, 200)).to.equal(150);
    expect(bisectLevel(0, 10)).to.equal(5);
    expect(bisectLevel(100, 110)).to.equal(null); // < 15 % apart
    expect(bisectLevel(1, 2)).to.equal(null);
    expect(bisectLevel(0, 1)).to.equal(null);
  });

  it('reports the highest sustained level, whatever the order they ran in', () => {
    const level = (users: number, sustained: boolean): LevelResult => ({
      users,
      stats: stats(sustained ? 100 : 300),
      sustained,
      reason: sustained ? null : 'p95',
    });
    expect(sustainedLevel([level(10, true), level(25, true), level(50, false), level(37, true), level(43, false)])!.users).to.equal(37);
    expect(sustainedLevel([level(10, false)])).to.equal(null);
  });
});
