/**
 * Capacity in active staff: Little's law in plan --json, the binding resource, hints that agree with
 * the tier table (the three contradictions of issue 16, point 5, each checked by re-planning the
 * host the hint names), and --size large on hosts that can and cannot serve 1,000 active staff.
 */
import { expect } from 'chai';
import { hypotheticalHost } from '../../../installer/plan/hypothetical.host.js';
import { estimateCapacity } from '../../../installer/plan/capacity.estimate.js';
import { buildIntent } from '../../../installer/plan/intent.js';
import { formatPlan } from '../../../installer/plan/plan.format.js';
import type { Plan } from '../../../installer/plan/plan.types.js';
import { HINT_MAX_CPUS, hintHost, planCarebox } from '../../../installer/plan/tier.plan.js';
import { DEFAULT_PROFILE, withThinkTime } from '../../../installer/plan/workload.profile.js';
import { MAX_WEB_PROCESSES } from '../../../installer/plan/sizing.constants.js';
import { assertInvariants, assertLittle, GiB } from './plan.invariants.js';

const plan = (cpus: number, gib: number, flags: Parameters<typeof buildIntent>[0] = {}): Plan =>
  planCarebox(hypotheticalHost(cpus, gib * GiB), buildIntent(flags));

/**
 * A hint is trustworthy when: the host it names, re-planned with the same intent, serves the users
 * (no shortfall, low estimate ≥ users); one CPU less at the same memory ratio does not (the
 * smallest, not a power-of-two jump past it); it stays within the caps; and this host's tier table
 * claims no single-host tier that serves them.
 */
function assertHintHolds(p: Plan, users: number, flags: Parameters<typeof buildIntent>[0]): void {
  const s = p.shortfall!;
  expect(s, 'a shortfall').to.not.equal(null);
  for (const t of p.tiers) {
    if (t.tier !== 'cluster' && t.concurrentUsers) expect(t.concurrentUsers[0], `table row ${t.tier} must not serve ${users}`).to.be.below(users);
  }
  expect(s.needs).to.not.equal('cluster');
  if (s.needs === 'cluster') return;
  expect(s.needs.cpus).to.be.at.most(HINT_MAX_CPUS);
  if (s.needs.tier === 'cluster') {
    const there = planCarebox(hypotheticalHost(s.needs.cpus, s.needs.memoryBytes), buildIntent({ ...flags, tier: 'cluster', users }));
    expect(there.nodes).to.equal(s.needs.nodes);
    expect(there.shortfall).to.equal(null);
    expect(there.capacity.concurrentUsers[0]).to.be.at.least(users);
    return;
  }
  expect(s.needs.nodes).to.equal(1);
  const there = planCarebox(hypotheticalHost(s.needs.cpus, s.needs.memoryBytes), buildIntent({ ...flags, users }));
  expect(there.shortfall, `the named host ${s.needs.cpus} CPUs serves ${users}`).to.equal(null);
  expect(there.tier).to.equal(s.needs.tier);
  expect(there.capacity.concurrentUsers[0]).to.be.at.least(users);
  expect(s.message).to.include(`${s.needs.cpus} CPUs`);
  // The smallest: one CPU less (same memory ratio) does not serve them.
  if (s.needs.cpus > 1) {
    const less = hintHost(s.needs.cpus - 1);
    const below = planCarebox(hypotheticalHost(less.cpus, less.memoryBytes), buildIntent({ ...flags, users }));
    expect(below.shortfall, `${less.cpus} CPUs would not do`).to.not.equal(null);
  }
}

