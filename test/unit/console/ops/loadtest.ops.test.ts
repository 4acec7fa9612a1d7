import { expect } from 'chai';
import { formatLoadtest } from '../../../../console/commands/loadtest.command.js';
import { edgeUrl, loadtestUsername, summarizeLevel, syntheticSizes, type LoadtestResult } from '../../../../console/ops/loadtest.ops.js';
import { UsageError } from '../../../../installer/errors.js';

describe('loadtest: operation (pure parts)', () => {
  it('targets the edge on loopback only', () => {
    expect(edgeUrl({ http: { port: 8080, bindAddress: '0.0.0.0' } })).to.equal('http://127.0.0.1:8080');
    expect(edgeUrl({ http: { port: 9000, bindAddress: '127.0.0.1' } })).to.equal('http://127.0.0.1:9000');
    expect(() => edgeUrl({ http: { port: 80, bindAddress: '192.168.1.20' } })).to.throw(UsageError, /loopback only/);
  });

  it('sizes the synthetic data set from --max-users, within bounds', () => {
    expect(syntheticSizes(50)).to.deep.equal({ patients: 2000, clinicians: 10, users: 50 });
    expect(syntheticSizes(400)).to.deep.equal({ patients: 8000, clinicians: 80, users: 400 });
    expect(syntheticSizes(10_000)).to.deep.equal({ patients: 20_000, clinicians: 200, users: 10_000 });
  });

  it('names synthetic accounts as the server generator does', () => {
    expect(loadtestUsername('lt-abc123', 7)).to.equal('lt-abc123-clerk-00007');
  });

  it('summarizes a level and reports the run as text with the chart and the clean-up', () => {
    const stats = { connections: 10, durationS: 5, requests: 5000, requestsPerSecond: 1000, latency: { p50: 5, p95: 20, p99: 30, mean: 6, max: 50 }, errors: { total: 0, rate: 0, socket: 0, timeouts: 0, non2xx: 0, statusCodes: { 200: 5000 } } };
    const level = summarizeLevel({ users: 10, stats, sustained: true, reason: null });
    expect(level).to.deep.include({ users: 10, requestsPerSecond: 1000, sustained: true });
    expect(level.latencyMs).to.deep.equal({ p50: 5, p95: 20, p99: 30, max: 50 });
    const result: LoadtestResult = {
      url: 'http://127.0.0.1:8080/',
      durationS: 5,
      maxUsers: 25,
      criteria: { p95LimitMs: 200, errorRateLimit: 0.001 },
      mix: ['a', 'b'],
      levels: [level, { ...level, users: 25, sustained: false, reason: 'p95 300 ms > 200 ms', latencyMs: { ...level.latencyMs, p95: 300 } }],
      sustained: { concurrentUsers: 10, requestsPerSecond: 1000, p50Ms: 5, p95Ms: 20, p99Ms: 30, errors: 0 },
      stoppedBecause: 'p95 300 ms > 200 ms at 25 users',
      measured: { concurrentUsers: 10, requestsPerSecond: 1000, p95Ms: 20, measuredAt: '2026-11-29T10:00:00.000Z' },
      estimate: { concurrentUsers: [100, 200], basis: 'measured' },
      syntheticData: { tenant: 'lt-abc123', created: { patients: 2000, clinicians: 10, users: 25 }, removed: { patients: 2000, appointments: 2100, clinicians: 10, users: 25 }, cleanupError: null },
      signIns: { count: 25, seconds: 1 },
    };
    const text = formatLoadtest(result);
    expect(text).to.include('Sustained: 10 concurrent users at p95 20 ms, 1000 req/s');
    expect(text).to.include('✗ p95 300 ms > 200 ms');
    expect(text).to.include('limit 200 ms');
    expect(text).to.include('removed afterwards (2000 patients, 2100 appointments, 10 clinicians, 25 users)');
    expect(text).to.include('Estimate for this install: 100–200');
  });
});
