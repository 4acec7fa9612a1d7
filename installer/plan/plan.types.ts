import type { StopGracePeriods } from './grace.sizing.js';
import type { CapacityResource, ResourceCeiling } from './capacity.estimate.js';
import type { WorkloadProfile } from './workload.profile.js';

/**
 * The Plan: what the planner decides for one host and one intent. Pure data; `carebox plan --json`
 * prints it, `carebox.json` stores it, the renderer reads only it. Bytes are bytes, CPUs are
 * (possibly fractional) CPUs, connections are connection counts, times are milliseconds.
 */

import type { PidsLimits } from './pids.sizing.js';
import type { LogLimits } from './logs.sizing.js';
import type { BackupMode, SchedulerSizing } from './scheduler.sizing.js';
import type { AlertMode, MonitoringSizing } from './monitoring.sizing.js';

export const TIERS = ['default', 'optimized', 'horizontal', 'cluster'] as const;
export type Tier = (typeof TIERS)[number];

/**
 * Hospital sizes from the seed, as intents: the seed's "concurrent users" (30–50 among 100–200 daily
 * users, …) are people with a session open, i.e. active staff; the upper bound of each range is used.
 */
export const HOSPITAL_SIZES = {
  small: { low: 30, high: 50 },
  medium: { low: 100, high: 200 },
  large: { low: 500, high: 1000 },
  network: { low: 2000, high: 5000 },
} as const;
export type HospitalSize = keyof typeof HOSPITAL_SIZES;

/**
 * Whether PgBouncer fronts PostgreSQL:
 * - `auto`: only when direct pools cannot fit `max_connections` within memory (and always for the
 *   cluster tier, where many hosts share one PostgreSQL);
 * - `on`: on every tier, in transaction mode (the server then sends no session state and no named
 *   prepared statements);
 * - `off`: never. A tier that cannot meet the DB budget without it (the cluster tier, or a host
 *   whose PostgreSQL cannot hold even 4 connections per web process) is refused with exit 3.
 */
export const PGBOUNCER_MODES = ['auto', 'on', 'off'] as const;
export type PgbouncerMode = (typeof PGBOUNCER_MODES)[number];

/** What the operator asked for. Either a tier, or expected active staff, or neither (auto). */
export interface Intent {
  tier: Tier | null;
  /** Expected active staff (under `profile`); the planner picks the smallest tier that serves them. */
  users: number | null;
  /** Where the number of users came from: `--users`, `--size medium`, or null. */
  usersSource: string | null;
  /** Cluster tier only: number of Swarm nodes to plan for (null = derive from users, at least 2). */
  nodes: number | null;
  /**
   * `--pgbouncer auto|on|off`. Absent means `auto` (manifests written before the option have none);
   * `buildIntent` and `planCarebox` always fill it in, so plans and new manifests record it.
   */
  pgbouncer?: PgbouncerMode;
  /**
   * The workload profile active staff are counted in (`--think-time`, `--profile FILE`). Absent
   * means the default profile (workload.profile.ts); manifests written before profiles have none.
   */
  profile?: WorkloadProfile;
  /**
   * `install` when this intent is the one recorded in `carebox.json` rather than this run's flags
   * (`carebox plan` with no flags on an installed host): the reasons then say "recorded at
   * install", not "asked for". Wording only; absent otherwise.
   */
  origin?: 'install';
  /**
   * `--alerts stack|external|off` (monitoring.sizing.ts ALERT_MODES). Absent means `off`: intents
   * recorded before alerts existed, and what-if plans without the flag.
   */
  alerts?: AlertMode;
  /**
   * `scheduled`: the stack runs the backup scheduler and its restore drill, and the plan sets their
   * memory aside (scheduler.sizing.ts); `manual`: backups only when an admin runs `carebox backup`
   * (`install --backup-at off`, or a host too small for the scheduler). Absent means `manual` for
   * the budget: intents recorded before it.
   */
  backups?: BackupMode;
}

/** A line of a budget: who consumes how much, and why. */
export interface BudgetItem {
  name: string;
  amount: number;
  derivation: string;
}

/** A budget: demand must stay ≤ limit. Each item sums into demand. */
export interface Budget {
  demand: number;
  limit: number;
  items: BudgetItem[];
}

export interface PoolSizing {
  /** Connections kept open when idle (knex pool.min). */
  min: number;
  /** Most connections one process opens (knex pool.max). */
  max: number;
  /** How long a request waits for a pooled connection before 503 + Retry-After, ms. */
  acquireTimeoutMs: number;
}

/** A container's resource limits. Rendered as `cpus:` and `mem_limit:`, which Compose v1 and v2 both enforce. */
export interface ContainerLimits {
  cpus: number;
  memoryBytes: number;
}

