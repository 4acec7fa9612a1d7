import { expect } from 'chai';
import fc from 'fast-check';
import { checkBudgets } from '../../../installer/plan/budget.check.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { PGBOUNCER_MODES, TIERS, type Plan, type Tier } from '../../../installer/plan/plan.types.js';
import { SEED_TIERS, seedDemand } from '../../../installer/plan/seed.tiers.js';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { PreflightError } from '../../../installer/errors.js';
import { assertInvariants, auto, GiB, MiB, tierIntent } from './plan.invariants.js';

describe('planner: tier.plan', () => {
  it('holds every invariant on the grid of hosts, for every tier it offers', function () {
    // 224 plans; on a machine shared with other work this takes a few seconds.
    this.timeout(30_000);
    let checked = 0;
    for (const cpus of [1, 2, 4, 8, 16, 32, 64]) {
      for (const gib of [1, 2, 4, 8, 16, 32, 64, 128]) {
        const host = hypotheticalHost(cpus, gib * GiB);
        const offered = planCarebox(host, auto)
          .tiers.filter((t) => t.feasible)
          .map((t) => t.tier);
        expect(offered, `${cpus} CPUs / ${gib} GiB`).to.include('default');
        for (const tier of offered) {
          assertInvariants(planCarebox(host, tierIntent(tier)));
          checked++;
        }
      }
    }
    expect(checked).to.be.greaterThan(100);
  });

  it('holds every invariant for any host from 1 CPU / 1 GiB to 256 CPUs / 1 TiB, every feasible tier and PgBouncer mode (property)', function () {
    this.timeout(120_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 25_600 }).map((x) => x / 100),
        fc.integer({ min: 1024, max: 1024 * 1024 }).map((mib) => mib * MiB),
        (cpus, mem) => {
          const host = hypotheticalHost(cpus, mem);
          // Auto always plans (every host ≥ 1 CPU / 1 GiB runs the default tier).
          const autoPlan = planCarebox(host, auto);
          assertInvariants(autoPlan);
          const offered = autoPlan.tiers;
          expect(offered.find((t) => t.tier === 'default')!.feasible).to.equal(true);
          for (const option of offered) {
            for (const mode of PGBOUNCER_MODES) {
              let plan: Plan;
              try {
                plan = planCarebox(host, tierIntent(option.tier, mode));
              } catch (err) {
                // Refusals are exit 3, and only where they are due: the tier is infeasible, or
                // `off` on the cluster tier, or `on` when PgBouncer's memory leaves PostgreSQL too little.
                expect(err).to.be.instanceOf(PreflightError);
                expect((err as PreflightError).exitCode).to.equal(3);
                const due = !option.feasible || (mode === 'off' && option.tier === 'cluster') || (mode === 'on' && /PostgreSQL/.test((err as Error).message));
                expect(due, `${option.tier} --pgbouncer ${mode} refused on ${cpus} CPUs / ${mem / GiB} GiB: ${(err as Error).message}`).to.equal(true);
                continue;
              }
              expect(option.feasible, `${option.tier} planned although auto called it infeasible`).to.equal(true);
              assertInvariants(plan);
              if (mode === 'on') expect(plan.sizing.pgbouncer).to.not.equal(null);
              if (mode === 'off') expect(plan.sizing.pgbouncer).to.equal(null);
              expect(plan.intent.pgbouncer).to.equal(mode);
            }
          }
        },
      ),
      { numRuns: 250, seed: 20261129 },
    );
  });

  it('is deterministic: the same host and intent give byte-identical JSON', () => {
    const host = hypotheticalHost(12, 48 * GiB);
    for (const intent of [auto, tierIntent('horizontal'), { ...auto, users: 700, usersSource: '--users' }]) {
      expect(JSON.stringify(planCarebox(host, intent))).to.equal(JSON.stringify(planCarebox(hypotheticalHost(12, 48 * GiB), intent)));
    }
  });

  it('refuses a host below the minimum with a PreflightError (exit 3) that says what is needed', () => {
    const err = (() => {
      try {
        planCarebox(hypotheticalHost(1, 512 * MiB), auto);
      } catch (e) {
        return e as PreflightError;
      }
      throw new Error('no error');
    })();
    expect(err).to.be.instanceOf(PreflightError);
    expect(err.exitCode).to.equal(3);
    expect(err.message).to.match(/1 GiB/);
    expect(err.hint).to.match(/at least 1 CPU and 1 GiB/);
  });

  it('refuses an asked-for tier the host cannot run, and offers the smaller ones', () => {
    const host = hypotheticalHost(2, 3 * GiB);
    expect(() => planCarebox(host, tierIntent('horizontal'))).to.throw(PreflightError, /horizontal/);
    const tiers = planCarebox(host, auto).tiers;
    expect(tiers.find((t) => t.tier === 'default')!.feasible).to.equal(true);
    expect(tiers.find((t) => t.tier === 'horizontal')!.feasible).to.equal(false);
    // Two CPUs are enough to ask for horizontal (two single-worker replicas) by name.
    const two = planCarebox(hypotheticalHost(2, 4 * GiB), tierIntent('horizontal'));
    expect(two.sizing.backend.replicas).to.equal(2);
    expect(two.sizing.backend.workers).to.equal(1);
  });

  it('picks the tier by host size when no intent is given, and says why', () => {
    expect(planCarebox(hypotheticalHost(1, 2 * GiB), auto).tier).to.equal('default');
    expect(planCarebox(hypotheticalHost(2, 4 * GiB), auto).tier).to.equal('optimized');
    const big = planCarebox(hypotheticalHost(8, 32 * GiB), auto);
    expect(big.tier).to.equal('horizontal');
    expect(big.reasons[0]).to.match(/8 CPUs/);
    expect(big.sizing.backend.replicas).to.be.at.least(2);
  });

  it('--users picks the smallest tier that serves them', () => {
    const host = hypotheticalHost(16, 64 * GiB);
    const small = planCarebox(host, { ...auto, users: 50, usersSource: '--users' });
    expect(small.tier).to.equal('default');
    const beyondDefault = small.capacity.concurrentUsers[1] + 1;
    const bigger = planCarebox(host, { ...auto, users: beyondDefault, usersSource: '--users' });
    expect(['optimized', 'horizontal']).to.include(bigger.tier);
    expect(bigger.capacity.concurrentUsers[0]).to.be.at.least(beyondDefault);
    expect(bigger.shortfall).to.equal(null);
  });

  it('says when the host cannot serve the users, and names the hardware (or cluster) that would', () => {
    const users = planCarebox(hypotheticalHost(2, 4 * GiB), auto).capacity.concurrentUsers[1] * 3;
    const p = planCarebox(hypotheticalHost(2, 4 * GiB), { ...auto, users, usersSource: '--users' });
    expect(p.shortfall).to.not.equal(null);
    expect(p.shortfall!.users).to.equal(users);
    const needs = p.shortfall!.needs;
    expect(needs).to.not.equal('cluster');
    if (needs !== 'cluster') {
      const there = planCarebox(hypotheticalHost(needs.cpus, needs.memoryBytes), { ...auto, users, usersSource: '--users' });
      expect(there.shortfall).to.equal(null);
    }
    const huge = planCarebox(hypotheticalHost(2, 4 * GiB), { ...auto, users: 1_000_000, usersSource: '--users' });
    expect(huge.shortfall!.needs).to.equal('cluster');
    expect(huge.shortfall!.message).to.match(/cluster/);
  });

  it('puts PgBouncer (transaction mode) in front for the cluster tier and keeps PostgreSQL within max_connections', () => {
    const p = planCarebox(hypotheticalHost(32, 128 * GiB), { ...auto, tier: 'cluster', nodes: 6 });
    expect(p.sizing.pgbouncer).to.not.equal(null);
    expect(p.sizing.pgbouncer!.poolMode).to.equal('transaction');
    expect(p.nodes).to.equal(6);
    const clientDemand = p.budget.pgbouncerClients!.demand;
    expect(clientDemand).to.be.greaterThan(p.sizing.postgres.maxConnections);
    assertInvariants(p);
  });

  it('explains every derived number in one line', () => {
    const p = planCarebox(hypotheticalHost(4, 8 * GiB), auto);
    for (const key of [
      'sizing.backend.workers',
      'sizing.backend.pool.max',
      'sizing.postgres.maxConnections',
      'sizing.postgres.sharedBuffersBytes',
      'sizing.postgres.workMemBytes',
      'sizing.redis.maxClients',
      'sizing.nginx.workerProcesses',
      'capacity.concurrentUsers',
    ]) {
      expect(p.derivations[key], key).to.be.a('string').and.match(/=/);
      expect(p.derivations[key]!.includes('\n'), key).to.equal(false);
    }
    expect(p.derivations['sizing.postgres.sharedBuffersBytes']).to.match(/PgTune/);
  });

  it('counts fractional CPU quotas down (1.5 CPUs → 1 web worker)', () => {
    const p = planCarebox(hypotheticalHost(1.5, 2 * GiB), auto);
    expect(p.sizing.backend.workers * p.sizing.backend.replicas).to.equal(1);
    expect(p.sizing.postgres.limits.cpus).to.equal(1.5);
  });
});

