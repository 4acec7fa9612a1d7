/**
 * DESIGN.md's invariants, asserted on one plan, shared by the planner's grid, property, mode and
 * docs tests.
 */
import { expect } from 'chai';
import { checkBudgets, computeBudgets } from '../../../installer/plan/budget.check.js';
import { osHeadroom } from '../../../installer/plan/tier.plan.js';
import type { Intent, Plan, Tier } from '../../../installer/plan/plan.types.js';
import { JSON_PARSE_HEAP_PER_BYTE, JSON_PARSE_HEAP_SHARE } from '../../../installer/plan/sizing.constants.js';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
export const auto: Intent = { tier: null, users: null, usersSource: null, nodes: null, pgbouncer: 'auto' };
export const tierIntent = (tier: Tier, pgbouncer: Intent['pgbouncer'] = 'auto'): Intent => ({ ...auto, tier, pgbouncer });

/** JSON paths of every numeric leaf of an object (`sizing.backend.pool.max`, …); null branches have none. */
export function numericLeaves(value: unknown, prefix: string): string[] {
  if (typeof value === 'number') return [prefix];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => numericLeaves(v, `${prefix}.${k}`));
}

/**
 * capacity.requestsPerSecond, capacity.profile and capacity.concurrentUsers (active staff) agree by
 * Little's law within 5 %: N = req/s ÷ requests per action × (R + Z).
 */
export function assertLittle(p: Plan): void {
  const c = p.capacity;
  expect(c.profile, 'capacity.profile').to.be.an('object');
  expect(c.profile!.thinkTime.source).to.be.a('string').and.not.equal('');
  for (const a of c.profile!.actions) expect(a.source, `source of ${a.name}`).to.be.a('string').and.not.equal('');
  const rpa = c.profile!.actions.reduce((s, a) => s + a.share * a.requests, 0);
  for (const i of [0, 1] as const) {
    const n = (c.requestsPerSecond![i] / rpa) * (c.responseTimeS! + c.thinkTimeS!);
    const staff = c.concurrentUsers[i];
    if (n >= 20) expect(Math.abs(staff - n) / n, `Little's law [${i}]: ${staff} vs ${n}`).to.be.at.most(0.05);
  }
}

/**
 * Every invariant of DESIGN.md on one plan: DB connections (and PgBouncer clients), memory (and
 * PostgreSQL's own), worker processes and nginx workers vs CPUs, each container's CPU limit,
 * Redis clients; plus the plan's budgets being exactly what checkBudgets recomputes, and a one-line
 * derivation for every numeric leaf under `sizing`.
 */
export function assertInvariants(p: Plan): void {
  const where = `${p.tier} on ${p.host.cpus} CPUs / ${p.host.memoryBytes / GiB} GiB (pgbouncer ${p.intent.pgbouncer})`;
  const b = p.budget;
  expect(b.dbConnections.demand, `DB connections, ${where}`).to.be.at.most(b.dbConnections.limit);
  expect(b.dbConnections.limit, where).to.equal(p.sizing.postgres.maxConnections);
  expect(Boolean(b.pgbouncerClients), where).to.equal(p.sizing.pgbouncer !== null);
  if (b.pgbouncerClients) expect(b.pgbouncerClients.demand, `PgBouncer clients, ${where}`).to.be.at.most(b.pgbouncerClients.limit);
  expect(b.redisConnections.demand, `Redis, ${where}`).to.be.at.most(b.redisConnections.limit);
  expect(b.redisConnections.limit, where).to.equal(p.sizing.redis.maxClients);
  expect(b.memoryBytes.demand, `memory, ${where}`).to.be.at.most(b.memoryBytes.limit);
  expect(b.memoryBytes.limit, where).to.equal(p.host.memoryBytes - osHeadroom(p.host.memoryBytes).value);
  expect(b.postgresMemoryBytes.demand, `PostgreSQL memory, ${where}`).to.be.at.most(b.postgresMemoryBytes.limit);
  expect(b.workerProcesses.demand, `web workers vs CPUs, ${where}`).to.be.at.most(Math.max(1, Math.floor(p.host.cpus)));
  expect(p.sizing.nginx.workerProcesses, `nginx workers, ${where}`).to.be.at.most(Math.max(1, Math.floor(p.host.cpus)));
  const limits = [p.sizing.backend.limits, p.sizing.queue.limits, p.sizing.postgres.limits, p.sizing.redis.limits, p.sizing.nginx.limits];
  if (p.sizing.pgbouncer) limits.push(p.sizing.pgbouncer.limits);
  for (const l of limits) {
    expect(l.cpus, where).to.be.greaterThan(0).and.at.most(p.host.cpus);
    expect(l.memoryBytes % MiB, where).to.equal(0);
  }
  expect(p.sizing.backend.pool.min).to.be.at.most(p.sizing.backend.pool.max);
  expect(p.sizing.queue.pool.min).to.be.at.most(p.sizing.queue.pool.max);
  expect(p.capacity.concurrentUsers[0]).to.be.at.most(p.capacity.concurrentUsers[1]);
  assertLittle(p);
  if (p.sizing.pgbouncer) expect(p.sizing.pgbouncer.poolMode).to.equal('transaction');
  // Issue 10 item 1: the worst-case JSON parse of the largest accepted body fits in a quarter of a worker's heap.
  expect(p.sizing.bodyLimitBytes, where).to.equal(p.sizing.backend.jsonBodyLimitBytes);
  expect(p.sizing.backend.jsonBodyLimitBytes * JSON_PARSE_HEAP_PER_BYTE, `JSON parse worst case, ${where}`).to.be.at.most(
    p.sizing.backend.heapLimitMb * MiB * JSON_PARSE_HEAP_SHARE,
  );
  expect(p.sizing.backend.jsonBodyLimitBytes, where).to.be.at.most(1024 * 1024);
  // The budgets in the plan are the ones checkBudgets recomputes from the sizing.
  const host = { cpus: p.host.cpus, memoryLimitBytes: b.memoryBytes.limit };
  expect(checkBudgets(p.sizing, host, p.nodes), where).to.deep.equal([]);
  expect(computeBudgets(p.sizing, host, p.nodes)).to.deep.equal(b);
  // Explanation: every derived number has its one-line derivation.
  for (const path of numericLeaves(p.sizing, 'sizing')) {
    const line = p.derivations[path];
    expect(line, `derivation of ${path}, ${where}`).to.be.a('string').and.not.equal('');
    expect(line!.includes('\n'), `${path} is one line`).to.equal(false);
  }
}
