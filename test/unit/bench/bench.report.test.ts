import { expect } from 'chai';
import { checkTargets, ratioToBaseline, renderMarkdown, type BenchResults, type BenchRow } from '../../../bench/bench.report.js';
import type { LoadStats } from '../../../console/ops/loadtest.load.js';

const stats = (connections: number, rps: number, p95 = 10, errors = 0): LoadStats => ({
  connections,
  durationS: 10,
  requests: rps * 10,
  requestsPerSecond: rps,
  latency: { p50: p95 / 2, p95, p99: p95 * 2, mean: p95 / 2, max: p95 * 3 },
  errors: { total: errors, rate: errors / (rps * 10), socket: 0, timeouts: 0, non2xx: errors, statusCodes: errors ? { 503: errors } : {} },
});
const row = (id: string, c: number, rps: number, p95?: number, errors?: number): BenchRow => ({
  id,
  name: `scenario ${id}`,
  stats: stats(c, rps, p95, errors),
  cpuUsPerRequest: { server: 100, nginx: 0, postgres: 20, redis: 5, loadgen: 30 },
});

function results(rows: BenchRow[], planMax = 400): BenchResults {
  return {
    meta: {
      date: '2026-11-29T10:00:00.000Z',
      machine: { cpus: 2, cpuModel: 'test CPU', memoryBytes: 8 * 1024 ** 3, kernel: '6.1', node: 'v20.20.2' },
      loadAverageBefore: 0.2,
      loadAverageAfter: 1.9,
      commit: 'abc1234',
      serverRoot: '/repo',
      plan: { tier: 'optimized', webWorkers: 2, poolMax: 10, nginxWorkers: 1, nginxWorkerConnections: 1024 },
      durationS: 10,
      connections: [100, 1000],
    },
    rows,
    planWallMs: { runs: [300, planMax, 250], median: 300, max: planMax },
    memory: { workers: [{ pid: 1, rssBytes: 100 * 1024 ** 2, peakRssBytes: 110 * 1024 ** 2 }], primaryRssBytes: 50 * 1024 ** 2 },
  };
}

describe('bench: results and targets', () => {
  const rows = [
    row('a', 100, 20_000),
    row('b', 100, 15_000),
    row('d', 100, 9_000),
    row('g', 100, 3_000, 40),
    row('a', 1000, 18_000),
    row('b', 1000, 9_000),
    row('d', 1000, 9_000),
    row('g', 1000, 2_500, 250, 3),
  ];

  it('divides by baseline (a) at the same connection count of the same run', () => {
    const r = results(rows);
    expect(ratioToBaseline(r, rows[1]!)).to.equal(0.75);
    expect(ratioToBaseline(r, rows[5]!)).to.equal(0.5);
    expect(ratioToBaseline({ rows: [rows[1]!] }, rows[1]!)).to.equal(null);
  });

  it('checks each target of issue 6 against the run', () => {
    const checks = checkTargets(results(rows));
    expect(checks.find((c) => c.target === '/health direct ≥ 70 % of bare Node (100 conn.)')).to.deep.include({ measured: '75 %', holds: true });
    expect(checks.find((c) => c.target === '/health direct ≥ 70 % of bare Node (1000 conn.)')!.holds).to.equal(false);
    expect(checks.find((c) => c.target === 'cache-hot patient read ≥ 50 % of bare Node (1000 conn.)')!.holds).to.equal(true);
    expect(checks.find((c) => c.target === 'read mix p95 < 50 ms with 0 errors (100 conn.)')!.holds).to.equal(true);
    expect(checks.find((c) => c.target === 'read mix p95 < 200 ms with 0 errors (1000 conn.)')).to.deep.include({
      measured: 'p95 250 ms, 3 errors',
      holds: false,
    });
    expect(checks.find((c) => c.target.startsWith('`carebox plan --json`'))!.holds).to.equal(true);
    expect(checkTargets(results(rows, 1200)).at(-1)!.holds).to.equal(false);
  });

  it('issue 12: the read through nginx against the same read straight to the backend container, /health through nginx against (a)', () => {
    const stackRows = [
      row('a', 100, 40000),
      row('k', 100, 3000),
      row('l', 100, 2500),
      row('i', 100, 21000),
      row('j', 100, 9000),
      row('l', 1000, 100, 500, 2),
      row('k', 1000, 110),
    ];
    const checks = checkTargets(results(stackRows));
    expect(
      checks.find((c) => c.target.startsWith('cache-hot read through nginx ≥ 80 % of the same read straight to the backend container (100')),
    ).to.deep.include({ measured: '83.3 %', holds: true });
    expect(
      checks.find((c) => c.target.startsWith('cache-hot read through nginx ≥ 80 % of the same read straight to the backend container (1000'))!.holds,
    ).to.equal(false); // errors
    expect(checks.find((c) => c.target.startsWith("/health through nginx's container address ≥ 50 % of bare Node (100"))).to.deep.include({
      measured: '52.5 %',
      holds: true,
    });
    expect(checks.find((c) => c.target.startsWith('/health through the published port'))).to.deep.include({ measured: '22.5 %' });
  });

  it('renders every row with its ratio and CPU split, the plan time, worker memory and the targets', () => {
    const md = renderMarkdown(results(rows));
    expect(md).to.include('| a | scenario a | 100 | 20000 |');
    expect(md).to.include('| 75 % | server 100 · postgres 20 · redis 5 · loadgen 30 |');
    expect(md).to.include('`carebox plan --json` wall time: median 300 ms, max 400 ms');
    expect(md).to.include('100 MiB (peak 110 MiB)');
    expect(md).to.include('| read mix p95 < 200 ms with 0 errors (1000 conn.) | p95 250 ms, 3 errors | **no** |');
    expect(md).to.include('## Errors by status');
    expect(md).to.include('503×3');
    expect(md).to.include('Load average (1 min) before 0.20');
  });
});
