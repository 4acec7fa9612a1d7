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
  PGBOUNCER_CLIENT_HEADROOM_EXTRA,
  PGBOUNCER_CLIENT_HEADROOM_FACTOR,
  PGBOUNCER_MIN_DEFAULT_POOL,
  PGBOUNCER_MIN_SERVER_POOL,
  PGBOUNCER_RESERVE_POOL,
  PGBOUNCER_SERVER_CONNS_PER_PROCESS,
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

/**
 * Parallelism settings (PgTune): max_worker_processes = max_parallel_workers = CPUs (2..32),
 * max_parallel_workers_per_gather = CPUs/2 (0..4), from usable CPUs rounded down.
 */
export function pgParallel(cpus: number): {
  maxWorkerProcesses: number;
  maxParallelWorkers: number;
  perGather: number;
  derivations: { workers: string; perGather: string };
} {
  const n = clamp(Math.floor(cpus), 2, 32);
  const g = clamp(Math.floor(cpus / 2), 0, 4);
  return {
    maxWorkerProcesses: n,
    maxParallelWorkers: n,
    perGather: g,
    derivations: {
      workers: `${n} = clamp(floor(${cpus} CPUs), 2, 32) (PgTune)`,
      perGather: `max_parallel_workers_per_gather ${g} = clamp(floor(${cpus} CPUs / 2), 0, 4) (PgTune)`,
    },
  };
}

/** PostgreSQL's shared-memory settings beside shared_buffers. */
export interface PgSharedMemory {
  /** Compose `shm_size` of the db container (its /dev/shm), bytes. */
  shmSizeBytes: Derived;
  /** wal_buffers, bytes. */
  walBuffersBytes: Derived;
  /** max_parallel_maintenance_workers (parallel CREATE INDEX, VACUUM). */
  maxParallelMaintenanceWorkers: Derived;
}

/**
 * Shared memory beside shared_buffers, from PostgreSQL's memory (`pgBytes`), shared_buffers and
 * max_parallel_workers_per_gather:
 * - shm_size = clamp(pgBytes / 8, 128 MiB, 1 GiB): PostgreSQL puts parallel queries' dynamic shared
 *   memory in /dev/shm (dynamic_shared_memory_type = posix), and Docker's default 64 MiB makes big
 *   sorts and hashes fail with "could not resize shared memory segment" (a known PostgreSQL-in-Docker
 *   failure); /8 leaves room for a few work_mem-sized parallel operations.
 * - wal_buffers = clamp(shared_buffers × 3 %, 1 MiB, 16 MiB): PostgreSQL's own automatic choice
 *   (1/32 of shared_buffers, at most one 16 MiB WAL segment; PostgreSQL docs, "wal_buffers"), as PgTune writes it.
 * - max_parallel_maintenance_workers = min(4, max_parallel_workers_per_gather) (PgTune).
 * Pure.
 */
export function pgSharedMemory(pgBytes: number, sharedBuffersBytes: number, perGather: number): PgSharedMemory {
  const MiB = 1024 ** 2;
  const shm = clamp(floorMiB(pgBytes / 8), 128 * MiB, 1024 * MiB);
  const wal = clamp(floorMiB(sharedBuffersBytes * 0.03), MiB, 16 * MiB);
  const maint = Math.min(4, perGather);
  return {
    shmSizeBytes: derived(
      shm,
      `shm_size ${b(shm)} = clamp(PostgreSQL memory ${b(pgBytes)} / 8, 128 MiB, 1 GiB) (/dev/shm holds parallel queries' shared memory; Docker's default is 64 MiB)`,
    ),
    walBuffersBytes: derived(
      wal,
      `wal_buffers ${b(wal)} = clamp(shared_buffers ${b(sharedBuffersBytes)} × 3 %, 1 MiB, 16 MiB) (PostgreSQL's automatic 1/32; PgTune)`,
    ),
    maxParallelMaintenanceWorkers: derived(maint, `max_parallel_maintenance_workers ${maint} = min(4, max_parallel_workers_per_gather ${perGather}) (PgTune)`),
  };
}

/**
 * How the connection plan may use PgBouncer:
 * - `direct`: never (`--pgbouncer off`); refused when direct pools cannot fit;
 * - `pgbouncer`: always, for the reason given (`--pgbouncer on`, or the cluster tier);
 * - `auto`: direct pools when they fit, else PgBouncer.
 */
export type PgbouncerChoice = { kind: 'direct' } | { kind: 'pgbouncer'; why: string } | { kind: 'auto' };

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
  pgbouncer: PgbouncerChoice;
  /** Direct connections of monitoring (postgres_exporter: 1 with --alerts stack, else 0 or absent). */
  monitoringConnections?: number;
}

/** The connection plan: per-process pool, max_connections and PgBouncer's pool, all in connections. */
export interface ConnectionPlan {
  webPoolMax: Derived;
  maxConnections: Derived;
  pgbouncer: null | { maxClientConn: Derived; defaultPoolSize: Derived; reservePoolSize: Derived };
  /** Fixed direct connections: console + migrations + superuser_reserved_connections. */
  fixed: number;
  reasons: string[];
}

/** Why no connection plan fits; `needsPgbouncer` when only PgBouncer (refused by the intent) would. */
export interface ConnectionRefusal {
  refused: string;
  needsPgbouncer: boolean;
}

