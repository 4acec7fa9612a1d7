import { expect } from 'chai';
import { HEALTHY_UPTIME_MS, nextCrashCount, RESTART_MAX_DELAY_MS, restartDelayMs } from '../../../../server/src/lifecycle/restart-backoff.js';

describe('server lifecycle: worker restart backoff', () => {
  it('doubles the wait for each quick crash, up to 30 s', () => {
    let crashes = 0;
    const delays: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      crashes = nextCrashCount(crashes, 200);
      delays.push(restartDelayMs(crashes));
    }
    expect(delays).to.deep.equal([500, 1000, 2000, 4000, 8000, 16000, RESTART_MAX_DELAY_MS, RESTART_MAX_DELAY_MS, RESTART_MAX_DELAY_MS]);
  });

  it('starts over after a worker that ran long enough', () => {
    expect(nextCrashCount(7, HEALTHY_UPTIME_MS)).to.equal(1);
    expect(restartDelayMs(nextCrashCount(7, HEALTHY_UPTIME_MS + 1))).to.equal(500);
    expect(nextCrashCount(7, HEALTHY_UPTIME_MS - 1)).to.equal(8);
  });
});
