/**
 * The capacity estimate, in active staff under a workload profile (workload.profile.ts).
 *
 * 1. Sustained requests per second, the tightest of three resources (each the figure at which it
 *    still answers at p95 ≤ 200 ms):
 *    - web-worker CPU: RPS_PER_WEB_CPU × web CPUs × nodes, web CPUs = min(web processes,
 *      usable CPUs × WEB_CPU_SHARE) per node;
 *    - PostgreSQL: CPU (RPS_PER_PG_CPU × the CPUs its host leaves it after the web workers; one
 *      primary serves every node of a cluster, so this does not grow with nodes) and connections
 *      (the connections the web processes can hold at once ÷ the time a request holds one, at
 *      half occupancy);
 *    - Redis: one thread; REDIS_OPS_PER_S ÷ commands per request.
 * 2. Actions per second X = requests/s ÷ requests per action (the profile).
 * 3. Active staff N = X × (R + Z) (Little's law), R the mean response time of an action at that
 *    load (calibrated), Z the profile's mean think time.
 *
 * `requestsPerSecond`, `actionsPerSecond` and `concurrentUsers` therefore agree by Little's law by
 * construction (up to rounding down to whole staff). Pure.
 */
import type { Plan, PlanCapacity, PlanSizing } from './plan.types.js';
import { isDeepStrictEqual } from 'node:util';
import { c } from './derived.js';
import { completePlan } from './plan.complete.js';
import { DEFAULT_PROFILE, effectiveThinkTimeS, requestsPerAction, staffUnit, type WorkloadProfile } from './workload.profile.js';

/**
 * Share of usable CPUs left to node web workers when PostgreSQL, Redis, nginx and the queue share
 * the host. Our estimate, from `docker stats` under the load test's mix on the calibration host:
 * the backend container used about 100 % of the 2 CPUs' 200 %, PostgreSQL 56 %, nginx 8 %,
 * Redis 6 %, i.e. the backend ~0.6 of what the stack used, with the load generator and Docker's
 * proxy taking the rest.
 */
export const WEB_CPU_SHARE = 0.65;

/**
 * The measurement the estimate is calibrated on: the request rate of the *proven* figure of
 * `carebox loadtest` (the closed-loop run of N virtual staff with exponential think time that held
 * p95 ≤ 200 ms and ≤ 0.1 % errors for 60 s), through nginx on loopback, and the mean time of a
 * request at that load.
 *
 * - date: 2026-12-08 01:26–02:21 UTC, `carebox loadtest --json --no-saturation` (15 s per
 *   arrival rate, random arrivals, default profile: 1.7 requests per action, think time 30 s),
 *   seven runs in a row on a freshly booted machine with nothing else running (1-minute load
 *   average 1–3 at each start: the tail of the previous run). Runs 2–7 proved 12,149, 10,661,
 *   7,762, 6,434, 8,808 and 5,869 active staff at 691, 608, 438, 366, 502 and 335 requests/s
 *   (p95 48–179 ms, 0 errors); run 1's two proofs failed (p95 246 and 418 ms at 743 and 671
 *   requests/s). The proof steps down from N = X* × (R + Z) by 15 % and 30 % (PROOF_SHARES).
 * - spread: X* of the arrival-rate steps fell from 440 and 479 actions/s (runs 1–2) to 220–360
 *   (runs 3–6) with the same code and stack, also after the backend was restarted (run 5), and a
 *   stack installed afresh beside it (run 7, fresh database) reached only 280: the drift is the
 *   machine's (a shared VM), not the stack's state. The calibrations of other days saw the same
 *   (2026-12-07: 254–320, then 272–542 requests/s). So the estimate spans the lowest and the
 *   highest proven rate of the day: its low end is what the slowest run proved.
 * - machine: 2 vCPUs (AMD EPYC, Firecracker VM), 23.5 GiB, Linux 6.18, Node 20.20.2, Docker
 *   20.10.24 with Compose 2.26.1, stand-in images (Debian 12 PostgreSQL 15 with fsync on,
 *   Redis 7.0; Debian forky nginx 1.30 with upstream keep-alive);
 * - stack: the planner's choice for that host, tier optimized: 1 backend × 2 web workers, 1 queue
 *   worker, nginx 1 worker, with the monitoring and the backup scheduler a default install runs;
 *   the load generator on the same host (through Docker's loopback proxy), so it and the proxy
 *   (about 0.3 CPU together, `top` during run 6) competed with the stack as remote clients would
 *   not: the estimate is therefore conservative for a hospital whose clients are elsewhere;
 * - mean time of a request at that load: about 34 ms (the proven runs' R of 0.024–0.089 s per
 *   action ÷ 1.7 requests).
 * - Superseded: 2026-12-07's calibration before the edge's upstream keep-alive (254–320 req/s,
 *   4,476–5,654 proven) and the closed-loop runs of 2026-11-29 (599, 613, 594 req/s with 63–75
 *   connections and no pause), which overstated what people at desks get: a closed loop slows down
 *   with the server. bench/REFERENCE.md has every run.
 */
