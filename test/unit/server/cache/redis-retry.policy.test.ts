import { expect } from 'chai';
import { isMaxClientsError, MAX_CLIENTS_RETRY_CAP_MS, redisRetryDelayMs, RETRY_CAP_MS } from '../../../../server/src/cache/redis-retry.policy.js';

const noJitter = (): number => 0;
const maxJitter = (): number => 0.999_999;

describe('server cache: redisRetryDelayMs', () => {
  it('doubles from 100 ms and caps at 5 s for ordinary connection errors', () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    const delays = [1, 2, 3, 4, 5, 6, 7, 50, 10_000].map((n) => redisRetryDelayMs(n, refused, noJitter));
    expect(delays).to.deep.equal([100, 200, 400, 800, 1600, 3200, RETRY_CAP_MS, RETRY_CAP_MS, RETRY_CAP_MS]);
  });

  it('never gives up: every attempt gets a finite number', () => {
    for (const attempt of [1, 100, 1e6]) expect(Number.isFinite(redisRetryDelayMs(attempt, undefined))).to.equal(true);
  });

  it('backs off much harder when Redis has reached maxclients', () => {
    const full = new Error('ERR max number of clients reached');
    expect(isMaxClientsError(full)).to.equal(true);
    const delays = [1, 2, 3, 4, 5, 6].map((n) => redisRetryDelayMs(n, full, noJitter));
    expect(delays).to.deep.equal([2000, 4000, 8000, 16000, 32000, MAX_CLIENTS_RETRY_CAP_MS]);
    expect(redisRetryDelayMs(1, full, noJitter)).to.be.greaterThan(redisRetryDelayMs(5, new Error('x'), noJitter));
  });

  it('adds bounded jitter so many processes do not reconnect in lockstep', () => {
    expect(redisRetryDelayMs(1, undefined, maxJitter)).to.equal(349);
    expect(redisRetryDelayMs(1, new Error('ERR max number of clients reached'), maxJitter)).to.equal(2999);
  });

  it('treats attempt numbers below 1 as the first attempt', () => {
    expect(redisRetryDelayMs(0, undefined, noJitter)).to.equal(100);
  });

  it('does not mistake other errors for maxclients', () => {
    expect(isMaxClientsError(new Error('NOAUTH Authentication required.'))).to.equal(false);
    expect(isMaxClientsError('max number of clients reached')).to.equal(false);
  });
});