describe('planner: the seed document’s tiers', () => {
  it('detects that the seed’s literal configurations overrun max_connections', () => {
    const results = SEED_TIERS.map((t) => ({ t, r: seedDemand(t) }));
    for (const name of ['optimized', 'horizontal', 'cluster']) {
      const r = results.find((x) => x.t.name === name)!.r;
      expect(r.overrun, name).to.equal(true);
    }
    const horizontal = results.find((x) => x.t.name === 'horizontal')!.r;
    // 4 replicas × 4 workers × 60 = 960 web connections alone.
    expect(horizontal.demand).to.be.at.least(960);
    expect(horizontal.derivation).to.match(/960|1200/);
  });

  it('runs the seed’s shapes through Carebox’s budget check and reports the overrun', () => {
    const p = planCarebox(hypotheticalHost(16, 64 * GiB), tierIntent('horizontal'));
    const seedLike = structuredClone(p.sizing);
    seedLike.backend.replicas = 4;
    seedLike.backend.workers = 4;
    seedLike.backend.pool.max = 60;
    seedLike.postgres.maxConnections = 200;
    const v = checkBudgets(seedLike, { cpus: 16, memoryLimitBytes: p.budget.memoryBytes.limit }, 1);
    const db = v.find((x) => x.budget === 'dbConnections');
    expect(db, 'dbConnections violation').to.not.equal(undefined);
    expect(db!.demand).to.be.greaterThan(960);
    expect(db!.message).to.match(/exceeds limit 200 connections/);
  });
});

describe('planner: Redis connection counts match the server', () => {
  it('counts at least the connections the server opens per web and queue process', async () => {
    const { redisConnectionsPerProcess, QUEUE_NAMES } = await import('../../../server/src/jobs/job.definitions.js');
    const { REDIS_PER_WEB_PROCESS, REDIS_PER_QUEUE_PROCESS, QUEUE_COUNT } = await import('../../../installer/plan/budget.check.js');
    const actual = redisConnectionsPerProcess();
    expect(QUEUE_COUNT).to.be.at.least(QUEUE_NAMES.length);
    expect(REDIS_PER_WEB_PROCESS).to.be.at.least(actual.web);
    expect(REDIS_PER_QUEUE_PROCESS).to.be.at.least(actual.worker);
  });
});
