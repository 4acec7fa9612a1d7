import { b } from './derived.js';
import type { Budget, BudgetItem, Plan, PlanSizing } from './plan.types.js';
import {
  CONSOLE_DB_CONNECTIONS,
  CONSOLE_REDIS_CONNECTIONS,
  MIGRATION_DB_CONNECTIONS,
  PG_CONNECTION_OVERHEAD_BYTES,
  PG_FIXED_OVERHEAD_BYTES,
} from './sizing.constants.js';

/**
 * Redis connections each process opens. bee-queue is built on node_redis v3 and opens its own
 * clients: a producer (web process) opens one command client per queue (getEvents: false,
 * isWorker: false); a worker opens, per queue, a command client, a blocking client and a
 * subscriber that re-activates delayed (backed-off) jobs. Web processes also hold one ioredis
 * client (cache, sessions, rate limits); the worker holds none. Source: bee-queue 2.0
 * `lib/queue.js`, measured with `CLIENT LIST` by the server's integration tests
 * (server/src/jobs/job.definitions.ts `redisConnectionsPerProcess`).
 * QUEUE_COUNT is the server's queues: system, notifications, reports, exports.
 */
export const QUEUE_COUNT = 4;
export const REDIS_PER_WEB_PROCESS = 1 + QUEUE_COUNT;
export const REDIS_PER_QUEUE_PROCESS = 3 * QUEUE_COUNT;

function budget(items: BudgetItem[], limit: number): Budget {
  return { demand: items.reduce((s, i) => s + i.amount, 0), limit, items };
}

/** Host figures the budgets are checked against. */
export interface BudgetHost {
  cpus: number;
  /** Effective memory minus OS headroom, bytes. */
  memoryLimitBytes: number;
}

/**
 * Compute every budget of DESIGN.md's invariants for a sizing (from the planner, or altered by
 * `scale`): DB connections (1), memory (2), worker processes vs CPUs (3), Redis clients (4).
 * `nodes` multiplies per-host app processes for the cluster tier. Pure; never throws.
 */
export function computeBudgets(s: PlanSizing, host: BudgetHost, nodes: number): Plan['budget'] {
  const { dbConnections, pgbouncerClients } = connectionBudgets(s, nodes);
  return {
    dbConnections,
    pgbouncerClients,
    redisConnections: redisBudget(s, nodes),
    memoryBytes: memoryBudget(s, host),
    workerProcesses: workerProcessesBudget(s, host),
    postgresMemoryBytes: postgresMemoryBudget(s),
  };
}

/** Invariant 1: PostgreSQL's connections (through PgBouncer's server pool when it runs) and PgBouncer's clients. */
function connectionBudgets(s: PlanSizing, nodes: number): Pick<Plan['budget'], 'dbConnections' | 'pgbouncerClients'> {
  const webProcs = nodes * s.backend.replicas * s.backend.workers;
  const queueProcs = nodes * s.queue.replicas;
  const appItems: BudgetItem[] = [
    { name: 'backend pools', amount: webProcs * s.backend.pool.max, derivation: `${webProcs} web processes × pool.max ${s.backend.pool.max}` },
    { name: 'queue pools', amount: queueProcs * s.queue.pool.max, derivation: `${queueProcs} queue processes × pool.max ${s.queue.pool.max}` },
  ];
  const fixedItems: BudgetItem[] = [
    { name: 'console', amount: CONSOLE_DB_CONNECTIONS, derivation: 'status and pg_dump/pg_restore' },
    { name: 'migrations', amount: MIGRATION_DB_CONNECTIONS, derivation: 'knex migrate' },
    {
      name: 'superuser_reserved_connections',
      amount: s.postgres.superuserReservedConnections,
      derivation: 'PostgreSQL default',
    },
  ];
  // postgres_exporter holds one connection to PostgreSQL.
  if (s.monitoring) fixedItems.push({ name: 'postgres-exporter', amount: 1, derivation: 'monitoring (--alerts stack)' });
  const pgb = s.pgbouncer;
  const dbConnections = pgb
    ? budget(
        [
          {
            name: 'pgbouncer server pool',
            amount: pgb.defaultPoolSize + pgb.reservePoolSize,
            derivation: `default_pool_size ${pgb.defaultPoolSize} + reserve_pool_size ${pgb.reservePoolSize}`,
          },
          ...fixedItems,
        ],
        s.postgres.maxConnections,
      )
    : budget([...appItems, ...fixedItems], s.postgres.maxConnections);
  return { dbConnections, pgbouncerClients: pgb ? budget(appItems, pgb.maxClientConn) : null };
}