export const CALIBRATION = {
  date: '2026-12-08',
  host: { cpus: 2, webProcesses: 2 },
  /** Requests/s of each run's proven figure. */
  sustainedRequestsPerSecond: [691, 608, 438, 366, 502, 335],
  /** Mean response time of one request at the sustained rate, ms. */
  meanRequestMs: 34,
  /** 1-minute load average at the start of the runs (nothing else ran; the previous run's tail). */
  loadAverage: [1.0, 3.0],
} as const;

/** Web-worker CPUs of the calibration host by {@link webCpusPerNode}'s rule: min(2, 2 × 0.65) = 1.3. */
const CALIBRATION_WEB_CPUS = Math.min(CALIBRATION.host.webProcesses, CALIBRATION.host.cpus * WEB_CPU_SHARE);

/**
 * Requests per second one web-worker CPU sustains at p95 ≤ 200 ms, [low, high]: the lowest and
 * highest sustained rate of {@link CALIBRATION} divided by that host's web-worker CPUs (1.3).
 */
export const RPS_PER_WEB_CPU: [number, number] = [
  Math.floor(Math.min(...CALIBRATION.sustainedRequestsPerSecond) / CALIBRATION_WEB_CPUS),
  Math.floor(Math.max(...CALIBRATION.sustainedRequestsPerSecond) / CALIBRATION_WEB_CPUS),
];

/**
 * Requests per second one PostgreSQL CPU serves: 1,000. Carebox measurements, `docker stats` under
 * the load test's mix: PostgreSQL used 56 % of a CPU at about 600 requests/s (2026-11-29, 0.93 ms
 * per request) and 25–37 % at 320 requests/s in the proof run of 2026-12-07 (about 0.9 ms per
 * request, i.e. 1,100 per CPU), rounded down.
 */
export const RPS_PER_PG_CPU = 1000;

/**
 * Mean time a request holds a PostgreSQL connection, ms: 2. Our estimate for the mix (index
 * lookups of 0.3–1 ms, one booking transaction of a few ms, one to three queries per request).
 */
export const DB_HOLD_MS = 2;
/** Share of the web processes' DB connections busy at once that still keeps acquire waits short (queueing: half occupancy). */
export const DB_CONNECTION_OCCUPANCY = 0.5;

/**
 * Redis commands one core executes per second for Carebox's small keys: 50,000, half of what
 * `redis-benchmark` shows for GET/SET on one core (Redis docs), leaving room for the queue's
 * blocking commands and persistence.
 */
export const REDIS_OPS_PER_S = 50_000;
/** Redis commands per request of the mix: session lookup, rate-limit counter, cache read or write. */
export const REDIS_OPS_PER_REQUEST = 3;

/** The resources capacity can be bound by. */
export type CapacityResource = 'web-cpu' | 'postgres-cpu' | 'postgres-connections' | 'redis';

/** What the estimate takes from a plan. */
export interface CapacityInput {
  /** Web worker processes per node. */
  webProcesses: number;
  /** Usable CPUs per node. */
  cpus: number;
  nodes: number;
  /** PostgreSQL container CPU limit (the one primary). */
  postgresCpus: number;
  /** Redis container CPU limit (one thread uses at most 1). */
  redisCpus: number;
  /** Connections the web processes of all nodes can hold at once: Σ pool.max, or PgBouncer's server pool. */
  webDbConnections: number;
  profile: WorkloadProfile;
}

/** One resource's ceiling. */
export interface ResourceCeiling {
  resource: CapacityResource;
  /** Sustained requests/s this resource allows, [low, high]. */
  requestsPerSecond: [number, number];
  derivation: string;
}

/** The estimate and how it was reached. */
export interface CapacityEstimate {
  /** Active staff [low, high] under the profile. */
  concurrentUsers: [number, number];
  /** Sustained requests/s [low, high]. */
  requestsPerSecond: [number, number];
  /** Sustained actions/s [low, high]. */
  actionsPerSecond: [number, number];
  /** Mean response time of one action at that load, s. */
  responseTimeS: number;
  /** Mean think time, s (as drawn: the truncated exponential's mean). */
  thinkTimeS: number;
  requestsPerAction: number;
  /** The resource that binds (the lowest ceiling). */
  bottleneck: CapacityResource;
  ceilings: ResourceCeiling[];
  /** One-line derivation of concurrentUsers. */
  derivation: string;
}

