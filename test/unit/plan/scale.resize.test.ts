import { expect } from 'chai';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { checkBudgets } from '../../../installer/plan/budget.check.js';
import { budgetHostOf, overcommitWouldAccept, postgresCacheShare, resizeReplicas } from '../../../installer/plan/scale.resize.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';

const GiB = 1024 ** 3;
const intent = (tier: 'default' | 'horizontal') => ({ tier, users: null, usersSource: null, nodes: null });

describe('scale re-check of the budgets (resizeReplicas)', () => {
  const host = hypotheticalHost(2, 24 * GiB);
  const plan = planCarebox(host, intent('default'));
  const bh = budgetHostOf(host);

  it('checks against the same limits the planner proved the plan against', () => {
    expect(bh.memoryLimitBytes).to.equal(plan.budget.memoryBytes.limit);
    expect(checkBudgets(plan.sizing, bh, plan.nodes)).to.deep.equal([]);
  });

  it('scaling down always fits, and updates replicas, budgets and the capacity estimate', () => {
    const h = planCarebox(host, intent('horizontal'));
    const r = resizeReplicas(h, { backend: 1 }, bh, { overcommit: false });
    expect(r.blocking).to.deep.equal([]);
    expect(r.plan.sizing.backend.replicas).to.equal(1);
    expect(r.plan.budget.dbConnections.demand).to.be.lessThan(h.budget.dbConnections.demand);
    expect(r.plan.capacity.concurrentUsers[1]).to.be.at.most(h.capacity.concurrentUsers[1]);
    expect(h.sizing.backend.replicas).to.equal(2); // the input plan is not mutated
  });

  it('leaves memory room for the scale-out the tier offers and a rolling-restart surge (issue 16, point 7)', () => {
    // Then: on 2 CPUs / 23.5 GiB, `scale backend=2` was refused for memory (PostgreSQL's limit took
    // the rest). Now the app reserve holds twice the replicas plus one surge: only CPU refuses.
    for (const tier of ['default', 'optimized'] as const) {
      const p = planCarebox(hypotheticalHost(2, 23.5 * GiB), { ...intent('default'), tier });
      const r = resizeReplicas(p, { backend: 2 }, budgetHostOf(hypotheticalHost(2, 23.5 * GiB)), { overcommit: false });
      expect(
        r.blocking.map((v) => v.budget),
        tier,
      ).to.deep.equal(['workerProcesses']);
      expect(
        resizeReplicas(p, { backend: 3 }, budgetHostOf(hypotheticalHost(2, 23.5 * GiB)), { overcommit: true }).accepted.map((v) => v.budget),
      ).to.deep.equal(['workerProcesses']);
      expect(p.derivations['host.appReserveBytes']).to.match(/room for scale-out and a rolling-restart surge/);
    }
    // A host that cannot afford the room keeps PostgreSQL's share.
    expect(planCarebox(hypotheticalHost(1, GiB), intent('default')).derivations['host.appReserveBytes']).to.match(/no room for scale-out/);
  });

  it('refuses 4 × 2 web processes on 2 CPUs (and the memory over the plan), naming each budget', () => {
    const r = resizeReplicas(plan, { backend: 4 }, bh, { overcommit: false });
    expect(r.blocking.map((v) => v.budget)).to.include.members(['workerProcesses', 'memoryBytes']);
    const wp = r.blocking.find((v) => v.budget === 'workerProcesses')!;
    expect(wp).to.include({ demand: 8, limit: 2 });
    expect(wp.message).to.match(/workerProcesses: demand 8 processes exceeds limit 2 processes \(web workers 4 replicas × 2 workers/);
    expect(overcommitWouldAccept(r)).to.equal(true);
  });

  it('--overcommit accepts CPU time and memory out of PostgreSQL page cache, nothing else', () => {
    const r = resizeReplicas(plan, { backend: 4 }, bh, { overcommit: true });
    expect(r.blocking).to.deep.equal([]);
    expect(r.accepted.map((v) => v.budget).sort()).to.deep.equal(['memoryBytes', 'workerProcesses']);
    expect(postgresCacheShare(plan)).to.be.greaterThan(r.plan.budget.memoryBytes.demand - r.plan.budget.memoryBytes.limit);
  });

  it('connection budgets refuse even with --overcommit', () => {
    const big = hypotheticalHost(64, 256 * GiB);
    const p = planCarebox(big, intent('horizontal'));
    const r = resizeReplicas(p, { backend: 32 }, budgetHostOf(big), { overcommit: true });
    expect(r.blocking.map((v) => v.budget)).to.include('dbConnections');
    expect(overcommitWouldAccept(r)).to.equal(false);
  });

  it('memory beyond PostgreSQL page cache refuses even with --overcommit', () => {
    const small = hypotheticalHost(2, 2 * GiB);
    const p = planCarebox(small, intent('default'));
    const r = resizeReplicas(p, { backend: 12 }, budgetHostOf(small), { overcommit: true });
    const mem = r.blocking.find((v) => v.budget === 'memoryBytes');
    expect(mem, JSON.stringify(r.blocking)).to.not.equal(undefined);
    expect(mem!.message).to.match(/not even --overcommit/);
  });
});