/** Invariant 4: Redis clients against maxclients. */
function redisBudget(s: PlanSizing, nodes: number): Budget {
  const webProcs = nodes * s.backend.replicas * s.backend.workers;
  const queueProcs = nodes * s.queue.replicas;
  return budget(
    [
      {
        name: 'web processes',
        amount: webProcs * REDIS_PER_WEB_PROCESS,
        derivation: `${webProcs} × ${REDIS_PER_WEB_PROCESS} (ioredis + ${QUEUE_COUNT} queue producers)`,
      },
      {
        name: 'queue processes',
        amount: queueProcs * REDIS_PER_QUEUE_PROCESS,
        derivation: `${queueProcs} × ${REDIS_PER_QUEUE_PROCESS} (${QUEUE_COUNT} queues × (client + blocking client + delayed-job subscriber))`,
      },
      { name: 'console', amount: CONSOLE_REDIS_CONNECTIONS, derivation: 'queue inspection and requeue' },
      { name: 'healthcheck', amount: 1, derivation: 'redis-cli ping' },
      // redis_exporter holds one client of Redis.
      ...(s.monitoring ? [{ name: 'redis-exporter', amount: 1, derivation: 'monitoring (--alerts stack)' }] : []),
    ],
    s.redis.maxClients,
  );
}

/**
 * Invariant 2: the containers' memory limits against effective memory less the OS headroom. Memory
 * is a per-host budget: for the cluster tier every node is planned like this host and may run any
 * service, so the budget is that of one node running everything.
 */
function memoryBudget(s: PlanSizing, host: BudgetHost): Budget {
  const memItems: BudgetItem[] = [
    {
      name: 'backend',
      amount: s.backend.replicas * s.backend.limits.memoryBytes,
      derivation: `${s.backend.replicas} replicas × ${b(s.backend.limits.memoryBytes)}`,
    },
    { name: 'queue', amount: s.queue.replicas * s.queue.limits.memoryBytes, derivation: `${s.queue.replicas} × ${b(s.queue.limits.memoryBytes)}` },
    { name: 'postgres', amount: s.postgres.limits.memoryBytes, derivation: `container limit ${b(s.postgres.limits.memoryBytes)}` },
    { name: 'redis', amount: s.redis.limits.memoryBytes, derivation: `maxmemory ${b(s.redis.maxMemoryBytes)} + overhead` },
    { name: 'nginx', amount: s.nginx.limits.memoryBytes, derivation: `${s.nginx.workerProcesses} workers` },
  ];
  if (s.pgbouncer) memItems.push({ name: 'pgbouncer', amount: s.pgbouncer.limits.memoryBytes, derivation: 'transaction pooler' });
  if (s.monitoring) {
    for (const [svc, l] of Object.entries(s.monitoring.limits)) memItems.push({ name: svc, amount: l.memoryBytes, derivation: 'monitoring (--alerts stack)' });
  }
  if (s.scheduler) {
    memItems.push({ name: 'scheduler', amount: s.scheduler.memoryBytes, derivation: 'scheduled backups' });
    memItems.push({ name: 'restore drill', amount: s.scheduler.drillMemoryBytes, derivation: 'scratch PostgreSQL after each scheduled backup' });
  }
  return budget(memItems, host.memoryLimitBytes);
}