describe('plan: capacity in active staff', () => {
  it("plan --json holds capacity.profile, requestsPerSecond and concurrentUsers, agreeing by Little's law within 5 %", () => {
    for (const [cpus, gib] of [
      [1, 1],
      [2, 4],
      [2, 23.5],
      [4, 8],
      [16, 64],
      [64, 256],
    ] as const) {
      const p = plan(cpus, gib);
      expect(p.capacity.profile).to.deep.equal(DEFAULT_PROFILE);
      expect(p.capacity.unit).to.equal('active staff (one action every 30 s)');
      assertLittle(p);
      const z60 = plan(cpus, gib, { thinkTime: '60' });
      expect(z60.capacity.profile!.thinkTime.meanS).to.equal(60);
      expect(z60.capacity.requestsPerSecond).to.deep.equal(p.capacity.requestsPerSecond);
      // Twice the think time: about twice the staff for the same request rate.
      expect(z60.capacity.concurrentUsers[0] / p.capacity.concurrentUsers[0]).to.be.within(1.9, 2.05);
      assertInvariants(z60);
    }
  });

  it('names the binding resource, and a cluster in front of one PostgreSQL does not claim nodes × one node', () => {
    const node = plan(4, 16, { tier: 'cluster', nodes: 2 });
    const big = plan(4, 16, { tier: 'cluster', nodes: 17 });
    expect(big.capacity.bottleneck).to.not.equal('web-cpu');
    const web = big.capacity.ceilings!.find((c) => c.resource === 'web-cpu')!;
    expect(big.capacity.requestsPerSecond![0]).to.be.below(web.requestsPerSecond[0]);
    expect(big.capacity.concurrentUsers[0]).to.be.below((17 / 2) * node.capacity.concurrentUsers[0] * 0.5);
    expect(formatPlan(big)).to.match(/(postgres-cpu|postgres-connections|redis) binds/);
    // The estimate is the minimum over every ceiling.
    const e = estimateCapacity({ webProcesses: 64, cpus: 128, nodes: 1, postgresCpus: 2, redisCpus: 1, webDbConnections: 640, profile: DEFAULT_PROFILE });
    expect(e.bottleneck).to.equal('postgres-cpu');
    expect(e.requestsPerSecond[0]).to.equal(Math.min(...e.ceilings.map((c) => c.requestsPerSecond[0])));
  });

  it('--think-time and a profile file change the staff, not the requests; bad values exit 2', () => {
    expect(() => buildIntent({ thinkTime: '0' })).to.throw(/think-time/);
    expect(() => buildIntent({ thinkTime: 'soon' })).to.throw(/think-time/);
    const slow = withThinkTime(DEFAULT_PROFILE, 90);
    const p = planCarebox(hypotheticalHost(2, 4 * GiB), buildIntent({ profile: slow }));
    expect(p.capacity.thinkTimeS).to.be.within(89, 90);
    expect(p.intent.profile).to.deep.equal(slow);
  });
});

