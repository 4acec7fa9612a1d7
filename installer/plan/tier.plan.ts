import type { PlanHost } from '../detect/host-facts.js';
import { PreflightError } from '../errors.js';
import { computeBudgets, checkBudgets } from './budget.check.js';
import { CAPACITY_BASIS, estimateCapacity } from './capacity.estimate.js';
import { b, c, clamp, derived, floorMiB, type Derived } from './derived.js';
import { pgMemory, pgParallel, pgWorkMem, planConnections } from './postgres.sizing.js';
import {
  APP_MEMORY_SHARE,
  BODY_LIMIT_BYTES,
  CLUSTER_PRIMARY_BYTES,
  GiB,
  HEAP_SHARE,
  MAX_WEB_PROCESSES,
  NGINX_BASE_BYTES,
  NGINX_MAX_WORKERS,
  NGINX_MEMORY_PER_WORKER_SLOT,
  NGINX_PER_WORKER_BYTES,
  OS_HEADROOM_FRACTION,
  OS_HEADROOM_MAX_BYTES,
  OS_HEADROOM_MIN_BYTES,
  PG_MIN_BYTES,
  PGBOUNCER_BYTES,
  POOL_ACQUIRE_TIMEOUT_MS,
  POOL_MIN,
  QUEUE_WORKER_BYTES,
  REDIS_CLIENT_HEADROOM_EXTRA,
  REDIS_CLIENT_HEADROOM_FACTOR,
  REDIS_CONTAINER_EXTRA_BYTES,
  REDIS_CONTAINER_FACTOR,
  REDIS_MAX_BYTES,
  REDIS_MEMORY_FRACTION,
  REDIS_MIN_BYTES,
  SHUTDOWN_TIMEOUT_MS,
  SUPERUSER_RESERVED_CONNECTIONS,
  WEB_WORKER_BYTES,
} from './sizing.constants.js';
import { TIER_SHAPES } from './tier.shapes.js';
import { TIERS, type Intent, type Plan, type PlanSizing, type Tier, type TierOption } from './plan.types.js';

/** A sized tier, or why this host cannot run it. */
type TierResult = { ok: true; plan: Plan } | { ok: false; reason: string };

const round2 = (x: number) => Math.floor(x * 100) / 100;

/**
 * OS headroom (bytes): clamp(10 % of effective memory, 256 MiB, 4 GiB). Source: GitLab Omnibus
 * reserves 1.5 GiB for the OS on its reference hosts; scaled for small VMs.
 */
export function osHeadroom(memoryBytes: number): Derived {
  const h = floorMiB(clamp(memoryBytes * OS_HEADROOM_FRACTION, OS_HEADROOM_MIN_BYTES, OS_HEADROOM_MAX_BYTES));
  return derived(h, `OS headroom ${b(h)} = clamp(10 % of ${b(memoryBytes)}, 256 MiB, 4 GiB)`);
}

/**
 * Size one tier on one host. Pure: same inputs, same output. Walks the web process count down
 * from min(usable CPUs, memory, 64) until every budget fits, so invariants 1–4 hold by construction.
 */
