import { expect } from 'chai';
import { formatLoadtest } from '../../../../console/commands/loadtest.command.js';
import { edgeUrl, loadtestUsername, summarizeLevel, summarizeOpen, syntheticSizes, type LoadtestResult } from '../../../../console/ops/loadtest.ops.js';
import { DEFAULT_PROFILE } from '../../../../installer/plan/workload.profile.js';
import { UsageError } from '../../../../installer/errors.js';

describe('loadtest: operation (pure parts)', () => {
  it('targets the edge on loopback only', () => {
    expect(edgeUrl({ http: { port: 8080, bindAddress: '0.0.0.0' } })).to.equal('http://127.0.0.1:8080');
    expect(edgeUrl({ http: { port: 9000, bindAddress: '127.0.0.1' } })).to.equal('http://127.0.0.1:9000');
    expect(() => edgeUrl({ http: { port: 80, bindAddress: '192.168.1.20' } })).to.throw(UsageError, /loopback only/);
  });

  it('sizes the synthetic data set from the signed-in sessions, within bounds', () => {
    expect(syntheticSizes(50)).to.deep.equal({ patients: 2000, clinicians: 10, users: 50 });
    expect(syntheticSizes(400)).to.deep.equal({ patients: 8000, clinicians: 80, users: 400 });
    expect(syntheticSizes(10_000)).to.deep.equal({ patients: 20_000, clinicians: 200, users: 10_000 });
  });

  it('names synthetic accounts as the server generator does', () => {
    expect(loadtestUsername('lt-abc123', 7)).to.equal('lt-abc123-clerk-00007');
  });

  it('summarizes the steps and reports X*, R, Z, N, the proof, saturation and the clean-up as text', () => {
    const stats = {
      connections: 10,
      durationS: 5,
      requests: 5000,
      requestsPerSecond: 1000,
      latency: { p50: 5, p95: 20, p99: 30, mean: 6, max: 50 },
      errors: { total: 0, rate: 0, socket: 0, timeouts: 0, non2xx: 0, statusCodes: { 200: 5000 } },
    };
    const sat = summarizeLevel({ users: 10, stats, sustained: true, reason: null });
    expect(sat).to.deep.include({ kind: 'saturation', load: 10, requestsPerSecond: 1000, sustained: true });
    expect(sat.latencyMs).to.deep.equal({ p50: 5, p95: 20, p99: 30, max: 50 });
    const open = {
      targetRatePerS: 320,
      staff: null,
      durationS: 15,
      actionsStarted: 4800,
      actionsCompleted: 4800,
      actionsPerSecond: 319.5,
      requests: 8160,
      requestsPerSecond: 544,
      latency: { p50: 12, p95: 150, p99: 260, mean: 30, max: 400 },
      actionResponseTimeS: 0.06,
      lateStarts: 0,
      errors: { total: 0, rate: 0, socket: 0, timeouts: 0, non2xx: 0, statusCodes: { 200: 8160 } },
    };
    const rate = summarizeOpen('rate', open, { ok: true, reason: null });
    expect(rate).to.deep.include({ kind: 'rate', load: 320, label: '320 actions/s', actionsPerSecond: 319.5, responseTimeS: 0.06 });
    const result: LoadtestResult = {
      url: 'http://127.0.0.1:8080/',
      tier: 'optimized',
      host: { cpus: 2, memoryBytes: 4 * 1024 ** 3, nodes: 1 },
      durationS: 15,
      maxRate: 2000,
      criteria: { p95LimitMs: 200, errorRateLimit: 0.001 },
      profile: DEFAULT_PROFILE,
      mix: ['find-patient (35 %, 3 requests): search'],
      xStar: 319.5,
      requestsPerSecond: 544,
      responseTimeS: 0.06,
      thinkTimeS: 29.8,
      requestsPerAction: 1.7,
      activeStaff: 9540,
      latencyMs: { p50: 12, p95: 150, p99: 260 },
      errors: { total: 0, rate: 0 },
      levels: [
        rate,
        { ...rate, load: 640, label: '640 actions/s', sustained: false, reason: 'p95 300 ms > 200 ms', latencyMs: { ...rate.latencyMs, p95: 300 } },
        sat,
      ],
      stoppedBecause: 'p95 300 ms > 200 ms at 640 actions/s',
      proof: [
        {
          staff: 9540,
          durationS: 60,
          actionsPerSecond: 318,
          requestsPerSecond: 540,
          responseTimeS: 0.06,
          p50Ms: 10,
          p95Ms: 120,
          p99Ms: 200,
          errors: 0,
          errorRate: 0,
          held: true,
          reason: null,
        },
      ],
      saturation: { connections: 63, requestsPerSecond: 600, p95Ms: 190, stoppedBecause: 'p95 214 ms > 200 ms at 100 connections' },
      measured: {
        concurrentUsers: 9540,
        actionsPerSecond: 319.5,
        requestsPerSecond: 544,
        responseTimeS: 0.06,
        thinkTimeS: 29.8,
        p95Ms: 150,
        saturationConnections: 63,
        limitedByMaxRate: false,
        measuredAt: '2026-12-07T13:30:00.000Z',
      },
      notRecordedBecause: null,
      estimate: { concurrentUsers: [10408, 10760], requestsPerSecond: [592, 612], unit: 'active staff (one action every 30 s)', basis: 'measured' },
      syntheticData: {
        tenant: 'lt-abc123',
        created: { patients: 4000, clinicians: 40, users: 200 },
        removed: { patients: 4000, appointments: 9000, clinicians: 40, users: 200 },
        cleanupError: null,
      },
      signIns: { count: 200, seconds: 10 },
    };
    const text = formatLoadtest(result);
    expect(text).to.include('X* = 319.5 actions/s');
    expect(text).to.include('Active staff N = X* × (R + Z) = 319.5 × (0.06 + 29.8) = 9540 active staff (one action every 30 s)');
    expect(text).to.include('Proof: 9540 virtual staff pausing between actions for 60 s: 318 actions/s, p95 120 ms, 0 errors — held');
    expect(text).to.include('Saturation: 63 connections without pause');
    expect(text).to.include('✗ p95 300 ms > 200 ms');
    expect(text).to.include('limit 200 ms');
    expect(text).to.include('removed afterwards (4000 patients, 9000 appointments, 40 clinicians, 200 users)');
    expect(text).to.include('Estimate for this install: 10408–10760 active staff');
    const unproven = formatLoadtest({ ...result, measured: null, notRecordedBecause: 'the proof did not hold: 9540 virtual staff: p95 250 ms > 200 ms' });
    expect(unproven).to.include('Nothing recorded in carebox.json: the proof did not hold');
  });
});