export interface PlanSizing {
  backend: {
    replicas: number;
    /** node cluster workers per replica (WEB_CONCURRENCY). */
    workers: number;
    pool: PoolSizing;
    /** V8 old-space cap per worker, MiB (--max-old-space-size), so a worker stays inside its memory share. */
    heapLimitMb: number;
    /**
     * On SIGTERM a backend closes idle keep-alive connections nginx has not dropped after this, ms
     * (DRAIN_IDLE_CLOSE_MS; service.sizing.ts drainIdleCloseMs). Absent in plans recorded before
     * the plan held it; completePlan (plan.complete.ts) derives it then.
     */
    drainIdleCloseMs?: number;
    /**
     * Largest JSON body a worker parses, bytes: min(what the write routes need, the body whose
     * worst-case parse fits in a quarter of heapLimitMb). See jsonBodyLimitBytes() in service.sizing.ts.
     */
    jsonBodyLimitBytes: number;
    limits: ContainerLimits;
  };
  queue: {
    /** Queue worker containers (one node process each). */
    replicas: number;
    /** Jobs processed at once per queue worker process. */
    concurrency: number;
    pool: PoolSizing;
    /**
     * How long a queue worker waits for its active jobs on SIGTERM, ms (its SHUTDOWN_TIMEOUT_MS;
     * grace.sizing.ts workerShutdownTimeout). Absent in plans recorded before the plan held it;
     * completePlan (plan.complete.ts) derives it then.
     */
    shutdownTimeoutMs?: number;
    heapLimitMb: number;
    limits: ContainerLimits;
  };
  postgres: {
    maxConnections: number;
    superuserReservedConnections: number;
    sharedBuffersBytes: number;
    effectiveCacheSizeBytes: number;
    workMemBytes: number;
    maintenanceWorkMemBytes: number;
    maxWorkerProcesses: number;
    maxParallelWorkers: number;
    maxParallelWorkersPerGather: number;
    /**
     * shm_size, wal_buffers and max_parallel_maintenance_workers (postgres.sizing.ts pgSharedMemory).
     * Absent in manifests written before the plan held them; completePlan (plan.complete.ts) derives them then.
     */
    shmSizeBytes?: number;
    walBuffersBytes?: number;
    maxParallelMaintenanceWorkers?: number;
    limits: ContainerLimits;
  };
  /** PgBouncer in transaction mode, or null when the backends connect to PostgreSQL directly. */
  pgbouncer: null | {
    poolMode: 'transaction';
    /** Client connections PgBouncer accepts (≥ every app pool.max summed). */
    maxClientConn: number;
    /** Server connections PgBouncer opens to PostgreSQL for the app's database/user. */
    defaultPoolSize: number;
    reservePoolSize: number;
    limits: ContainerLimits;
  };
  redis: {
    maxClients: number;
    maxMemoryBytes: number;
    /** Eviction policy: only keys with a TTL (cache, sessions) may be evicted; queue data has none. */
    maxMemoryPolicy: 'volatile-lru';
    limits: ContainerLimits;
  };
  nginx: {
    workerProcesses: number;
    workerConnections: number;
    workerRlimitNofile: number;
    /** Client keep-alive timeout, seconds. */
    keepaliveTimeoutS: number;
    /**
     * nginx → backend keep-alive and live DNS (the `upstream` block). Absent in plans recorded by
     * Carebox before it had them; completePlan (plan.complete.ts) derives them then.
     */
    upstream?: NginxUpstreamSizing;
    /** Oldest nginx version the rendered config runs on (`resolve` in `upstream`: 1.27.3). */
    minVersion?: string;
    /**
     * Size of nginx's /tmp tmpfs, bytes (service.sizing.ts nginxTempBytes). Absent in plans recorded
     * before the plan held it; completePlan (plan.complete.ts) derives it then.
     */
    tempBytes?: number;
    limits: ContainerLimits;
  };
  /** One setting drives nginx client_max_body_size and the Express body limit, bytes. */
  bodyLimitBytes: number;
  /** The server's drain time on SIGTERM, ms; Compose stop_grace_period is set above it. */
  shutdownTimeoutMs: number;
  /**
   * Compose stop_grace_period per service, seconds (grace.sizing.ts). Absent in manifests written
   * before the plan held them; completePlan (plan.complete.ts) derives them then.
   */
  stopGraceS?: StopGracePeriods;
  /**
   * Compose `pids_limit` per service (tasks: processes and threads), from pids.sizing.ts. Absent
   * in manifests written before it; completePlan (plan.complete.ts) derives it from the sizing then.
   */
  pidsLimit?: PidsLimits;
  /**
   * Container log limits (logs.sizing.ts) and the disk they take at most, bytes. Absent in
   * manifests written before them; completePlan (plan.complete.ts) fills in the defaults then.
   */
  logs?: LogLimits & { diskBytes: number };
  /**
   * Prometheus, Alertmanager and the exporters (monitoring.sizing.ts), present only when the stack
   * runs them (`--alerts stack`); their memory is in budget.memoryBytes.
   */
  monitoring?: MonitoringSizing | null;
  /**
   * The backup scheduler and its restore drill (scheduler.sizing.ts), present only when backups are
   * scheduled (`intent.backups`); their memory is in budget.memoryBytes.
   */
  scheduler?: SchedulerSizing | null;
}