describe('plan: hints a buyer can trust (issue 16, point 5)', () => {
  it('1. --users N on a small host names the smallest host that serves N, never a power-of-two jump past it', () => {
    // Then: `plan --users 150` asked for 8 CPUs while 5 CPUs / 4 GiB served 156–185. Now: N is
    // what a 5-CPU host serves; the hint must name at most that host, and that host must serve N.
    const five = plan(5, 20);
    const users = five.capacity.concurrentUsers[0];
    const p = plan(2, 4, { users: String(users) });
    assertHintHolds(p, users, {});
    const s = p.shortfall!;
    if (s.needs !== 'cluster') expect(s.needs.cpus).to.be.at.most(5);
    // And for a spread of N on a few hosts.
    for (const [cpus, gib] of [
      [1, 1],
      [2, 4],
      [3, 6],
      [4, 8],
    ] as const) {
      const here = plan(cpus, gib).tiers.reduce((m, t) => Math.max(m, t.tier === 'cluster' ? 0 : (t.concurrentUsers?.[1] ?? 0)), 0);
      for (const factor of [1.3, 2.7, 6.1]) {
        const n = Math.ceil(here * factor);
        const q = plan(cpus, gib, { users: String(n) });
        if (q.shortfall) assertHintHolds(q, n, {});
      }
    }
  });

  it('2. a hint never names a host beyond the cap of 64 web processes', () => {
    // Then: `plan --users 2000` asked for 128 CPUs / 512 GiB, beyond 64 web processes. Now: the
    // largest single host a hint can name is where 64 web processes get their CPUs.
    expect(HINT_MAX_CPUS).to.equal(Math.ceil(MAX_WEB_PROCESSES / 0.65));
    const top = plan(HINT_MAX_CPUS, HINT_MAX_CPUS * 4);
    const beyondSingle = top.capacity.concurrentUsers[1] + 1;
    const p = plan(2, 4, { users: String(beyondSingle) });
    expect(p.shortfall).to.not.equal(null);
    const s = p.shortfall!;
    if (s.needs !== 'cluster') {
      expect(s.needs.cpus).to.be.at.most(HINT_MAX_CPUS);
      expect(s.needs.tier, 'no single host serves them: the hint is a cluster').to.equal('cluster');
      assertHintHolds(p, beyondSingle, {});
    } else expect(s.message).to.match(/split the deployment/);
    for (const n of [top.capacity.concurrentUsers[0] - 1, Math.floor(top.capacity.concurrentUsers[0] / 2)]) {
      const q = plan(2, 4, { users: String(n) });
      const h = q.shortfall!.needs;
      expect(h).to.not.equal('cluster');
      if (h !== 'cluster') {
        expect(h.cpus).to.be.at.most(HINT_MAX_CPUS);
        expect(h.tier).to.not.equal('cluster');
      }
      assertHintHolds(q, n, {});
    }
  });

  it('3. when the cluster on nodes like this one serves N, the hint says so, as the tier table does', () => {
    // Then: `plan --users 2000 --cpus 64 --memory 256g` said "more than any tier serves on this
    // host" while its table listed the cluster serving 3993–4742 on 2 nodes.
    let clusterCases = 0;
    for (const [cpus, gib] of [
      [8, 32],
      [16, 64],
      [64, 256],
    ] as const) {
      const single = plan(cpus, gib);
      const n = single.tiers.filter((t) => t.tier !== 'cluster').reduce((m, t) => Math.max(m, t.concurrentUsers?.[1] ?? 0), 0) + 1;
      const p = plan(cpus, gib, { users: String(n) });
      const clusterRow = p.tiers.find((t) => t.tier === 'cluster')!;
      expect(p.reasons[0]).to.match(/more than any single-host tier serves on this host/);
      expect(formatPlan(p)).to.not.match(/more than any tier serves/);
      const s = p.shortfall!;
      if (clusterRow.concurrentUsers && clusterRow.concurrentUsers[0] >= n) {
        clusterCases += 1;
        // The table's cluster row serves N: the hint names it with the same node count.
        expect(s.message).to.include(`the cluster tier`);
        expect(s.message).to.include(`${clusterRow.nodes} nodes like this one`);
        assertHintHolds(p, n, {});
      } else if (s.needs === 'cluster') {
        // Nothing within the caps serves N, and the table agrees: no row serves it.
        expect(s.message).to.match(/split the deployment/);
        for (const t of p.tiers) expect(t.concurrentUsers?.[0] ?? 0).to.be.below(n);
      } else assertHintHolds(p, n, {});
    }
    expect(clusterCases, 'at least one host where the cluster row serves N').to.be.at.least(1);
  });
});

describe('plan: --size large', () => {
  it('does not report a shortfall on a host the model says serves 1,000 active staff; names a host that does otherwise', () => {
    for (const [cpus, gib] of [
      [1, 1],
      [1, 2],
      [2, 4],
      [4, 8],
      [2, 23.5],
    ] as const) {
      const p = plan(cpus, gib, { size: 'large' });
      const serves = p.tiers.some((t) => t.tier !== 'cluster' && (t.concurrentUsers?.[0] ?? 0) >= 1000);
      if (serves) {
        expect(p.shortfall, `${cpus} CPUs`).to.equal(null);
        expect(p.capacity.concurrentUsers[0]).to.be.at.least(1000);
      } else assertHintHolds(p, 1000, { size: 'large' });
    }
    // With a think time so short that the smallest host cannot serve 1,000, the hint names one that can.
    const tight = plan(1, 1, { size: 'large', thinkTime: '1' });
    if (tight.shortfall) assertHintHolds(tight, 1000, { thinkTime: '1' });
  });
});

describe('plan: a workload profile read back from carebox.json', () => {
  it('is checked like a --profile file: a hand-edited one is a usage error (exit 2), not a crash', () => {
    const intent = buildIntent({ thinkTime: '45' });
    const broken = { ...intent, profile: { ...intent.profile!, actions: [] } };
    expect(() => planCarebox(hypotheticalHost(2, 4 * GiB), broken as never)).to.throw(/workload profile is invalid/);
    expect(planCarebox(hypotheticalHost(2, 4 * GiB), intent).capacity.profile!.thinkTime.meanS).to.equal(45);
  });
});
