import { expect } from 'chai';
import { edgeSettleMs, parseDurationS, settleWaitMs } from '../../../installer/runtime/rolling.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { buildIntent } from '../../../installer/plan/intent.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { assertSamePgMajor, changedImages } from '../../../console/ops/upgrade.ops.js';
import { PreflightError } from '../../../installer/errors.js';

describe('rolling and upgrade helpers', () => {
  it('parses Compose durations into whole seconds', () => {
    expect(parseDurationS('20s', 10)).to.equal(20);
    expect(parseDurationS('1m30s', 10)).to.equal(90);
    expect(parseDurationS('500ms', 10)).to.equal(1);
    expect(parseDurationS('1h', 10)).to.equal(3600);
    expect(parseDurationS(undefined, 10)).to.equal(10);
    expect(parseDurationS('soon', 7)).to.equal(7);
  });

  it('lists the image roles an upgrade changes', () => {
    const a = { postgres: 'p:15', redis: 'r:7', nginx: 'n:1', pgbouncer: 'b:1', node: 'node:20', server: 's:1' };
    expect(changedImages(a, { ...a, server: 's:2' })).to.deep.equal(['server']);
    expect(changedImages(a, a)).to.deep.equal([]);
  });

  it('refuses a PostgreSQL major change with exit 3 and the manual path', () => {
    expect(() => assertSamePgMajor('15', '15', 'postgres:15.11')).to.not.throw();
    try {
      assertSamePgMajor('15', '16', 'postgres:16.4');
      expect.fail('should refuse');
    } catch (e) {
      expect(e).to.be.instanceOf(PreflightError);
      expect((e as PreflightError).exitCode).to.equal(3);
      expect((e as PreflightError).message).to.match(/PostgreSQL 16, the database runs 15/);
      expect((e as PreflightError).hint).to.match(/--pg-major-dump-restore/);
    }
  });
  it("settles the edge only for backends: the upstream's fail_timeout, one DNS refresh and 1 s", () => {
    const plan = planCarebox(hypotheticalHost(2, 8 * 1024 ** 3), buildIntent({}));
    const u = plan.sizing.nginx.upstream!;
    expect(edgeSettleMs({ manifest: { plan } } as never, 'backend')).to.equal((u.failTimeoutS + u.resolverValidS + 1) * 1000);
    expect(edgeSettleMs({ manifest: { plan } } as never, 'worker')).to.equal(0);
  });

  it('waits before the last old replica drains until a new one has been healthy for the settle time', () => {
    const run = (id: string) => ({ id, state: 'running' });
    const healthy = new Map([['new1', 10_000]]);
    // One old (victim) and one new replica healthy since t=10 s: wait until 16 s.
    expect(settleWaitMs([run('old'), run('new1')], 'old', healthy, 6000, 12_000)).to.equal(4000);
    expect(settleWaitMs([run('old'), run('new1')], 'old', healthy, 6000, 17_000)).to.equal(0);
    // Another old replica that nginx already knows keeps serving: no wait.
    expect(settleWaitMs([run('old'), run('old2'), run('new1')], 'old', healthy, 6000, 12_000)).to.equal(0);
    // Several new replicas: the first healthy one counts.
    expect(
      settleWaitMs(
        [run('old'), run('new1'), run('new2')],
        'old',
        new Map([
          ['new1', 10_000],
          ['new2', 11_000],
        ]),
        6000,
        12_000,
      ),
    ).to.equal(4000);
    // No other running replica (scale to zero) or no settle (worker): no wait.
    expect(settleWaitMs([run('old'), { id: 'new1', state: 'exited' }], 'old', healthy, 6000, 12_000)).to.equal(0);
    expect(settleWaitMs([run('old'), run('new1')], 'old', healthy, 0, 12_000)).to.equal(0);
  });
});
