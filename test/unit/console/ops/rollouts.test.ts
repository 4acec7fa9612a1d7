import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restartRollout } from '../../../../console/ops/restart.ops.js';
import { directConnections, fixedConnections, retierRollout, type ServiceAction } from '../../../../console/ops/retier.ops.js';
import { scaleRollout } from '../../../../console/ops/scale.ops.js';
import { applyChange, type ChangeTarget } from '../../../../installer/apply/change.apply.js';
import { overlapFits, type RolloutAction } from '../../../../installer/apply/rollout.js';
import { silentReporter } from '../../../../installer/apply/steps.js';
import type { Manifest } from '../../../../installer/manifest/manifest.js';
import { hypotheticalHost } from '../../../../installer/plan/hypothetical.host.js';
import { planCarebox } from '../../../../installer/plan/tier.plan.js';
import { FakeRuntime, task } from '../../apply/fake.runtime.js';

const t = (number: number, state = 'running') => ({ id: `c${number}`, number, state });

describe('rollouts: what each verb does to the running services, as data', () => {
  it('scale up adds tasks next to the running ones, removing stopped leftovers first', () => {
    const r = scaleRollout('backend', 1, 3, [t(1), t(2, 'exited')]);
    expect(r.steps).to.deep.equal([
      { id: 'scale', title: 'Scale backend 1 → 3', action: { kind: 'scale-up', service: 'backend', replicas: 3, removeFirst: ['c2'] } },
    ]);
    expect(r.restore).to.deep.equal([]);
    expect(r.after).to.deep.equal([{ id: 'config', title: 'Apply configuration (nginx -t and reload)', action: { kind: 'live-config' } }]);
  });

  it('scale down removes stopped tasks first, then the highest-numbered running ones', () => {
    const r = scaleRollout('worker', 4, 1, [t(1), t(2), t(3, 'exited'), t(4)]);
    expect(r.steps[0]!.action).to.deep.equal({
      kind: 'scale-down',
      service: 'worker',
      replicas: 1,
      remove: [
        { id: 'c3', number: 3 },
        { id: 'c4', number: 4 },
        { id: 'c2', number: 2 },
      ],
    });
  });

  it('the same count with a replica missing scales up to it again', () => {
    expect(scaleRollout('backend', 2, 2, [t(1), t(2, 'exited')]).steps[0]!.action.kind).to.equal('scale-up');
  });

  it('restart: a single backend or worker surges; several roll one at a time; nginx reloads after its own restart', () => {
    expect(restartRollout('backend', 1).steps.map((s) => s.action)).to.deep.equal([{ kind: 'surge', service: 'backend', target: 1 }]);
    expect(restartRollout('worker', 1).steps[0]!.title).to.equal('Restart worker (surge: a new container before the old one stops)');
    expect(restartRollout('backend', 3).steps.map((s) => s.action)).to.deep.equal([{ kind: 'restart', service: 'backend' }]);
    expect(restartRollout('db', 1).steps.map((s) => s.action)).to.deep.equal([{ kind: 'restart', service: 'db' }]);
    expect(restartRollout('db', 1).after).to.deep.equal([]);
    expect(restartRollout('nginx', 1).after).to.deep.equal([{ id: 'nginx', title: 'Reload nginx', action: { kind: 'reload-nginx' } }]);
  });
});

