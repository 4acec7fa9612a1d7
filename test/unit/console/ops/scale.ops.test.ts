import { expect } from 'chai';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScaleArg, previewScale, scaleService, type ScaleRefusalDetails } from '../../../../console/ops/scale.ops.js';
import type { Stack } from '../../../../console/ops/stack.js';
import type { StepReporter } from '../../../../installer/apply/steps.js';
import { hypotheticalHost } from '../../../../installer/plan/hypothetical.host.js';
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
    const details = e.details as ScaleRefusalDetails;
    expect(details.violations.length).to.be.at.least(2);
    // Structured for scripts: the same `budget` shape as a successful scale, each violation with its unit.
    expect(details).to.include({ service: 'backend', from: 1, to: 4 });
    expect(details.budget.dbConnections).to.have.keys(['demand', 'limit', 'items']);
    expect(details.violations.find((v) => v.budget === 'memoryBytes')).to.include({ unit: 'bytes' });
    expect(details.violations.find((v) => v.budget === 'workerProcesses')).to.include({ unit: 'processes', demand: 8, limit: 2 });
  });

  it('previewScale passes what fits, and what --overcommit accepts', () => {
    const m = manifestFor(2, 24 * GiB, 'horizontal');
    expect(previewScale(m, { service: 'backend', replicas: 1, overcommit: false })).to.include({ from: 2, to: 1 });
    expect(previewScale(manifestFor(2, 24 * GiB, 'default'), { service: 'backend', replicas: 3, overcommit: true }).check.accepted.length).to.be.greaterThan(0);
  });
});

describe('scale: a count already in place changes nothing', () => {
  // Docker's list call is a stand-in here (a real stack takes minutes to install; the e2e suite
  // scales a real one): the point is that nothing past that one read happens. Compose is a trap.
  it('returns noop without rendering, writing, reloading nginx or recording anything', async () => {
    const root = await mkdtemp(join(tmpdir(), 'carebox-scale-noop-'));
    try {
      const m = { ...manifestFor(2, 8 * GiB, 'default'), project: 'carebox-noop' } as Manifest;
      const calls: string[] = [];
      const docker = {
        listContainers: async () => {
          calls.push('listContainers');
          return [
            {
              Id: 'a'.repeat(64),
              Names: ['/carebox-noop-backend-1'],
              Labels: { 'com.docker.compose.project': 'carebox-noop', 'com.docker.compose.service': 'backend', 'com.docker.compose.container-number': '1' },
              State: 'running',
              Status: 'Up 5 minutes (healthy)',
              Image: 'x',
              Created: 0,
            },
          ];
        },
      };
      const compose = new Proxy({}, { get: (_t, k) => () => Promise.reject(new Error(`compose.${String(k)} must not be called`)) });
      const steps: string[] = [];
      const reporter: StepReporter = {
        start: (id) => steps.push(`start ${id}`),
        progress: () => undefined,
        succeed: (id) => steps.push(`ok ${id}`),
        fail: (id) => steps.push(`fail ${id}`),
        skip: (id, _t, why) => steps.push(`skip ${id}: ${why}`),
      };
      const stack = { root, manifest: m, docker, compose, env: {} } as unknown as Stack;
      const r = await scaleService(stack, { service: 'backend', replicas: 1, overcommit: false, timeoutMs: 10_000 }, reporter);
      expect(r).to.include({ noop: true, from: 1, to: 1 });
      expect(r.files).to.deep.equal([]);
      expect(r.manifest).to.equal(m);
      expect(calls).to.deep.equal(['listContainers']);
      expect(steps).to.deep.equal(['skip scale: backend already runs 1: nothing changed']);
      expect(await readdir(root)).to.deep.equal([]); // no carebox.json rewrite, no backups/config-<UTC>
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