/** Web-worker CPUs of one node: min(web processes, max(0.5, usable CPUs × WEB_CPU_SHARE)). */
export function webCpusPerNode(webProcesses: number, cpus: number): number {
  return Math.min(webProcesses, Math.max(0.5, cpus * WEB_CPU_SHARE));
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Estimates the capacity of a stack. See the module comment for the model.
 * @returns staff, requests/s and actions/s as [low, high] ranges, the binding resource and every
 *   resource's ceiling with its derivation. Never throws (a zero-capacity stack gives zeros).
 */
export function estimateCapacity(i: CapacityInput): CapacityEstimate {
  const webCpus = webCpusPerNode(i.webProcesses, i.cpus);
  const web: [number, number] = [Math.floor(RPS_PER_WEB_CPU[0] * webCpus * i.nodes), Math.floor(RPS_PER_WEB_CPU[1] * webCpus * i.nodes)];
  // The primary's host runs web workers too (Swarm places services freely; one host on the
  // single-host tiers), so PostgreSQL gets what they leave of its CPUs, at least 35 %.
  const pgCpus = Math.max(i.postgresCpus * (1 - WEB_CPU_SHARE), Math.min(i.postgresCpus, i.cpus) - webCpus);
  const pgCpu = Math.floor(RPS_PER_PG_CPU * pgCpus);
  const pgConn = Math.floor((i.webDbConnections * DB_CONNECTION_OCCUPANCY * 1000) / DB_HOLD_MS);
  const redis = Math.floor((REDIS_OPS_PER_S * Math.min(1, i.redisCpus)) / REDIS_OPS_PER_REQUEST);
  const ceilings: ResourceCeiling[] = [
    {
      resource: 'web-cpu',
      requestsPerSecond: web,
      derivation: `web CPU ${web[0]}–${web[1]} req/s = ${RPS_PER_WEB_CPU[0]}–${RPS_PER_WEB_CPU[1]} per web-worker CPU × min(${i.webProcesses} web processes, ${c(i.cpus)} CPUs × ${WEB_CPU_SHARE}) = ${r2(webCpus)}${i.nodes > 1 ? ` × ${i.nodes} nodes` : ''}`,
    },
    {
      resource: 'postgres-cpu',
      requestsPerSecond: [pgCpu, pgCpu],
      derivation: `PostgreSQL CPU ${pgCpu} req/s = ${RPS_PER_PG_CPU} per CPU × ${r2(pgCpus)} CPUs left by the web workers on its host (limit ${c(i.postgresCpus)}${i.nodes > 1 ? '; one primary for every node' : ''})`,
    },
    {
      resource: 'postgres-connections',
      requestsPerSecond: [pgConn, pgConn],
      derivation: `PostgreSQL connections ${pgConn} req/s = ${i.webDbConnections} web connections × ${DB_CONNECTION_OCCUPANCY} occupancy / ${DB_HOLD_MS} ms held per request`,
    },
    {
      resource: 'redis',
      requestsPerSecond: [redis, redis],
      derivation: `Redis ${redis} req/s = ${REDIS_OPS_PER_S} commands/s on one thread / ${REDIS_OPS_PER_REQUEST} per request`,
    },
  ];
  const low = Math.min(...ceilings.map((x) => x.requestsPerSecond[0]));
  const high = Math.max(low, Math.min(...ceilings.map((x) => x.requestsPerSecond[1])));
  const binding = ceilings.reduce((a, x) => (x.requestsPerSecond[0] < a.requestsPerSecond[0] ? x : a));
  const rpa = requestsPerAction(i.profile);
  const responseTimeS = r2((rpa * CALIBRATION.meanRequestMs) / 1000);
  const thinkTimeS = r2(effectiveThinkTimeS(i.profile));
  const actions: [number, number] = [r2(low / rpa), r2(high / rpa)];
  const staff: [number, number] = [Math.floor((low / rpa) * (responseTimeS + thinkTimeS)), Math.floor((high / rpa) * (responseTimeS + thinkTimeS))];
  return {
    concurrentUsers: staff,
    requestsPerSecond: [low, high],
    actionsPerSecond: actions,
    responseTimeS,
    thinkTimeS,
    requestsPerAction: r2(rpa),
    bottleneck: binding.resource,
    ceilings,
    derivation:
      `${staffUnit(i.profile)} ${staff[0]}–${staff[1]} = ${actions[0]}–${actions[1]} actions/s × (R ${responseTimeS} s + Z ${thinkTimeS} s) (Little's law); ` +
      `actions/s = ${low}–${high} req/s / ${r2(rpa)} requests per action; req/s = the tightest of web CPU, PostgreSQL and Redis: ${binding.resource} binds (${binding.derivation})`,
  };
}

/** Where the constants come from; printed with every estimate. */
export const CAPACITY_BASIS =
  `${RPS_PER_WEB_CPU[0]}–${RPS_PER_WEB_CPU[1]} req/s per web-worker CPU (calibrated on ${Math.min(...CALIBRATION.sustainedRequestsPerSecond)}–${Math.max(...CALIBRATION.sustainedRequestsPerSecond)} req/s sustained at p95 ≤ 200 ms ` +
  `by \`carebox loadtest\` on a ${CALIBRATION.host.cpus}-CPU host, tier optimized, ${CALIBRATION.date}), ${RPS_PER_PG_CPU} per PostgreSQL CPU, Redis ${Math.floor(REDIS_OPS_PER_S / REDIS_OPS_PER_REQUEST)} req/s; converted to active staff by Little's law under the workload profile`;

/** The capacity block of a plan from an estimate (measured: none yet). Pure. */
export function planCapacity(e: CapacityEstimate, profile: WorkloadProfile): PlanCapacity {
  return {
    concurrentUsers: e.concurrentUsers,
    unit: staffUnit(profile),
    requestsPerSecond: e.requestsPerSecond,
    actionsPerSecond: e.actionsPerSecond,
    responseTimeS: e.responseTimeS,
    thinkTimeS: e.thinkTimeS,
    requestsPerAction: e.requestsPerAction,
    bottleneck: e.bottleneck,
    ceilings: e.ceilings,
    profile,
    basis: CAPACITY_BASIS,
    measured: null,
  };
}

/** The profile a plan was made with (plans written before profiles existed: the default). */
export function planProfile(plan: Pick<Plan, 'capacity'>): WorkloadProfile {
  return plan.capacity.profile ?? DEFAULT_PROFILE;
}

/** Whether a recorded measurement is in active staff (written by the open-model load test). */
export function isStaffMeasurement(m: PlanCapacity['measured']): m is NonNullable<PlanCapacity['measured']> & { actionsPerSecond: number } {
  return m !== null && m !== undefined && typeof (m as { actionsPerSecond?: unknown }).actionsPerSecond === 'number';
}

/**
 * `plan` with the measured capacity of `installed` (carebox.json's plan) when both describe the
 * same stack (same tier, nodes and sizing): a measurement holds for the shape it was taken on, so
 * a plan for another tier, size or host shows none. The measured action rate X* is converted
 * into this plan's profile (N = X* × (R + Z)), so `--think-time 60` shows what the same stack
 * serves for slower staff. A measurement from before active staff (closed-loop users) is dropped.
 * Pure.
 */
export function withMeasuredFrom(plan: Plan, installed: Plan | null | undefined): Plan {
  const measured = installed?.capacity?.measured ?? null;
  if (!isStaffMeasurement(measured) || installed === null || installed === undefined) return plan;
  // Both completed: a plan recorded by an older Carebox lacks the fields added since, which
  // completePlan derives as the planner does, so the same stack still compares equal.
  const same = installed.tier === plan.tier && installed.nodes === plan.nodes && isDeepStrictEqual(completePlan(installed).sizing, completePlan(plan).sizing);
  if (!same) return plan;
  const z = r2(effectiveThinkTimeS(planProfile(plan)));
  const staff = Math.floor(measured.actionsPerSecond * (measured.responseTimeS + z));
  return { ...plan, capacity: { ...plan.capacity, measured: { ...measured, concurrentUsers: staff, thinkTimeS: z } } };
}

/**
 * The estimate for a sizing as planned or as changed by `carebox scale` (more replicas on the same
 * CPUs add no web CPU): web processes per node = replicas × workers, PostgreSQL's and Redis's CPU
 * limits, and the web processes' DB connections (Σ pool.max, or PgBouncer's default_pool_size).
 */
export function estimateForSizing(sizing: PlanSizing, cpus: number, nodes: number, profile: WorkloadProfile): CapacityEstimate {
  const webProcesses = sizing.backend.replicas * sizing.backend.workers;
  const webDbConnections = sizing.pgbouncer ? sizing.pgbouncer.defaultPoolSize : nodes * webProcesses * sizing.backend.pool.max;
  return estimateCapacity({
    webProcesses,
    cpus,
    nodes,
    postgresCpus: sizing.postgres.limits.cpus,
    redisCpus: sizing.redis.limits.cpus,
    webDbConnections,
    profile,
  });
}