/** Inside PostgreSQL's container: shared_buffers + max_connections × (work_mem + overhead) + the rest. */
function postgresMemoryBudget(s: PlanSizing): Budget {
  const p = s.postgres;
  return budget(
    [
      { name: 'shared_buffers', amount: p.sharedBuffersBytes, derivation: b(p.sharedBuffersBytes) },
      {
        name: 'connections',
        amount: p.maxConnections * (p.workMemBytes + PG_CONNECTION_OVERHEAD_BYTES),
        derivation: `max_connections ${p.maxConnections} × (work_mem ${b(p.workMemBytes)} + ${b(PG_CONNECTION_OVERHEAD_BYTES)})`,
      },
      { name: 'maintenance_work_mem', amount: p.maintenanceWorkMemBytes, derivation: b(p.maintenanceWorkMemBytes) },
      { name: 'fixed', amount: PG_FIXED_OVERHEAD_BYTES, derivation: 'WAL buffers, background workers' },
    ],
    p.limits.memoryBytes,
  );
}

/** Invariant 3: web worker processes of one host against its usable CPUs. */
function workerProcessesBudget(s: PlanSizing, host: BudgetHost): Budget {
  const perHostWeb = s.backend.replicas * s.backend.workers;
  return budget(
    [{ name: 'web workers', amount: perHostWeb, derivation: `${s.backend.replicas} replicas × ${s.backend.workers} workers (per host)` }],
    Math.max(1, Math.floor(host.cpus)),
  );
}

/** One violated invariant, in words an admin can act on. */
export interface BudgetViolation {
  budget: string;
  demand: number;
  limit: number;
  message: string;
}

/**
 * Check every invariant of a sizing. Returns the violations (empty when the plan fits).
 * Also checks nginx.workerProcesses ≤ usable CPUs and every container's CPU limit (PgBouncer's
 * included) ≤ usable CPUs. Pure; never throws.
 */
export function checkBudgets(s: PlanSizing, host: BudgetHost, nodes: number): BudgetViolation[] {
  const all = computeBudgets(s, host, nodes);
  const out: BudgetViolation[] = [];
  const entries: [string, Budget | null, (n: number) => string][] = [
    ['dbConnections', all.dbConnections, (n) => `${n} connections`],
    ['pgbouncerClients', all.pgbouncerClients, (n) => `${n} client connections`],
    ['redisConnections', all.redisConnections, (n) => `${n} clients`],
    ['memoryBytes', all.memoryBytes, (n) => b(n)],
    ['postgresMemoryBytes', all.postgresMemoryBytes, (n) => b(n)],
    ['workerProcesses', all.workerProcesses, (n) => `${n} processes`],
  ];
  for (const [name, bud, unit] of entries) {
    if (bud && bud.demand > bud.limit) {
      out.push({
        budget: name,
        demand: bud.demand,
        limit: bud.limit,
        message: `${name}: demand ${unit(bud.demand)} exceeds limit ${unit(bud.limit)} (${bud.items.map((i) => `${i.name} ${i.derivation}`).join('; ')})`,
      });
    }
  }
  const cpuCap = Math.max(1, host.cpus);
  if (s.nginx.workerProcesses > Math.max(1, Math.floor(host.cpus))) {
    out.push({
      budget: 'nginxWorkers',
      demand: s.nginx.workerProcesses,
      limit: Math.floor(host.cpus),
      message: `nginx worker_processes ${s.nginx.workerProcesses} exceeds usable CPUs ${host.cpus}`,
    });
  }
  for (const [svc, lim] of [
    ['backend', s.backend.limits],
    ['queue', s.queue.limits],
    ['postgres', s.postgres.limits],
    ['redis', s.redis.limits],
    ['nginx', s.nginx.limits],
    ...(s.pgbouncer ? ([['pgbouncer', s.pgbouncer.limits]] as const) : []),
    ...Object.entries(s.monitoring?.limits ?? {}),
  ] as const) {
    if (lim.cpus > cpuCap)
      out.push({ budget: `${svc}.cpus`, demand: lim.cpus, limit: cpuCap, message: `${svc} CPU limit ${lim.cpus} exceeds usable CPUs ${host.cpus}` });
  }
  return out;
}