function sizeTier(host: PlanHost, tier: Tier, intent: Intent): TierResult {
  const shape = TIER_SHAPES[tier];
  const cpus = host.cpus.value;
  const mem = host.memoryBytes.value;
  if (cpus < shape.minCpus || mem < shape.minMemoryBytes) {
    return {
      ok: false,
      reason: `needs at least ${shape.minCpus} CPU${shape.minCpus > 1 ? 's' : ''} and ${b(shape.minMemoryBytes)}; this host has ${c(cpus)} CPUs and ${b(mem)} usable`,
    };
  }
  const d: Record<string, string> = {};
  const headroom = osHeadroom(mem);
  const avail = mem - headroom.value;
  d['host.headroomBytes'] = headroom.derivation;

  const redisMax = floorMiB(clamp(avail * REDIS_MEMORY_FRACTION, REDIS_MIN_BYTES, REDIS_MAX_BYTES));
  const redisLimit = floorMiB(redisMax * REDIS_CONTAINER_FACTOR + REDIS_CONTAINER_EXTRA_BYTES);
  d['sizing.redis.maxMemoryBytes'] = `maxmemory ${b(redisMax)} = clamp(5 % of ${b(avail)}, 64 MiB, 4 GiB)`;

  // Many cores with little memory (shared VMs): nginx workers are capped by memory as well as CPUs.
  const nginxMemCap = Math.max(1, Math.floor(avail / NGINX_MEMORY_PER_WORKER_SLOT));
  const nginxWorkers = clamp(Math.floor(cpus / 2), 1, Math.min(NGINX_MAX_WORKERS, Math.max(1, Math.floor(cpus)), nginxMemCap));
  d['sizing.nginx.workerProcesses'] = `worker_processes ${nginxWorkers} = clamp(floor(${c(cpus)} CPUs / 2), 1, min(8, ${nginxMemCap} = ${b(avail)} / ${b(NGINX_MEMORY_PER_WORKER_SLOT)})) (explicit, never auto)`;
  const nginxLimit = NGINX_BASE_BYTES + NGINX_PER_WORKER_BYTES * nginxWorkers;

  const appBudget = floorMiB(avail * APP_MEMORY_SHARE);
  const cpuProcs = Math.max(1, Math.floor(cpus));
  const memProcs = Math.floor(appBudget / WEB_WORKER_BYTES);
  const startProcs = Math.min(cpuProcs, memProcs, MAX_WEB_PROCESSES);
  d['processes'] = `web processes ≤ min(CPUs ${cpuProcs}, floor(app memory ${b(appBudget)} = (${b(mem)} − headroom) × ${APP_MEMORY_SHARE} / ${b(WEB_WORKER_BYTES)}) = ${memProcs}, ceiling ${MAX_WEB_PROCESSES})`;

  const nodes = shape.multiHost ? Math.max(2, intent.nodes ?? 2) : 1;
  let lastWhy = `not enough memory for ${shape.minWebProcesses} web process${shape.minWebProcesses > 1 ? 'es' : ''} and PostgreSQL`;

  for (let p = startProcs; p >= shape.minWebProcesses; p--) {
    const layout = shape.layout(p);
    if (!layout) continue;
    const { replicas, workers } = layout;
    const queueReplicas = shape.queueReplicas(replicas);
    const queueConc = shape.queueConcurrency;
    const backendLimit = workers * WEB_WORKER_BYTES + CLUSTER_PRIMARY_BYTES;
    const webBytes = replicas * backendLimit;
    const queueBytes = queueReplicas * QUEUE_WORKER_BYTES;
    if (webBytes + queueBytes > appBudget) {
      lastWhy = `${p} web processes need ${b(webBytes + queueBytes)}, over the app share ${b(appBudget)}`;
      continue;
    }
    const webProcesses = replicas * workers * nodes;
    const queueProcesses = queueReplicas * nodes;
    const pgbouncerMaybe = shape.pgbouncer === 'always';
    // Two passes: first assume no PgBouncer; if the connection plan needs one, re-size with its memory.
    for (const withPgb of pgbouncerMaybe ? [true] : [false, true]) {
      const pgBytes = floorMiB(avail - redisLimit - nginxLimit - webBytes - queueBytes - (withPgb ? PGBOUNCER_BYTES : 0));
      if (pgBytes < PG_MIN_BYTES) {
        lastWhy = `PostgreSQL would get ${b(Math.max(0, pgBytes))}, under its minimum ${b(PG_MIN_BYTES)}`;
        break;
      }
      const pgm = pgMemory(pgBytes, cpus);
      const conn = planConnections({
        webProcesses,
        queueProcesses,
        queuePoolMax: queueConc,
        cap: pgm.connectionCap.value,
        forcePgbouncer: withPgb,
      });
      if (!conn) {
        lastWhy = `PostgreSQL can hold only ${pgm.connectionCap.value} connections in ${b(pgBytes)}`;
        break;
      }
      if (conn.pgbouncer && !withPgb) continue; // needs PgBouncer: re-size with its memory
      const par = pgParallel(cpus);
      const workMem = pgWorkMem(pgBytes, pgm.sharedBuffersBytes.value, pgm.maintenanceWorkMemBytes.value, conn.maxConnections.value, par.maxParallelWorkers);
      const heapMb = (bytes: number) => Math.floor((bytes * HEAP_SHARE) / 1024 ** 2);
      const capacity = estimateCapacity(replicas * workers, cpus, nodes);
      const webConnHigh = capacity.value[1] / nodes;
      const workerConnections = clamp(Math.ceil((webConnHigh * 2 * 1.5) / nginxWorkers / 1024) * 1024, 1024, 16384);

      const sizing: PlanSizing = {
        backend: {
          replicas,
          workers,
          pool: { min: Math.min(POOL_MIN, conn.webPoolMax.value), max: conn.webPoolMax.value, acquireTimeoutMs: POOL_ACQUIRE_TIMEOUT_MS },
          heapLimitMb: heapMb(WEB_WORKER_BYTES),
          limits: { cpus: round2(Math.min(workers, cpus)), memoryBytes: backendLimit },
        },
        queue: {
          replicas: queueReplicas,
          concurrency: queueConc,
          pool: { min: 0, max: queueConc, acquireTimeoutMs: POOL_ACQUIRE_TIMEOUT_MS * 5 },
          heapLimitMb: heapMb(QUEUE_WORKER_BYTES),
          limits: { cpus: round2(Math.min(1, cpus)), memoryBytes: QUEUE_WORKER_BYTES },
        },
        postgres: {
          maxConnections: conn.maxConnections.value,
          superuserReservedConnections: SUPERUSER_RESERVED_CONNECTIONS,
          sharedBuffersBytes: pgm.sharedBuffersBytes.value,
          effectiveCacheSizeBytes: pgm.effectiveCacheSizeBytes.value,
          workMemBytes: workMem.value,
          maintenanceWorkMemBytes: pgm.maintenanceWorkMemBytes.value,
          maxWorkerProcesses: par.maxWorkerProcesses,
          maxParallelWorkers: par.maxParallelWorkers,
          maxParallelWorkersPerGather: par.perGather,
          limits: { cpus: round2(cpus), memoryBytes: pgBytes },
        },
        pgbouncer: conn.pgbouncer
          ? {
              poolMode: 'transaction',
              maxClientConn: conn.pgbouncer.maxClientConn.value,
              defaultPoolSize: conn.pgbouncer.defaultPoolSize.value,
              reservePoolSize: conn.pgbouncer.reservePoolSize,
              limits: { cpus: round2(Math.min(1, cpus)), memoryBytes: PGBOUNCER_BYTES },
            }
          : null,
        redis: { maxClients: 0, maxMemoryBytes: redisMax, maxMemoryPolicy: 'volatile-lru', limits: { cpus: round2(Math.min(1, cpus)), memoryBytes: redisLimit } },
        nginx: {
          workerProcesses: nginxWorkers,
          workerConnections,
          workerRlimitNofile: workerConnections * 2,
          keepaliveTimeoutS: 65,
          limits: { cpus: round2(Math.min(nginxWorkers, cpus)), memoryBytes: nginxLimit },
        },
        bodyLimitBytes: BODY_LIMIT_BYTES,
        shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
      };
      // Redis maxclients is derived from the counted clients, so count first.
      const budgetHost = { cpus, memoryLimitBytes: avail };
      const redisDemand = computeBudgets(sizing, budgetHost, nodes).redisConnections.demand;
      sizing.redis.maxClients = Math.ceil(redisDemand * REDIS_CLIENT_HEADROOM_FACTOR) + REDIS_CLIENT_HEADROOM_EXTRA;
      const budget = computeBudgets(sizing, budgetHost, nodes);
      const violations = checkBudgets(sizing, budgetHost, nodes);
      if (violations.length > 0) {
        lastWhy = violations.map((v) => v.message).join('; ');
        break;
      }

      Object.assign(d, {
        'sizing.backend.replicas': layout.derivation,
        'sizing.backend.workers': `workers ${workers} per replica; ${d['processes']}; ${layout.derivation}`,
        'sizing.backend.pool.max': conn.webPoolMax.derivation,
        'sizing.backend.limits.memoryBytes': `${b(backendLimit)} = ${workers} workers × ${b(WEB_WORKER_BYTES)} + primary ${b(CLUSTER_PRIMARY_BYTES)}`,
        'sizing.queue.replicas': `queue replicas ${queueReplicas} for ${replicas} backend replica${replicas > 1 ? 's' : ''}; concurrency ${queueConc}; pool.max = concurrency`,
        'sizing.postgres.limits.memoryBytes': `PostgreSQL memory ${b(pgBytes)} = ${b(avail)} − redis ${b(redisLimit)} − nginx ${b(nginxLimit)} − backends ${b(webBytes)} − queue ${b(queueBytes)}${withPgb ? ` − pgbouncer ${b(PGBOUNCER_BYTES)}` : ''}`,
        'sizing.postgres.maxConnections': conn.maxConnections.derivation,
        'sizing.postgres.sharedBuffersBytes': pgm.sharedBuffersBytes.derivation,
        'sizing.postgres.effectiveCacheSizeBytes': pgm.effectiveCacheSizeBytes.derivation,
        'sizing.postgres.maintenanceWorkMemBytes': pgm.maintenanceWorkMemBytes.derivation,
        'sizing.postgres.workMemBytes': workMem.derivation,
        'sizing.postgres.connectionCap': pgm.connectionCap.derivation,
        'sizing.redis.maxClients': `maxclients ${sizing.redis.maxClients} = ceil(counted clients ${redisDemand} × ${REDIS_CLIENT_HEADROOM_FACTOR}) + ${REDIS_CLIENT_HEADROOM_EXTRA}`,
        'sizing.nginx.workerConnections': `worker_connections ${workerConnections} = clamp(ceil(users ${webConnHigh} × 2 sockets × 1.5 / ${nginxWorkers} workers) to 1024s, 1024, 16384)`,
        'capacity.concurrentUsers': capacity.derivation,
      });
      if (conn.pgbouncer) {
        d['sizing.pgbouncer.defaultPoolSize'] = conn.pgbouncer.defaultPoolSize.derivation;
        d['sizing.pgbouncer.maxClientConn'] = conn.pgbouncer.maxClientConn.derivation;
      }
      delete d['processes'];
      const plan: Plan = {
        schemaVersion: 1,
        tier,
        reasons: conn.reasons,
        intent,
        host: {
          cpus,
          memoryBytes: mem,
          hostCpus: host.hostCpus.value,
          hostMemoryBytes: host.hostMemoryBytes.value,
          cpusSource: host.cpus.source,
          memorySource: host.memoryBytes.source,
        },
        sizing,
        budget,
        capacity: { concurrentUsers: capacity.value, basis: CAPACITY_BASIS, measured: null },
        nodes,
        derivations: d,
        tiers: [],
        shortfall: null,
      };
      return { ok: true, plan };
    }
  }
  return { ok: false, reason: lastWhy };
}

