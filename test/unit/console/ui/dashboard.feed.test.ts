import { expect } from 'chai';
import { DashboardFeed, type DashboardSource } from '../../../../console/ui/dashboard.feed.js';
import type { ServerSnapshot } from '../../../../console/metrics/metrics.snapshot.js';
import type { TargetScrape } from '../../../../console/metrics/metrics.window.js';
import type { StackStatus } from '../../../../console/ops/status.ops.js';
import { stack } from './console.fixtures.js';

/** An in-memory source: statuses and scrapes are scripted; a counter grows by `perRound` each round. */
function scripted(opts: { perRound?: number; failStatusAt?: number; failScrapeAt?: number } = {}): DashboardSource & { rounds: number } {
  let requests = 0;
  const src = {
    rounds: 0,
    async status(): Promise<StackStatus> {
      src.rounds += 1;
      if (src.rounds === opts.failStatusAt) throw new Error('connect ENOENT /var/run/docker.sock\nstack…');
      return stack();
    },
    async scrape(): Promise<TargetScrape[]> {
      if (src.rounds === opts.failScrapeAt) throw new Error('list failed');
      requests += opts.perRound ?? 10;
      const snapshot: ServerSnapshot = {
        requests,
        errors5xx: 0,
        buckets: [
          { le: 0.1, count: requests },
          { le: Infinity, count: requests },
        ],
        pool: { used: 1, free: 1, pending: 0, max: 10 },
        queues: { system: { waiting: 2 } },
        workers: null,
      };
      return [{ target: 'b1', name: 'backend-1', atMs: src.rounds * 2000, snapshot, error: null }];
    },
  };
  return src;
}

describe('console ui: dashboard feed (data layer)', () => {
  it('refresh reads status and metrics, rates from the second round, history per figure', async () => {
    let t = 0;
    const feed = new DashboardFeed(scripted(), { intervalMs: 2000, historyMs: 10_000, now: () => (t += 2000) });
    let notified = 0;
    const off = feed.subscribe(() => notified++);
    const first = await feed.refresh();
    expect(first.status?.project).to.equal('carebox-root-abc123');
    expect(first.metrics?.requestRate).to.equal(null);
    expect(first.metrics?.pool?.max).to.equal(10);
    const second = await feed.refresh();
    expect(second.metrics?.requestRate).to.equal(5); // 10 requests in 2 s
    expect(second.history.requestRate).to.deep.equal([null, 5]);
    expect(second.history.queueWaiting).to.deep.equal([2, 2]);
    expect(second.history.cpuByService.backend).to.deep.equal([2.5, 2.5]);
    expect(notified).to.equal(2);
    expect(feed.getSnapshot()).to.equal(second);
    off();
  });

  it('keeps only the configured minutes of history', async () => {
    const feed = new DashboardFeed(scripted(), { intervalMs: 1000, historyMs: 3000 });
    for (let i = 0; i < 6; i++) await feed.refresh();
    expect(feed.historyCapacity).to.equal(3);
    expect(feed.getSnapshot().history.requestRate).to.have.length(3);
    expect(feed.getSnapshot().refreshes).to.equal(6);
  });

  it('a failed status read keeps the last status and reports the error; a failed scrape leaves a gap', async () => {
    const feed = new DashboardFeed(scripted({ failStatusAt: 2, failScrapeAt: 3 }), { intervalMs: 1000 });
    await feed.refresh();
    const d2 = await feed.refresh();
    expect(d2.status?.project).to.equal('carebox-root-abc123');
    expect(d2.statusError).to.equal('connect ENOENT /var/run/docker.sock');
    const d3 = await feed.refresh();
    expect(d3.statusError).to.equal(null);
    expect(d3.metricsError).to.equal('list failed');
    expect(d3.history.requestRate.at(-1)).to.equal(null);
  });

  it('joins a refresh in flight; start/stop poll on the interval', async () => {
    const src = scripted();
    const feed = new DashboardFeed(src, { intervalMs: 20 });
    const [a, b] = await Promise.all([feed.refresh(), feed.refresh()]);
    expect(a).to.equal(b);
    expect(src.rounds).to.equal(1);
    feed.start();
    feed.start();
    await new Promise((r) => setTimeout(r, 130));
    feed.stop();
    const rounds = src.rounds;
    expect(rounds).to.be.within(3, 9);
    await new Promise((r) => setTimeout(r, 60));
    expect(src.rounds).to.be.at.most(rounds + 1);
  });
});
