import { expect } from 'chai';
import { parseScaleArg, previewScale } from '../../../../console/ops/scale.ops.js';
import { hypotheticalHost } from '../../../../installer/detect/host.detect.js';
import { CareboxError, PreflightError, UsageError } from '../../../../installer/errors.js';
import type { Manifest } from '../../../../installer/manifest/manifest.js';
import { planCarebox } from '../../../../installer/plan/tier.plan.js';

const GiB = 1024 ** 3;

function manifestFor(cpus: number, mem: number, tier: 'default' | 'horizontal'): Manifest {
  const host = hypotheticalHost(cpus, mem);
  const intent = { tier, users: null, usersSource: null, nodes: null };
  return { plan: planCarebox(host, intent), facts: host, intent } as unknown as Manifest;
}

describe('scale: arguments and the budget refusal (exit 3)', () => {
  it('parses SERVICE=N and refuses the rest with usage errors (exit 2)', () => {
    expect(parseScaleArg('backend=3')).to.deep.equal({ service: 'backend', replicas: 3 });
    expect(parseScaleArg(' worker=2 ')).to.deep.equal({ service: 'worker', replicas: 2 });
    for (const bad of ['backend', 'db=2', 'nginx=2', 'backend=0', 'backend=33', 'backend=-1', 'backend=two']) {
      expect(() => parseScaleArg(bad), bad).to.throw(UsageError);
    }
    try {
      parseScaleArg('db=2');
    } catch (e) {
      expect((e as CareboxError).exitCode).to.equal(2);
      expect((e as CareboxError).hint).to.match(/scalable services: backend, worker/);
    }
  });

  it('previewScale throws a PreflightError (exit 3) listing every violated budget and the overcommit hint', () => {
    const m = manifestFor(2, 24 * GiB, 'default');
    let err: unknown;
    try {
      previewScale(m, { service: 'backend', replicas: 4, overcommit: false });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(PreflightError);
    const e = err as PreflightError;
    expect(e.exitCode).to.equal(3);
    expect(e.message).to.match(/^scaling backend 1 → 4 does not fit the plan's budgets on this host:/);
    expect(e.message).to.match(/✗ workerProcesses: demand 8 processes exceeds limit 2 processes/);
    expect(e.message).to.match(/✗ memoryBytes: demand .* exceeds limit/);
    expect(e.hint).to.match(/--overcommit/);
    expect((e.details as { violations: unknown[] }).violations.length).to.be.at.least(2);
  });

  it('previewScale passes what fits, and what --overcommit accepts', () => {
    const m = manifestFor(2, 24 * GiB, 'horizontal');
    expect(previewScale(m, { service: 'backend', replicas: 1, overcommit: false })).to.include({ from: 2, to: 1 });
    expect(previewScale(manifestFor(2, 24 * GiB, 'default'), { service: 'backend', replicas: 3, overcommit: true }).check.accepted.length).to.be.greaterThan(0);
  });
});
