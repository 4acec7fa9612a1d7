import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { snapshotFrom, type ServerSnapshot } from '../../../../console/metrics/metrics.snapshot.js';
import { addBuckets, bucketsDelta, counterDelta, histogramQuantile, metricsSample, type TargetScrape } from '../../../../console/metrics/metrics.window.js';
import { parsePrometheusText } from '../../../../console/metrics/prom.parse.js';

const fixture = (name: string) => snapshotFrom(parsePrometheusText(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')));
const scrape = (target: string, atMs: number, snapshot: ServerSnapshot | null, error: string | null = null): TargetScrape => ({
  target,
  name: `c-${target}`,
  atMs,
  snapshot,
  error,
});

function snap(over: Partial<ServerSnapshot> = {}): ServerSnapshot {
  return {
    requests: 0,
    errors5xx: 0,
    buckets: [
      { le: 0.1, count: 0 },
      { le: 1, count: 0 },
      { le: Infinity, count: 0 },
    ],
    pool: { used: 1, free: 2, pending: 0, max: 10 },
    queues: {},
    workers: null,
    ...over,
  };
}

describe('console metrics: snapshot of a real scrape', () => {
  it('sums requests over routes, excludes the own /metrics scrape, counts 5xx', () => {
    const a = fixture('metrics.server.a.prom');
    expect(a.requests).to.equal(22); // 20 /health + 1 /ready (503) + 1 unmatched (404)
    expect(a.errors5xx).to.equal(1);
    const b = fixture('metrics.server.b.prom');
    expect(b.requests).to.equal(55); // /metrics (2) left out
    expect(b.errors5xx).to.equal(4);
    expect(b.buckets.at(-1)).to.deep.equal({ le: Infinity, count: 55 });
    expect(b.buckets.map((x) => x.le)).to.deep.equal([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity]);
  });

  it('reads the pool gauges and the queue depths', () => {
    const b = fixture('metrics.server.b.prom');
    expect(b.pool).to.deep.equal({ used: 0, free: 1, pending: 0, max: 10 });
    expect(b.queues).to.deep.equal({ system: { waiting: 3, active: 0, delayed: 1, succeeded: 0, failed: 0 } });
  });

  it('gives no pool and no queues when the series are absent (Redis down)', () => {
    const s = snapshotFrom(parsePrometheusText('carebox_http_requests_total{route="/x",status_code="200"} 3\n'));
    expect(s).to.deep.include({ requests: 3, pool: null, queues: {}, workers: null });
  });

  it('a real merged scrape of a container with two web workers (cluster primary)', () => {
    const s = fixture('metrics.server.merged.prom');
    expect(s.requests).to.equal(42); // 40 /health + 2 unmatched, across both workers
    expect(s.pool?.max).to.equal(20); // 2 workers × DB_POOL_MAX 10
    expect(Object.keys(s.queues).sort()).to.deep.equal(['exports', 'notifications', 'reports', 'system']);
    expect(s.queues.system).to.deep.include({ waiting: 3, delayed: 1 }); // `max`, not summed per worker
    expect(s.workers).to.deep.equal({ reporting: 2, missing: 0 });
  });

  it('reads the merged scrape’s worker count (cluster primary)', () => {
    const s = snapshotFrom(parsePrometheusText('carebox_cluster_workers{state="reporting"} 3\ncarebox_cluster_workers{state="missing"} 1\n'));
    expect(s.workers).to.deep.equal({ reporting: 3, missing: 1 });
  });
});

describe('console metrics: rates over a window', () => {
  it('counter deltas follow the reset rule', () => {
    expect(counterDelta(10, 15)).to.equal(5);
    expect(counterDelta(10, 3)).to.equal(3);
    expect(
      bucketsDelta(
        [{ le: 1, count: 4 }],
        [
          { le: 1, count: 6 },
          { le: Infinity, count: 7 },
        ],
      ),
    ).to.deep.equal([
      { le: 1, count: 2 },
      { le: Infinity, count: 7 },
    ]);
    expect(
      addBuckets([
        [{ le: 1, count: 1 }],
        [
          { le: 1, count: 2 },
          { le: 2, count: 3 },
        ],
      ]),
    ).to.deep.equal([
      { le: 1, count: 3 },
      { le: 2, count: 3 },
    ]);
  });

  it('histogram quantile interpolates inside the bucket like Prometheus', () => {
    const b = [
      { le: 0.1, count: 50 },
      { le: 0.5, count: 90 },
      { le: 1, count: 100 },
      { le: Infinity, count: 100 },
    ];
    // rank 95 lies in (0.5, 1]: 0.5 + 0.5 × (95 − 90) / (100 − 90)
    expect(histogramQuantile(0.95, b)).to.be.closeTo(0.75, 1e-9);
    expect(histogramQuantile(0.5, b)).to.be.closeTo(0.1, 1e-9);
    expect(histogramQuantile(0.25, b)).to.be.closeTo(0.05, 1e-9);
    // rank in +Inf → the largest finite bound
    expect(
      histogramQuantile(0.95, [
        { le: 0.1, count: 1 },
        { le: Infinity, count: 10 },
      ]),
    ).to.equal(0.1);
    expect(
      histogramQuantile(0.95, [
        { le: 0.1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ).to.equal(null);
    expect(histogramQuantile(0.95, [])).to.equal(null);
  });

  it('rate, p95 and error ratio between the two real scrapes', () => {
    const a = fixture('metrics.server.a.prom');
    const b = fixture('metrics.server.b.prom');
    const m = metricsSample([scrape('x', 1_000, a)], [scrape('x', 11_000, b)], 11_000);
    expect(m.requestRate).to.be.closeTo(33 / 10, 1e-9); // 30 /health + 3 /ready in 10 s
    expect(m.windowS).to.equal(10);
    expect(m.errorRatio).to.be.closeTo(3 / 33, 1e-9);
    expect(m.p95Seconds).to.be.a('number').and.to.be.greaterThan(0).and.lessThan(10);
    expect(m.queues.system!.waiting).to.equal(3);
    expect(m).to.deep.include({ targets: 1, scraped: 1, errors: [] });
  });

  it('first round: gauges but no rates', () => {
    const m = metricsSample(null, [scrape('x', 1_000, snap())], 1_000);
    expect(m).to.deep.include({ requestRate: null, windowS: null, p95Seconds: null, errorRatio: null });
    expect(m.pool).to.deep.equal({ used: 1, free: 2, pending: 0, max: 10 });
  });

  it('sums rates and pools over replicas, takes the largest queue figure (not a sum)', () => {
    const q = { system: { waiting: 4, failed: 1 } };
    const prev = [scrape('a', 0, snap({ requests: 100 })), scrape('b', 0, snap({ requests: 10 }))];
    const cur = [
      scrape(
        'a',
        2_000,
        snap({
          requests: 120,
          errors5xx: 2,
          buckets: [
            { le: 0.1, count: 20 },
            { le: 1, count: 20 },
            { le: Infinity, count: 20 },
          ],
          queues: q,
        }),
      ),
      scrape(
        'b',
        2_000,
        snap({
          requests: 30,
          buckets: [
            { le: 0.1, count: 0 },
            { le: 1, count: 20 },
            { le: Infinity, count: 20 },
          ],
          queues: q,
        }),
      ),
    ];
    const m = metricsSample(prev, cur, 2_000);
    expect(m.requestRate).to.equal(20); // (20 + 20) / 2 s
    expect(m.errorRatio).to.equal(2 / 40);
    expect(m.p95Seconds).to.be.closeTo(0.1 + 0.9 * ((38 - 20) / 20), 1e-9);
    expect(m.pool).to.deep.equal({ used: 2, free: 4, pending: 0, max: 20 });
    expect(m.queues).to.deep.equal(q);
  });

  it('a restarted container (counter drop) counts from zero; a new one adds no rate yet; failures are listed', () => {
    const prev = [scrape('a', 0, snap({ requests: 500, errors5xx: 50 }))];
    const cur = [
      scrape('a', 1_000, snap({ requests: 7, errors5xx: 1 })),
      scrape('n', 1_000, snap({ requests: 1000 })),
      scrape('d', 1_000, null, 'ECONNREFUSED'),
    ];
    const m = metricsSample(prev, cur, 1_000);
    expect(m.requestRate).to.equal(7);
    expect(m.errorRatio).to.equal(1 / 7);
    expect(m).to.deep.include({ targets: 3, scraped: 2, errors: ['c-d: ECONNREFUSED'], workersMissing: 0 });
  });

  it('no request in the window: rate 0, no p95, no error ratio', () => {
    const m = metricsSample([scrape('a', 0, snap({ requests: 5 }))], [scrape('a', 2_000, snap({ requests: 5 }))], 2_000);
    expect(m).to.deep.include({ requestRate: 0, p95Seconds: null, errorRatio: null });
  });
});
