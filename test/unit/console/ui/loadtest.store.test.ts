import { expect } from 'chai';
import { levelLine, LoadtestStore, plainLoadtestReporter } from '../../../../console/ui/loadtest.store.js';
import type { LevelSummary } from '../../../../console/ops/loadtest.ops.js';

const level = (rate: number, sustained: boolean): LevelSummary => ({
  kind: 'rate',
  load: rate,
  label: `${rate} actions/s`,
  requests: 100,
  requestsPerSecond: 20,
  actionsPerSecond: rate,
  responseTimeS: 0.05,
  latencyMs: { p50: 1, p95: sustained ? 10 : 250, p99: 300, max: 400 },
  errors: { total: 0, rate: 0, socket: 0, timeouts: 0, non2xx: 0, statusCodes: {} },
  sustained,
  reason: sustained ? null : 'p95 250 ms > 200 ms',
});

describe('loadtest: progress state and plain progress lines', () => {
  it('the store follows phases, the running step and finished steps', () => {
    const store = new LoadtestStore();
    let notified = 0;
    const off = store.subscribe(() => (notified += 1));
    store.phase('creating synthetic data');
    store.levelStart('10 actions/s', 0, 3, 5);
    store.tick(2.5, 120);
    expect(store.getSnapshot().current).to.deep.equal({ label: '10 actions/s', index: 0, planned: 3, durationS: 5, elapsedS: 2.5, responses: 120 });
    store.levelDone(level(10, true));
    expect(store.getSnapshot().current).to.equal(null);
    expect(store.getSnapshot().levels.map((l) => l.load)).to.deep.equal([10]);
    expect(store.getSnapshot().phases).to.deep.equal(['creating synthetic data']);
    off();
    store.phase('x');
    expect(notified).to.equal(4);
  });

  it('without a TTY: one line per phase and step, a tick every 5 s', () => {
    const lines: string[] = [];
    const r = plainLoadtestReporter((l) => lines.push(l));
    r.phase('warming up');
    r.levelStart('20 actions/s', 1, 3, 10);
    for (const t of [1, 2, 5.1, 6, 10.2]) r.tick(t, t * 100);
    r.levelDone(level(20, false));
    expect(lines[0]).to.equal('loadtest: warming up');
    expect(lines[1]).to.equal('loadtest: step 2/3: 20 actions/s for 10 s');
    expect(lines.filter((l) => l.includes('responses'))).to.have.length(2);
    expect(lines.at(-1)).to.include('not sustained: p95 250 ms > 200 ms');
    expect(
      levelLine({
        kind: 'rate',
        load: 5,
        label: '5 actions/s',
        requestsPerSecond: 1,
        p50Ms: 1,
        p95Ms: 2,
        p99Ms: 3,
        errors: 2,
        errorRate: 0.5,
        sustained: true,
        reason: null,
      }),
    ).to.include('2 errors (50.00 %)');
  });
});