describe('rollouts: re-tier', () => {
  const GiB = 1024 ** 3;
  const host = hypotheticalHost(2, 24 * GiB);
  const planOf = (tier: 'default' | 'horizontal') => planCarebox(host, { tier, users: null, usersSource: null, nodes: null });
  const oldPlan = planOf('default');
  const plan = planOf('horizontal');
  const actions = (over: Record<string, ServiceAction['action']>): ServiceAction[] =>
    ['pgbouncer', 'db', 'redis', 'backend', 'worker', 'nginx'].map((service) => ({ service, action: over[service] ?? 'none', detail: '' }));
  const pgConf = (status: 'updated' | 'unchanged') => [{ path: 'postgres/postgresql.conf', status, diff: '' }];
  const images = {} as Manifest['images'];

  it('orders the steps: pgbouncer, PostgreSQL, Redis, backend, worker, PostgreSQL (later), Redis limits, nginx', () => {
    const r = retierRollout(oldPlan, { plan, actions: actions({ backend: 'roll', worker: 'roll', nginx: 'reload' }), fileDiffs: pgConf('updated') }, images);
    expect(r.steps.map((s) => s.id)).to.deep.equal(['pg-reload', 'pg-restart', 'redis', 'backend', 'worker', 'pg-restart', 'redis-final', 'nginx']);
    expect(r.steps.map((s) => s.action.kind)).to.deep.equal([
      'pg-reload',
      'db-restart',
      'redis-overlap',
      'roll',
      'roll',
      'db-restart',
      'redis-limits',
      'reload-nginx',
    ]);
    expect(r.restore).to.deep.equal([
      { kind: 'reload-nginx' },
      { kind: 'redis-limits', limits: oldPlan.sizing.redis },
      { kind: 'pg-reload', unlessRestarted: true },
    ]);
    expect(r.after.map((s) => s.action.kind)).to.deep.equal(['settle']);
  });

  it('bounds the overlap by the DB connection budget: old workers hold theirs while the backends roll', () => {
    const r = retierRollout(oldPlan, { plan, actions: actions({ backend: 'roll' }), fileDiffs: pgConf('unchanged') }, images);
    const backend = r.steps.find((s) => s.id === 'backend')!.action;
    expect(backend).to.deep.include({ kind: 'roll', service: 'backend', target: plan.sizing.backend.replicas });
    const b = (backend as Extract<RolloutAction, { kind: 'roll' }>).budget!;
    expect(b.other).to.deep.equal({ service: 'worker', perTask: directConnections(oldPlan, 'worker') });
    expect(b.perStale).to.equal(directConnections(oldPlan, 'backend'));
    expect(b.perFresh).to.equal(directConnections(plan, 'backend'));
    expect(b.fixed).to.equal(Math.max(fixedConnections(oldPlan), fixedConnections(plan)));
    // Nothing in postgresql.conf changed: no reload step (a restart is still decided at its moment).
    expect(r.steps.map((s) => s.id)).to.not.include('pg-reload');
  });

  it('overlapFits counts PgBouncer only while it runs', () => {
    const b = { fixed: 10, pgbouncerPool: 20, other: { service: 'worker', perTask: 5 }, perStale: 10, perFresh: 10 };
    expect(overlapFits(b, { pgbouncer: false, other: 2, maxConnections: 40 }, 1, 1)).to.equal(true); // 10 + 10 + 10 + 10 = 40
    expect(overlapFits(b, { pgbouncer: false, other: 2, maxConnections: 40 }, 1, 2)).to.equal(false);
    expect(overlapFits(b, { pgbouncer: true, other: 2, maxConnections: 40 }, 1, 0)).to.equal(false);
  });

  it('PgBouncer: started first when new, removed after the roll when gone, HUP (unreported) when its ini changed; nginx recreated when its container changed', () => {
    const start = retierRollout(oldPlan, { plan, actions: actions({ pgbouncer: 'start' }), fileDiffs: [] }, images);
    expect(start.steps[0]).to.deep.equal({ id: 'pgbouncer', title: 'Start PgBouncer', action: { kind: 'start', service: 'pgbouncer' } });
    const gone = retierRollout(oldPlan, { plan, actions: actions({ pgbouncer: 'remove', nginx: 'recreate' }), fileDiffs: [] }, images);
    expect(gone.steps.slice(-2).map((s) => s.action)).to.deep.equal([
      { kind: 'remove', service: 'pgbouncer' },
      { kind: 'recreate', service: 'nginx' },
    ]);
    const hup = retierRollout(oldPlan, { plan, actions: actions({ pgbouncer: 'reload' }), fileDiffs: [] }, images);
    expect(hup.steps.find((s) => s.id === 'pgbouncer-reload')).to.deep.include({
      quiet: true,
      action: { kind: 'signal', service: 'pgbouncer', signal: 'HUP' },
    });
  });

  describe('on the fake runtime (a fake: it fails and observes any step on demand; e2e retier proves Docker)', () => {
    let root: string;
    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), 'carebox-retier-'));
    });
    afterEach(() => rm(root, { recursive: true, force: true }));
    const target = (): ChangeTarget => ({ op: 'retier', plan, files: [], record: null, timeoutMs: 1000 });
    const fleet = () => [task('db', 1), task('redis', 1), task('backend', 1), task('worker', 1), task('nginx', 1)];

    it('restarts PostgreSQL before the roll when max_connections grows, and only once', async () => {
      const rt = new FakeRuntime(root, fleet());
      rt.pending = ['max_connections'];
      rt.maxConnections = plan.sizing.postgres.maxConnections - 1;
      const rollout = retierRollout(oldPlan, { plan, actions: actions({ backend: 'roll', worker: 'roll' }), fileDiffs: pgConf('updated') }, images);
      // The settle step (drift against real config hashes) is e2e's to prove.
      const r = await applyChange(rt, target(), { ...rollout, after: [] }, silentReporter);
      const calls = rt.calls.filter((c) => /^(reloadPostgres|restartTasks|roll)/.test(c));
      expect(calls).to.deep.equal([
        'reloadPostgres',
        'restartTasks db',
        `roll backend ${plan.sizing.backend.replicas}`,
        `roll worker ${plan.sizing.queue.replicas}`,
      ]);
      expect(r.observed.dbRestarted?.when).to.equal('before-roll');
    });

    it('restarts PostgreSQL after the roll when max_connections shrinks', async () => {
      const rt = new FakeRuntime(root, fleet());
      rt.pending = ['max_connections'];
      rt.maxConnections = plan.sizing.postgres.maxConnections + 100;
      const rollout = retierRollout(oldPlan, { plan, actions: actions({ backend: 'roll', worker: 'roll' }), fileDiffs: pgConf('updated') }, images);
      // The settle step (drift against real config hashes) is e2e's to prove.
      const r = await applyChange(rt, target(), { ...rollout, after: [] }, silentReporter);
      const calls = rt.calls.filter((c) => /^(restartTasks|roll)/.test(c));
      expect(calls).to.deep.equal([`roll backend ${plan.sizing.backend.replicas}`, `roll worker ${plan.sizing.queue.replicas}`, 'restartTasks db']);
      expect(r.observed.dbRestarted?.when).to.equal('after-roll');
    });

    it('a failed worker roll restores Redis limits, nginx and PostgreSQL settings, and the caller words the error', async () => {
      const rt = new FakeRuntime(root, fleet()).failOn('roll', 2);
      const rollout = retierRollout(oldPlan, { plan, actions: actions({ backend: 'roll', worker: 'roll' }), fileDiffs: pgConf('updated') }, images);
      let err: unknown;
      await applyChange(
        rt,
        { ...target(), failed: (e, o) => new Error(`wrapped (${o.dbRestarted ? 'restarted' : 'not restarted'}): ${(e as Error).message}`) },
        rollout,
        silentReporter,
      ).catch((e: unknown) => {
        err = e;
      });
      expect((err as Error).message).to.equal('wrapped (not restarted): roll failed (injected)');
      const after = rt.calls.slice(rt.calls.indexOf(`roll worker ${plan.sizing.queue.replicas}`) + 1);
      expect(after).to.deep.equal(['reloadNginx', `setRedisLimits ${oldPlan.sizing.redis.maxClients}`, 'reloadPostgres']);
      expect(rt.calls).to.not.include('settle');
    });
  });
});
