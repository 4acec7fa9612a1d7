import { expect } from 'chai';
import { render } from 'ink-testing-library';
import type { LevelSummary } from '../../../../console/ops/loadtest.ops.js';
import { LoadtestStore } from '../../../../console/ui/loadtest.store.js';
import { LoadtestView } from '../../../../console/ui/loadtest.view.js';

const level = (rate: number, p95: number, sustained: boolean): LevelSummary => ({
  kind: 'rate',
  load: rate,
  label: `${rate} actions/s`,
  requests: 1000,
  requestsPerSecond: 200,
  actionsPerSecond: rate,
  responseTimeS: 0.05,
  latencyMs: { p50: p95 / 2, p95, p99: p95 * 1.2, max: p95 * 2 },
  errors: { total: 0, rate: 0, socket: 0, timeouts: 0, non2xx: 0, statusCodes: {} },
  sustained,
  reason: sustained ? null : `p95 ${p95} ms > 200 ms`,
});
const tick = () => new Promise((r) => setTimeout(r, 20));

describe('loadtest view (ink-testing-library)', () => {
  it('shows phases and finished levels, the running level with its progress bar, and the p95 chart', async () => {
    const store = new LoadtestStore();
    const app = render(<LoadtestView store={store} />);
    try {
      store.phase('creating synthetic data in tenant lt-abc123');
      store.levelStart('10 actions/s', 0, 3, 10);
      store.tick(5, 1234);
      await tick();
      let frame = app.lastFrame() ?? '';
      expect(frame).to.include('creating synthetic data in tenant lt-abc123');
      expect(frame).to.include('Step 1 of 3: 10 actions/s, 5/10 s, 1234 responses');
      expect(frame).to.match(/█/); // the bar, half full
      store.levelDone(level(10, 40, true));
      store.levelStart('25 actions/s', 1, 3, 10);
      await tick();
      store.levelDone(level(25, 260, false));
      await tick();
      frame = app.lastFrame() ?? '';
      expect(app.frames.join('\n')).to.include('✓ 10 actions/s');
      expect(app.frames.join('\n')).to.include('✗ 25 actions/s');
      expect(app.frames.join('\n')).to.include('not sustained: p95 260 ms');
      expect(frame).to.include('limit 200 ms');
      expect(frame).to.include('●');
      expect(frame).to.include('✗');
      expect(frame).to.not.include('Step 2 of 3');
    } finally {
      app.unmount();
    }
  });
});