/** Host size from which the planner picks a tier by itself (auto), CPUs and bytes. */
export const AUTO_HORIZONTAL = { cpus: 4, memoryBytes: 8 * GiB } as const;
export const AUTO_OPTIMIZED = { cpus: 2, memoryBytes: 4 * GiB } as const;

/**
 * Tier chosen for a host when the operator gives no intent, with the reason. Horizontal from
 * 4 CPUs / 8 GiB (several replicas then add capacity and allow rolling restarts), optimized from
 * 2 CPUs / 4 GiB, default below. Our choice, matching the seed's resource table (2 cores/4 GB for
 * 500 users, 4 cores/8 GB for 1,000).
 */
function autoTier(host: PlanHost): { tier: Tier; reason: string } {
  const cpus = host.cpus.value;
  const mem = host.memoryBytes.value;
  const h = AUTO_HORIZONTAL;
  const o = AUTO_OPTIMIZED;
  if (cpus >= h.cpus && mem >= h.memoryBytes) {
    return { tier: 'horizontal', reason: `no tier or users given: ${c(cpus)} CPUs and ${b(mem)} usable reach ${h.cpus} CPUs / ${b(h.memoryBytes)}, so several replicas add capacity and allow rolling restarts without downtime` };
  }
  if (cpus >= o.cpus && mem >= o.memoryBytes) {
    return { tier: 'optimized', reason: `no tier or users given: ${c(cpus)} CPUs and ${b(mem)} usable reach ${o.cpus} CPUs / ${b(o.memoryBytes)} but not ${h.cpus} CPUs / ${b(h.memoryBytes)} (horizontal)` };
  }
  return { tier: 'default', reason: `no tier or users given: ${c(cpus)} CPUs and ${b(mem)} usable are below ${o.cpus} CPUs / ${b(o.memoryBytes)} (optimized)` };
}