/**
 * Size the DB connection budget so invariant 1 holds by construction:
 *   Σ web processes × pool.max + queue processes × pool.max + console + migrations
 *   + superuser_reserved_connections ≤ max_connections.
 * Order of preference (for `auto`): the target pool (10 per process, GitLab's threads + 10 for a
 * one-thread process); else the largest pool ≥ 4 that fits; else PgBouncer in transaction mode,
 * whose server pool is what PostgreSQL can afford (GitLab: PgBouncer beyond 2–10 × vCPUs).
 * Returns a refusal when the choice cannot be met: direct pools that do not fit under `direct`, or
 * not even PgBouncer's smallest server pool (host below minimum). Pure; never throws.
 */
export function planConnections(i: ConnectionInputs): ConnectionPlan | ConnectionRefusal {
  const mon = i.monitoringConnections ?? 0;
  const fixed = CONSOLE_DB_CONNECTIONS + MIGRATION_DB_CONNECTIONS + SUPERUSER_RESERVED_CONNECTIONS + mon;
  const queueDemand = i.queueProcesses * i.queuePoolMax;
  const direct = (pool: number) => i.webProcesses * pool + queueDemand + fixed;
  const fixedText = `console ${CONSOLE_DB_CONNECTIONS} + migrations ${MIGRATION_DB_CONNECTIONS} + superuser_reserved ${SUPERUSER_RESERVED_CONNECTIONS}${mon ? ` + postgres-exporter ${mon}` : ''}`;
  const directWhyNot = `direct pools need ${direct(WEB_POOL_FLOOR)} connections even at pool.max ${WEB_POOL_FLOOR}, over PostgreSQL's cap ${i.cap}`;

  if (i.pgbouncer.kind !== 'pgbouncer') {
    const fitPool = Math.min(WEB_POOL_TARGET, Math.floor((i.cap - queueDemand - fixed) / i.webProcesses));
    if (fitPool >= WEB_POOL_FLOOR) {
      const demand = direct(fitPool);
      const maxConnections = i.cap;
      return {
        webPoolMax: derived(
          fitPool,
          fitPool === WEB_POOL_TARGET
            ? `pool.max ${fitPool} = target ${WEB_POOL_TARGET} per web process (GitLab: threads + 10; node has one thread)`
            : `pool.max ${fitPool} = floor((cap ${i.cap} − queue ${queueDemand} − ${fixed} fixed) / ${i.webProcesses} web processes)`,
        ),
        maxConnections: derived(
          maxConnections,
          `max_connections ${maxConnections} = this host's connection cap (the same for every tier, so a re-tier never restarts PostgreSQL); planned demand ${demand}`,
        ),
        pgbouncer: null,
        fixed,
        reasons: [
          `direct connections: ${i.webProcesses} web × ${fitPool} + ${i.queueProcesses} queue × ${i.queuePoolMax} + ${fixedText} = ${demand} ≤ max_connections ${maxConnections}`,
        ],
      };
    }
    if (i.pgbouncer.kind === 'direct') return { refused: `without PgBouncer (--pgbouncer off), ${directWhyNot}`, needsPgbouncer: true };
  }

  // The burst reserve gives way first on tiny hosts, so the smallest server pool still fits.
  const reserve = clamp(i.cap - fixed - PGBOUNCER_MIN_SERVER_POOL, 0, PGBOUNCER_RESERVE_POOL);
  const processes = i.webProcesses + i.queueProcesses;
  const wanted = Math.max(PGBOUNCER_MIN_DEFAULT_POOL, PGBOUNCER_SERVER_CONNS_PER_PROCESS * processes);
  const serverPool = Math.min(i.cap - fixed - reserve, wanted);
  if (serverPool < PGBOUNCER_MIN_SERVER_POOL) {
    return {
      refused: `PostgreSQL can hold only ${i.cap} connections: too few for a PgBouncer server pool of ${PGBOUNCER_MIN_SERVER_POOL} + ${fixed} fixed`,
      needsPgbouncer: false,
    };
  }
  const clients = direct(WEB_POOL_TARGET) - fixed;
  const maxClientConn = Math.ceil(clients * PGBOUNCER_CLIENT_HEADROOM_FACTOR) + PGBOUNCER_CLIENT_HEADROOM_EXTRA;
  const maxConnections = i.cap;
  const why = i.pgbouncer.kind === 'pgbouncer' ? i.pgbouncer.why : directWhyNot;
  return {
    webPoolMax: derived(WEB_POOL_TARGET, `pool.max ${WEB_POOL_TARGET} per web process (GitLab: threads + 10), multiplexed by PgBouncer`),
    maxConnections: derived(
      maxConnections,
      `max_connections ${maxConnections} = this host's connection cap (the same for every tier); PgBouncer pool ${serverPool} + reserve ${reserve} + ${fixed} fixed`,
    ),
    pgbouncer: {
      maxClientConn: derived(
        maxClientConn,
        `max_client_conn ${maxClientConn} = ceil(app pools ${clients} × ${PGBOUNCER_CLIENT_HEADROOM_FACTOR}) + ${PGBOUNCER_CLIENT_HEADROOM_EXTRA}`,
      ),
      defaultPoolSize: derived(
        serverPool,
        `default_pool_size ${serverPool} = min(cap ${i.cap} − ${fixed} fixed − reserve ${reserve}, max(${PGBOUNCER_MIN_DEFAULT_POOL}, ${PGBOUNCER_SERVER_CONNS_PER_PROCESS} × ${processes} processes))`,
      ),
      reservePoolSize: derived(
        reserve,
        `reserve_pool_size ${reserve} = clamp(cap ${i.cap} − ${fixed} fixed − minimum pool ${PGBOUNCER_MIN_SERVER_POOL}, 0, ${PGBOUNCER_RESERVE_POOL}) (burst reserve; gives way first on small hosts)`,
      ),
    },
    fixed,
    reasons: [`PgBouncer (transaction mode) in front of PostgreSQL: ${why}`],
  };
}