/** nginx → backend connection settings (the `upstream` block), derived per plan. */
export interface NginxUpstreamSizing {
  /** Idle keep-alive connections each nginx worker caches to the backends (`keepalive`). */
  keepalive: number;
  /** Idle timeout of a cached connection, seconds (`keepalive_timeout` in `upstream`). */
  keepaliveTimeoutS: number;
  /** Requests per cached connection before nginx closes it (`keepalive_requests` in `upstream`). */
  keepaliveRequests: number;
  /** Docker DNS answers for `backend` are re-resolved after this, seconds (`resolver … valid=`). */
  resolverValidS: number;
  /** A replica that refused a connection is skipped this long, seconds (`fail_timeout`, max_fails=1). */
  failTimeoutS: number;
}

/**
 * What `carebox loadtest` measured and proved on this install (open model, then a closed-loop run
 * of `concurrentUsers` virtual staff with think time). Only a proven figure is recorded.
 */
export interface MeasuredCapacity {
  /** Active staff N = X* × (R + Z), proven by the closed-loop run. */
  concurrentUsers: number;
  /** X*: the highest sustained action rate, actions/s. */
  actionsPerSecond: number;
  /** Requests/s at X*. */
  requestsPerSecond: number;
  /** R: mean response time of an action at X*, s. */
  responseTimeS: number;
  /** Z: mean think time of the profile, s. */
  thinkTimeS: number;
  /** p95 of requests at X*, ms. */
  p95Ms: number;
  /** Saturation: closed-loop connections without pause sustained at p95 ≤ 200 ms (null when not run). */
  saturationConnections?: number | null;
  /** Every rate up to --max-rate was sustained: X* is a lower bound. */
  limitedByMaxRate?: boolean;
  measuredAt: string;
}

export interface PlanCapacity {
  /** Estimated active staff under `profile` ([low, high]); the unit is `unit`. */
  concurrentUsers: [number, number];
  /** e.g. `active staff (one action every 30 s)`. Absent in plans written before profiles. */
  unit?: string;
  /** Sustained requests/s at p95 ≤ 200 ms, the tightest resource ([low, high]). */
  requestsPerSecond?: [number, number];
  /** requestsPerSecond / requests per action. */
  actionsPerSecond?: [number, number];
  /** R: mean response time of one action at that load, s. */
  responseTimeS?: number;
  /** Z: mean think time, s. */
  thinkTimeS?: number;
  requestsPerAction?: number;
  /** The resource that binds. */
  bottleneck?: CapacityResource;
  /** Every resource's ceiling, req/s. */
  ceilings?: ResourceCeiling[];
  /** The workload profile the figures are stated in. */
  profile?: WorkloadProfile;
  /** What the estimate rests on (constants and the measurement they came from). */
  basis: string;
  /**
   * The last proven `carebox loadtest` on this install; null until then. Manifests written before
   * active staff hold a closed-loop figure without `actionsPerSecond`: it is not shown as staff.
   */
  measured: null | MeasuredCapacity;
}

export interface TierOption {
  tier: Tier;
  /** Whether this host can run the tier. */
  feasible: boolean;
  /** Why not, or the tier's estimate when it can. */
  reason: string;
  /** Active staff [low, high] when feasible. */
  concurrentUsers: [number, number] | null;
  /** Nodes the estimate is for (the cluster tier sizes its node count for the intent; 1 otherwise). */
  nodes?: number;
}

export interface Plan {
  schemaVersion: 1;
  tier: Tier;
  /** Why this tier: intent, host thresholds, budgets that decided it. */
  reasons: string[];
  intent: Intent;
  host: {
    cpus: number;
    memoryBytes: number;
    hostCpus: number;
    hostMemoryBytes: number;
    cpusSource: string;
    memorySource: string;
  };
  sizing: PlanSizing;
  budget: {
    dbConnections: Budget;
    /** Client connections into PgBouncer (null without PgBouncer). */
    pgbouncerClients: Budget | null;
    redisConnections: Budget;
    memoryBytes: Budget;
    /** Inside PostgreSQL's container: shared_buffers + max_connections × (work_mem + overhead) + the rest. */
    postgresMemoryBytes: Budget;
    /** Web + queue worker processes against usable CPUs (invariant 3). */
    workerProcesses: Budget;
  };
  capacity: PlanCapacity;
  /** Cluster tier: Swarm nodes planned (1 for single-host tiers). */
  nodes: number;
  /** One-line derivation of every derived number, keyed by its JSON path. */
  derivations: Record<string, string>;
  /** Every tier and whether this host can run it. */
  tiers: TierOption[];
  /** Set when the intent asks for more than this host can serve. */
  shortfall: null | Shortfall;
}

/**
 * What the intent asks for beyond this host, and the smallest hardware the same model says serves
 * it: one host (`nodes` 1, a single-host tier) or a cluster of `nodes` nodes of that size; or
 * `'cluster'` when nothing within Carebox's caps does.
 */
export interface Shortfall {
  users: number;
  message: string;
  needs: { cpus: number; memoryBytes: number; tier: Tier; nodes: number } | 'cluster';
}