/** Host shapes tried when a host cannot serve the users asked for: CPUs with 4 GiB each. */
const UPGRADE_LADDER = [2, 4, 8, 16, 32, 64, 128, 256].map((n) => ({ cpus: n, memoryBytes: n * 4 * GiB }));

function hypothetical(cpus: number, memoryBytes: number): PlanHost {
  const src = 'hypothetical host';
  return { cpus: { value: cpus, source: src }, hostCpus: { value: cpus, source: src }, memoryBytes: { value: memoryBytes, source: src }, hostMemoryBytes: { value: memoryBytes, source: src } };
}

/**
 * Plan Carebox for a host and an intent.
 *
 * - `intent.tier` set: that tier, or PreflightError (exit 3) when this host cannot run it.
 * - `intent.users` set: the smallest single-host tier whose estimate (low end) serves them; if none
 *   does, the largest feasible tier plus `shortfall` naming the host (CPUs, memory) that would, or
 *   the cluster tier.
 * - neither: by host size (see autoTier).
 *
 * Pure and deterministic (invariant 5): the same host figures and intent give a deep-equal Plan.
 * @throws PreflightError when the host is below the minimum of the chosen tier (or of every tier).
 */
export function planCarebox(host: PlanHost, intent: Intent): Plan {
  if (!(host.cpus.value > 0) || !(host.memoryBytes.value > 0)) {
    throw new PreflightError(`host figures are not usable: ${host.cpus.value} CPUs, ${host.memoryBytes.value} bytes`);
  }
  const results = new Map<Tier, TierResult>(TIERS.map((t) => [t, sizeTier(host, t, intent)]));
  const tiers: TierOption[] = TIERS.map((t) => {
    const r = results.get(t)!;
    return r.ok
      ? { tier: t, feasible: true, reason: `serves about ${r.plan.capacity.concurrentUsers[0]}–${r.plan.capacity.concurrentUsers[1]} concurrent users`, concurrentUsers: r.plan.capacity.concurrentUsers }
      : { tier: t, feasible: false, reason: r.reason, concurrentUsers: null };
  });
  const finish = (tier: Tier, reasons: string[], shortfall: Plan['shortfall'] = null): Plan => {
    const r = results.get(tier)!;
    if (!r.ok) {
      throw new PreflightError(`this host cannot run the ${tier} tier: ${r.reason}`, minimumHint(tier), { tiers });
    }
    return { ...r.plan, reasons: [...reasons, ...r.plan.reasons], tiers, shortfall };
  };

  if (intent.tier) {
    return finish(intent.tier, [`tier ${intent.tier} was asked for (${TIER_SHAPES[intent.tier].summary})`]);
  }
  if (intent.users !== null) {
    const users = intent.users;
    const singleHost = TIERS.filter((t) => !TIER_SHAPES[t].multiHost);
    for (const t of singleHost) {
      const r = results.get(t)!;
      if (r.ok && r.plan.capacity.concurrentUsers[0] >= users) {
        return finish(t, [`${users} concurrent users asked for (${intent.usersSource ?? '--users'}): ${t} is the smallest tier whose estimate (${r.plan.capacity.concurrentUsers[0]}–${r.plan.capacity.concurrentUsers[1]}) covers them on this host`]);
      }
    }
    const feasible = singleHost.filter((t) => results.get(t)!.ok);
    const best = feasible[feasible.length - 1];
    if (!best) throw new PreflightError(`this host cannot run any Carebox tier: ${(results.get('default') as { reason: string }).reason}`, minimumHint('default'), { tiers });
    const bestPlan = (results.get(best) as { ok: true; plan: Plan }).plan;
    let needs: { cpus: number; memoryBytes: number } | 'cluster' = 'cluster';
    for (const h of UPGRADE_LADDER) {
      const r = sizeTier(hypothetical(h.cpus, h.memoryBytes), 'horizontal', intent);
      if (r.ok && r.plan.capacity.concurrentUsers[0] >= users) {
        needs = h;
        break;
      }
    }
    const message =
      needs === 'cluster'
        ? `this host serves about ${bestPlan.capacity.concurrentUsers[0]}–${bestPlan.capacity.concurrentUsers[1]} concurrent users; ${users} need the cluster tier (several hosts)`
        : `this host serves about ${bestPlan.capacity.concurrentUsers[0]}–${bestPlan.capacity.concurrentUsers[1]} concurrent users; ${users} need a host with ${needs.cpus} CPUs and ${b(needs.memoryBytes)} (horizontal tier)`;
    return finish(best, [`${users} concurrent users asked for, more than any tier serves on this host: planned the largest, ${best}`], { users, message, needs });
  }
  const auto = autoTier(host);
  return finish(auto.tier, [auto.reason]);
}

function minimumHint(tier: Tier): string {
  const s = TIER_SHAPES[tier];
  return `give the host at least ${s.minCpus} CPU${s.minCpus > 1 ? 's' : ''} and ${b(s.minMemoryBytes)} of memory usable by containers (check VM size and cgroup limits), or choose a smaller tier`;
}
