import { b, clamp, derived, floorMiB, type Derived } from './derived.js';
import {
  CONSOLE_DB_CONNECTIONS,
  MIGRATION_DB_CONNECTIONS,
  PG_CONNECTION_OVERHEAD_BYTES,
  PG_CONNECTIONS_PER_CPU,
  PG_DEFAULT_MAX_CONNECTIONS,
  PG_FIXED_OVERHEAD_BYTES,
  PG_MAINTENANCE_WORK_MEM_MAX_BYTES,
  PG_SHARED_BUFFERS_MAX_BYTES,
  PG_WORK_MEM_FLOOR_BYTES,
  PGBOUNCER_RESERVE_POOL,
  SUPERUSER_RESERVED_CONNECTIONS,
  WEB_POOL_FLOOR,
  WEB_POOL_TARGET,
} from './sizing.constants.js';

/** PostgreSQL memory settings for the memory given to its container. */
export interface PgMemory {
  sharedBuffersBytes: Derived;
  maintenanceWorkMemBytes: Derived;
  effectiveCacheSizeBytes: Derived;
  /** Most connections PostgreSQL can hold within its memory and the CPU rule of thumb. */
  connectionCap: Derived;
}

/**
 * PostgreSQL memory settings from the bytes its container may use (`pgBytes`) and usable CPUs.
 * Sources: PgTune "web" profile — shared_buffers = RAM/4, effective_cache_size = RAM × 3/4,
 * maintenance_work_mem = RAM/16 (capped at 2 GiB) — where "RAM" is PostgreSQL's own share of the host,
 * since it shares the host with the app; shared_buffers capped at 8 GiB. Connection cap: GitLab's
 * advice of up to 10 × vCPUs (at least PostgreSQL's default 100), and no more connections than fit
 * in memory at (work_mem floor 4 MiB + 3 MiB private overhead) each.
 */
export function pgMemory(pgBytes: number, cpus: number): PgMemory {
  const sb = Math.min(floorMiB(pgBytes / 4), PG_SHARED_BUFFERS_MAX_BYTES);
  const mwm = Math.min(floorMiB(pgBytes / 16), PG_MAINTENANCE_WORK_MEM_MAX_BYTES);
  const ecs = floorMiB((pgBytes * 3) / 4);
  const perConn = PG_WORK_MEM_FLOOR_BYTES + PG_CONNECTION_OVERHEAD_BYTES;
  const memCap = Math.max(0, Math.floor((pgBytes - sb - mwm - PG_FIXED_OVERHEAD_BYTES) / perConn));
  const cpuCap = Math.max(PG_DEFAULT_MAX_CONNECTIONS, PG_CONNECTIONS_PER_CPU * Math.max(1, Math.floor(cpus)));
  const cap = Math.min(memCap, cpuCap);
  return {
    sharedBuffersBytes: derived(sb, `shared_buffers ${b(sb)} = min(PostgreSQL memory ${b(pgBytes)} / 4, ${b(PG_SHARED_BUFFERS_MAX_BYTES)}) (PgTune web)`),
    maintenanceWorkMemBytes: derived(mwm, `maintenance_work_mem ${b(mwm)} = min(${b(pgBytes)} / 16, 2 GiB) (PgTune)`),
    effectiveCacheSizeBytes: derived(ecs, `effective_cache_size ${b(ecs)} = ${b(pgBytes)} × 3/4 (PgTune)`),
    connectionCap: derived(
      cap,
      `connection cap ${cap} = min(memory ${memCap} = floor((${b(pgBytes)} − shared_buffers ${b(sb)} − maintenance ${b(mwm)} − ${b(PG_FIXED_OVERHEAD_BYTES)}) / ${b(perConn)}), CPU ${cpuCap} = max(100, 10 × ${Math.max(1, Math.floor(cpus))} CPUs) (GitLab))`,
    ),
  };
}

/**
 * work_mem (PgTune web): (RAM − shared_buffers) / ((max_connections + parallel workers) × 3), at
 * least 4 MiB, and lowered if needed so shared_buffers + max_connections × (work_mem + overhead) +
 * maintenance_work_mem + fixed overhead fits in PostgreSQL's memory (invariant 2).
 */
export function pgWorkMem(pgBytes: number, sharedBuffers: number, maintenance: number, maxConnections: number, parallelWorkers: number): Derived {
  const pgtune = floorMiB((pgBytes - sharedBuffers) / ((maxConnections + parallelWorkers) * 3));
  const fit = floorMiB((pgBytes - sharedBuffers - maintenance - PG_FIXED_OVERHEAD_BYTES) / maxConnections - PG_CONNECTION_OVERHEAD_BYTES);
  const value = Math.max(PG_WORK_MEM_FLOOR_BYTES, Math.min(pgtune, fit));
  return derived(
    value,
    `work_mem ${b(value)} = max(4 MiB, min(PgTune (${b(pgBytes)} − ${b(sharedBuffers)}) / ((${maxConnections} + ${parallelWorkers}) × 3) = ${b(pgtune)}, fit-in-memory ${b(fit)}))`,
  );
}

/** Parallelism settings (PgTune): workers = CPUs (2..32), per gather = CPUs/2 (0..4). */
export function pgParallel(cpus: number): { maxWorkerProcesses: number; maxParallelWorkers: number; perGather: number } {
  const n = clamp(Math.floor(cpus), 2, 32);
  return { maxWorkerProcesses: n, maxParallelWorkers: n, perGather: clamp(Math.floor(cpus / 2), 0, 4) };
}

