/**
 * Intent: flag validation, `--pgbouncer auto|on|off`, the cluster tier's node count from
 * `--users`, shortfall messages that name hardware or the cluster tier, and one derivation per
 * derived number in both outputs of `plan`.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { PreflightError, UsageError } from '../../../installer/errors.js';
import { buildIntent } from '../../../installer/plan/intent.js';
import { formatPlan } from '../../../installer/plan/plan.format.js';
import type { Intent, Plan } from '../../../installer/plan/plan.types.js';
import { planConnections } from '../../../installer/plan/postgres.sizing.js';
import { MAX_CLUSTER_NODES } from '../../../installer/plan/sizing.constants.js';
import { planCarebox } from '../../../installer/plan/tier.plan.js';
import { assertInvariants, auto, GiB, numericLeaves, tierIntent } from './plan.invariants.js';

function refusal(f: () => unknown): PreflightError {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(PreflightError);
    return err as PreflightError;
  }
  throw new Error('expected a PreflightError');
}

describe('intent: flags', () => {
  it('defaults --pgbouncer to auto and accepts on/off with any tier', () => {
    expect(buildIntent({}).pgbouncer).to.equal('auto');
    expect(buildIntent({ tier: 'default', pgbouncer: 'on' })).to.deep.equal({ tier: 'default', users: null, usersSource: null, nodes: null, pgbouncer: 'on' });
    expect(buildIntent({ users: '300', pgbouncer: 'off' }).pgbouncer).to.equal('off');
    expect(buildIntent({ tier: 'cluster', users: '20000' })).to.include({ tier: 'cluster', users: 20000, nodes: null });
  });

  it('rejects a bad --pgbouncer or --nodes with a usage error naming the allowed values', () => {
    const bad = (flags: Parameters<typeof buildIntent>[0]) => {
      try {
        buildIntent(flags);
      } catch (err) {
        expect(err).to.be.instanceOf(UsageError);
        return err as UsageError;
      }
      throw new Error('expected a UsageError');
    };
    const e = bad({ pgbouncer: 'maybe' });
    expect(e.message).to.match(/--pgbouncer/);
    expect(e.hint).to.equal('allowed: auto, on, off');
    expect(bad({ tier: 'cluster', nodes: '65' }).hint).to.match(/2 to 64/);
    expect(bad({ tier: 'default', nodes: '3' }).message).to.match(/--nodes applies only to --tier cluster/);
  });

  it('an intent recorded before --pgbouncer existed plans as auto and the plan records the mode', () => {
    const old = { tier: null, users: null, usersSource: null, nodes: null } as Intent;
    const p = planCarebox(hypotheticalHost(2, 4 * GiB), old);
    expect(p.intent.pgbouncer).to.equal('auto');
    expect(JSON.stringify(p)).to.equal(JSON.stringify(planCarebox(hypotheticalHost(2, 4 * GiB), auto)));
  });
});

describe('intent: --pgbouncer', () => {
  for (const [cpus, gib] of [
    [1, 1],
    [1, 2],
    [2, 4],
    [4, 8],
    [64, 256],
  ] as const) {
    it(`on puts PgBouncer (transaction mode) in front of the default tier on ${cpus} CPU / ${gib} GiB, within every budget`, () => {
      const p = planCarebox(hypotheticalHost(cpus, gib * GiB), tierIntent('default', 'on'));
      expect(p.sizing.pgbouncer).to.not.equal(null);
      expect(p.sizing.pgbouncer!.poolMode).to.equal('transaction');
      expect(p.reasons.join('\n')).to.match(/PgBouncer \(transaction mode\) in front of PostgreSQL: --pgbouncer on was asked for/);
      // PostgreSQL sees only PgBouncer's server pool (plus the fixed direct connections).
      expect(p.budget.dbConnections.items.map((i) => i.name)).to.include('pgbouncer server pool');
      expect(p.budget.memoryBytes.items.map((i) => i.name)).to.include('pgbouncer');
      assertInvariants(p);
    });
  }

  it('on gives the same sizing as auto where auto already needs PgBouncer (cluster)', () => {
    const host = hypotheticalHost(16, 64 * GiB);
    expect(planCarebox(host, tierIntent('cluster', 'on')).sizing).to.deep.equal(planCarebox(host, tierIntent('cluster', 'auto')).sizing);
  });

  it('off keeps direct pools and, where they fit, the same sizing as auto', () => {
    for (const [cpus, gib] of [
      [1, 1],
      [2, 4],
      [8, 32],
      [256, 1024],
    ] as const) {
      for (const tier of ['default', 'optimized', 'horizontal'] as const) {
        const host = hypotheticalHost(cpus, gib * GiB);
        const a = (() => {
          try {
            return planCarebox(host, tierIntent(tier));
          } catch {
            return null;
          }
        })();
        if (!a) continue;
        const off = planCarebox(host, tierIntent(tier, 'off'));
        expect(off.sizing.pgbouncer).to.equal(null);
        expect(off.sizing).to.deep.equal(a.sizing);
        assertInvariants(off);
      }
    }
  });

  it('off refuses the cluster tier with exit 3 and says how to fix it', () => {
    const e = refusal(() => planCarebox(hypotheticalHost(16, 64 * GiB), tierIntent('cluster', 'off')));
    expect(e.exitCode).to.equal(3);
    expect(e.message).to.match(/cluster tier always runs PgBouncer.*--pgbouncer off/);
    expect(e.hint).to.match(/drop --pgbouncer off/);
    const tiers = (e.details as { tiers: Plan['tiers'] }).tiers;
    expect(tiers.find((t) => t.tier === 'cluster')!.feasible).to.equal(false);
    expect(tiers.find((t) => t.tier === 'default')!.feasible).to.equal(true);
  });

  describe('planConnections choices', () => {
    // 50 web processes at pool.max 4 need 50 × 4 + 2 × 4 + 6 = 214 connections: over a cap of 100.
    const tight = { webProcesses: 50, queueProcesses: 2, queuePoolMax: 4, cap: 100 };

    it('direct (--pgbouncer off) refuses when direct pools cannot fit, saying PgBouncer would', () => {
      const r = planConnections({ ...tight, pgbouncer: { kind: 'direct' } });
      expect(r)
        .to.have.property('refused')
        .that.matches(/without PgBouncer \(--pgbouncer off\), direct pools need 214 connections even at pool\.max 4, over PostgreSQL's cap 100/);
      expect(r).to.have.property('needsPgbouncer', true);
    });

    it('auto falls back to PgBouncer with the budget as the reason (not the cluster tier)', () => {
      const r = planConnections({ ...tight, pgbouncer: { kind: 'auto' } });
      if ('refused' in r) throw new Error(r.refused);
      expect(r.pgbouncer).to.not.equal(null);
      expect(r.reasons[0]).to.match(/direct pools need 214 connections/);
      expect(r.reasons[0]).to.not.match(/cluster/);
      // Server pool + reserve + fixed fit max_connections; clients fit max_client_conn.
      expect(r.pgbouncer!.defaultPoolSize.value + r.pgbouncer!.reservePoolSize.value + r.fixed).to.be.at.most(r.maxConnections.value);
      expect(50 * r.webPoolMax.value + 2 * 4).to.be.at.most(r.pgbouncer!.maxClientConn.value);
    });

    it('pgbouncer (forced) gives its reason; direct when it fits keeps pool.max 10', () => {
      const forced = planConnections({
        webProcesses: 2,
        queueProcesses: 1,
        queuePoolMax: 2,
        cap: 100,
        pgbouncer: { kind: 'pgbouncer', why: '--pgbouncer on was asked for' },
      });
      if ('refused' in forced) throw new Error(forced.refused);
      expect(forced.reasons[0]).to.match(/--pgbouncer on was asked for/);
      const direct = planConnections({ webProcesses: 2, queueProcesses: 1, queuePoolMax: 2, cap: 100, pgbouncer: { kind: 'direct' } });
      if ('refused' in direct) throw new Error(direct.refused);
      expect(direct.pgbouncer).to.equal(null);
      expect(direct.webPoolMax.value).to.equal(10);
    });

    it('shrinks the burst reserve before refusing, and refuses when not even a minimal pool fits', () => {
      const small = planConnections({ webProcesses: 1, queueProcesses: 1, queuePoolMax: 2, cap: 12, pgbouncer: { kind: 'pgbouncer', why: 'test' } });
      if ('refused' in small) throw new Error(small.refused);
      expect(small.pgbouncer!.reservePoolSize.value).to.equal(1);
      expect(small.pgbouncer!.defaultPoolSize.value + small.pgbouncer!.reservePoolSize.value + small.fixed).to.be.at.most(small.maxConnections.value);
      const r = planConnections({ webProcesses: 2, queueProcesses: 1, queuePoolMax: 2, cap: 10, pgbouncer: { kind: 'pgbouncer', why: 'test' } });
      expect(r).to.have.property('needsPgbouncer', false);
      expect(r)
        .to.have.property('refused')
        .that.matches(/can hold only 10 connections/);
    });
  });
});

describe('intent: cluster node count', () => {
  const host = hypotheticalHost(8, 32 * GiB);
  const cluster = (over: Partial<Intent>) => planCarebox(host, { ...tierIntent('cluster'), ...over });

  it('derives the nodes from --users: the fewest nodes like this host whose estimate serves them', () => {
    const two = cluster({ nodes: 2 });
    const users = two.capacity.concurrentUsers[0] + 1;
    const p = cluster({ users, usersSource: '--users' });
    if (p.shortfall === null) {
      expect(p.nodes).to.be.above(2);
      expect(p.capacity.concurrentUsers[0]).to.be.at.least(users);
      const fewer = cluster({ nodes: p.nodes - 1 });
      expect(fewer.capacity.concurrentUsers[0]).to.be.below(users);
    } else {
      // One PostgreSQL primary (or Redis) binds: more nodes add nothing, and the plan says so.
      expect(p.derivations.nodes).to.match(/beyond them the shared PostgreSQL or Redis binds/);
    }
    expect(p.derivations.nodes).to.match(new RegExp(`${users}`));
    expect(p.reasons.join('\n')).to.match(/nodes \d+/);
    assertInvariants(p);
  });

  it('plans at least 2 nodes, and exactly 2 without --users or --nodes', () => {
    expect(cluster({ users: 10, usersSource: '--users' }).nodes).to.equal(2);
    expect(cluster({}).nodes).to.equal(2);
  });

  it('--nodes wins over --users', () => {
    expect(cluster({ users: 20_000, usersSource: '--users', nodes: 3 }).nodes).to.equal(3);
  });

  it('when nodes like this host cannot serve the users, names bigger nodes that would', () => {
    const users = cluster({ nodes: 64 }).capacity.concurrentUsers[0] + 1;
    const p = cluster({ users, usersSource: '--users' });
    expect(p.shortfall).to.not.equal(null);
    const needs = p.shortfall!.needs;
    expect(needs).to.not.equal('cluster');
    expect(p.shortfall!.message).to.match(/need \d+ nodes with \d+ CPUs and [\d.]+ GiB each \(cluster tier/);
    if (needs !== 'cluster') {
      const there = planCarebox(hypotheticalHost(needs.cpus, needs.memoryBytes), { ...tierIntent('cluster'), users, usersSource: '--users' });
      expect(there.shortfall).to.equal(null);
      expect(there.nodes).to.equal(needs.nodes);
      expect(there.capacity.concurrentUsers[0]).to.be.at.least(users);
    }
  });

  it('for any host that runs the cluster tier and any users, nodes ∈ [2, 64] and either serve them or the plan says so (property)', function () {
    this.timeout(60_000);
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 256 }), fc.integer({ min: 8, max: 1024 }), fc.integer({ min: 1, max: 1_000_000 }), (cpus, gib, users) => {
        const p = planCarebox(hypotheticalHost(cpus, gib * GiB), { ...tierIntent('cluster'), users, usersSource: '--users' });
        expect(p.nodes).to.be.within(2, MAX_CLUSTER_NODES);
        if (p.capacity.concurrentUsers[0] >= users) expect(p.shortfall).to.equal(null);
        else {
          // No node count like this host serves them: the most any count reaches, and a hint.
          expect(p.derivations.nodes).to.match(/no count up to 64 nodes/);
          expect(p.shortfall!.message).to.match(/\d+ CPUs and [\d.]+ GiB each|split the deployment/);
        }
        assertInvariants(p);
      }),
      { numRuns: 60, seed: 20261129 },
    );
  });
});

describe('intent: --users shortfall names hardware or the cluster tier', () => {
  const servesHere = (cpus: number, gib: number): number =>
    planCarebox(hypotheticalHost(cpus, gib * GiB), auto)
      .tiers.filter((t) => t.tier !== 'cluster')
      .reduce((m, t) => Math.max(m, t.concurrentUsers?.[1] ?? 0), 0);

  it('names a host (CPUs and memory) when a bigger single host would do', () => {
    const users = servesHere(2, 4) * 2;
    const p = planCarebox(hypotheticalHost(2, 4 * GiB), { ...auto, users, usersSource: '--users' });
    expect(p.shortfall!.message).to.match(/need a host with \d+ CPUs and [\d.]+ GiB \((default|optimized|horizontal) tier/);
  });

  it('names the cluster tier and how many nodes like this host it takes when no single host does', () => {
    const p = planCarebox(hypotheticalHost(8, 32 * GiB), { ...auto, users: servesHere(99, 396) + 1, usersSource: '--users' });
    const needs = p.shortfall!.needs;
    expect(needs === 'cluster' || needs.tier === 'cluster').to.equal(true);
    expect(p.shortfall!.message).to.match(/cluster tier|split the deployment/);
  });

  it('says when nothing within the caps serves the users', () => {
    const p = planCarebox(hypotheticalHost(2, 4 * GiB), { ...auto, users: 1_000_000, usersSource: '--users' });
    expect(p.shortfall!.needs).to.equal('cluster');
    expect(p.shortfall!.message).to.match(/split the deployment across several clusters/);
  });
});

describe('explanation: one derivation per derived number', () => {
  for (const [label, host, intent] of [
    ['default tier, 1 CPU / 1 GiB', hypotheticalHost(1, GiB), tierIntent('default')],
    ['default tier with PgBouncer on, 2 CPUs / 4 GiB', hypotheticalHost(2, 4 * GiB), tierIntent('default', 'on')],
    ['auto, 4 CPUs / 8 GiB', hypotheticalHost(4, 8 * GiB), auto],
    ['cluster for 20,000 users, 8 CPUs / 32 GiB', hypotheticalHost(8, 32 * GiB), { ...tierIntent('cluster'), users: 20_000, usersSource: '--users' }],
  ] as const) {
    it(`${label}: every numeric leaf under sizing has a one-line derivation, shown in the text output`, () => {
      const p = planCarebox(host, intent);
      const leaves = numericLeaves(p.sizing, 'sizing');
      expect(leaves.length).to.be.greaterThan(35);
      const text = formatPlan(p);
      for (const path of leaves) {
        const line = p.derivations[path];
        expect(line, path).to.be.a('string').and.match(/\d/);
        expect(line!.includes('\n'), path).to.equal(false);
        expect(text, path).to.include(`  ${path}: ${line}`);
      }
      for (const key of [
        'sizing.queue.concurrency',
        'sizing.nginx.workerRlimitNofile',
        'sizing.backend.pool.min',
        'sizing.backend.pool.acquireTimeoutMs',
        'sizing.redis.limits.memoryBytes',
        'nodes',
        'capacity.concurrentUsers',
      ]) {
        expect(p.derivations[key], key).to.be.a('string');
      }
      // Issue 12: keep-alive to the backends with live DNS (was: none, resolved per request).
      expect(p.derivations['sizing.nginx.upstream.keepalive']).to.match(/^keepalive \d+ idle connections per worker = clamp\(/);
      expect(p.derivations['sizing.nginx.minVersion']).to.match(/nginx ≥ 1\.27\.3/);
      expect(p.sizing.nginx.upstream!.keepaliveTimeoutS).to.be.below(65); // the server's KEEP_ALIVE_TIMEOUT_MS
      if (p.sizing.pgbouncer) expect(p.derivations['sizing.pgbouncer.defaultPoolSize']).to.match(/default_pool_size \d+ = /);
    });
  }
});