/** Inputs of the connection plan: who opens pools and how big the cap is. */
export interface ConnectionInputs {
  /** Web worker processes across all replicas (and nodes). */
  webProcesses: number;
  /** Queue worker processes across all replicas (and nodes). */
  queueProcesses: number;
  /** pool.max of one queue worker process. */
  queuePoolMax: number;
  /** PostgreSQL's connection cap (pgMemory().connectionCap). */
  cap: number;
  /** Put PgBouncer in front regardless (cluster tier). */
  forcePgbouncer: boolean;
}

/** The connection plan: per-process pool, max_connections and PgBouncer's pool, all in connections. */
export interface ConnectionPlan {
  webPoolMax: Derived;
  maxConnections: Derived;
  pgbouncer: null | { maxClientConn: Derived; defaultPoolSize: Derived; reservePoolSize: number };
  /** Fixed direct connections: console + migrations + superuser_reserved_connections. */
  fixed: number;
  reasons: string[];
}

/**
 * Size the DB connection budget so invariant 1 holds by construction:
 *   Σ web processes × pool.max + queue processes × pool.max + console + migrations
 *   + superuser_reserved_connections ≤ max_connections.
 * Order of preference: the target pool (10 per process); else the largest pool ≥ 4 that fits;
 * else PgBouncer in transaction mode, whose server pool is what PostgreSQL can afford.
 * Returns null when not even PgBouncer's smallest server pool fits (host below minimum).
 */
export function planConnections(i: ConnectionInputs): ConnectionPlan | null {
  const fixed = CONSOLE_DB_CONNECTIONS + MIGRATION_DB_CONNECTIONS + SUPERUSER_RESERVED_CONNECTIONS;
  const queueDemand = i.queueProcesses * i.queuePoolMax;
  const direct = (pool: number) => i.webProcesses * pool + queueDemand + fixed;
  const fixedText = `console ${CONSOLE_DB_CONNECTIONS} + migrations ${MIGRATION_DB_CONNECTIONS} + superuser_reserved ${SUPERUSER_RESERVED_CONNECTIONS}`;

  if (!i.forcePgbouncer) {
    const fitPool = Math.min(WEB_POOL_TARGET, Math.floor((i.cap - queueDemand - fixed) / i.webProcesses));
    if (fitPool >= WEB_POOL_FLOOR) {
      const demand = direct(fitPool);
      const maxConnections = Math.min(i.cap, Math.max(demand, 100));
      return {
        webPoolMax: derived(
          fitPool,
          fitPool === WEB_POOL_TARGET
            ? `pool.max ${fitPool} = target ${WEB_POOL_TARGET} per web process (GitLab: threads + 10; node has one thread)`
            : `pool.max ${fitPool} = floor((cap ${i.cap} − queue ${queueDemand} − ${fixed} fixed) / ${i.webProcesses} web processes)`,
        ),
        maxConnections: derived(maxConnections, `max_connections ${maxConnections} = min(cap ${i.cap}, max(demand ${demand}, 100))`),
        pgbouncer: null,
        fixed,
        reasons: [
          `direct connections: ${i.webProcesses} web × ${fitPool} + ${i.queueProcesses} queue × ${i.queuePoolMax} + ${fixedText} = ${demand} ≤ max_connections ${maxConnections}`,
        ],
      };
    }
  }

  const reserve = PGBOUNCER_RESERVE_POOL;
  const serverPool = Math.min(i.cap - fixed - reserve, Math.max(10, 2 * (i.webProcesses + i.queueProcesses)));
  if (serverPool < 5) return null;
  const clients = direct(WEB_POOL_TARGET) - fixed;
  const maxClientConn = Math.ceil(clients * 1.2) + 50;
  const maxConnections = Math.min(i.cap, Math.max(serverPool + reserve + fixed, 100));
  const why = i.forcePgbouncer
    ? 'the cluster tier always runs PgBouncer (many hosts share one PostgreSQL)'
    : `direct pools need ${direct(WEB_POOL_FLOOR)} connections even at pool.max ${WEB_POOL_FLOOR}, over PostgreSQL's cap ${i.cap}`;
  return {
    webPoolMax: derived(WEB_POOL_TARGET, `pool.max ${WEB_POOL_TARGET} per web process, multiplexed by PgBouncer`),
    maxConnections: derived(
      maxConnections,
      `max_connections ${maxConnections} = min(cap ${i.cap}, max(PgBouncer pool ${serverPool} + reserve ${reserve} + ${fixed} fixed, 100))`,
    ),
    pgbouncer: {
      maxClientConn: derived(maxClientConn, `max_client_conn ${maxClientConn} = ceil(app pools ${clients} × 1.2) + 50`),
      defaultPoolSize: derived(
        serverPool,
        `default_pool_size ${serverPool} = min(cap ${i.cap} − ${fixed} fixed − reserve ${reserve}, max(10, 2 × ${i.webProcesses + i.queueProcesses} processes))`,
      ),
      reservePoolSize: reserve,
    },
    fixed,
    reasons: [`PgBouncer (transaction mode) in front of PostgreSQL: ${why}`],
  };
}
