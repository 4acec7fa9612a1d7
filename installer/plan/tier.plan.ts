import type { PlanHost } from '../detect/host-facts.js';
import { PreflightError, UsageError } from '../errors.js';
import { hypotheticalHost } from './hypothetical.host.js';
import { computeBudgets, checkBudgets } from './budget.check.js';
import { estimateCapacity, planCapacity, WEB_CPU_SHARE } from './capacity.estimate.js';
import { b, c, clamp, derived, floorMiB, type Derived } from './derived.js';
import {
  pgMemory,
  pgParallel,
  pgSharedMemory,
  pgWorkMem,
  planConnections,
  type ConnectionPlan,
  type PgbouncerChoice,
  type PgMemory,
  type PgSharedMemory,
} from './postgres.sizing.js';
import { stopGracePeriods, workerShutdownTimeout } from './grace.sizing.js';
import {
  backendLimits,
  clusterNodes,
  drainIdleCloseMs,
  heapLimitMb,
  jsonBodyLimitBytes,
  nginxKeepaliveTimeout,
  nginxLimits,
  nginxTempBytes,
  nginxRlimitNofile,
  nginxWorkerConnections,
  nginxWorkerProcesses,
  nginxUpstream,
  pgbouncerLimits,
  postgresCpus,
  queueLimits,
  queuePool,
  redisLimits,
  redisMaxClients,
  redisMaxMemory,
  REDIS_EVICTION_POLICY,
  webPool,
  type DerivedLimits,
  type DerivedPool,
} from './service.sizing.js';
import {
  APP_MEMORY_SHARE,
  GiB,
  MAX_CLUSTER_NODES,
  MAX_WEB_PROCESSES,
  OS_HEADROOM_FRACTION,
  OS_HEADROOM_MAX_BYTES,
  OS_HEADROOM_MIN_BYTES,
  PG_MIN_BYTES,
  PGBOUNCER_BYTES,
  QUEUE_WORKER_BYTES,
  SHUTDOWN_TIMEOUT_MS,
  SUPERUSER_RESERVED_CONNECTIONS,
  WEB_WORKER_BYTES,
  MIN_NGINX_VERSION,
} from './sizing.constants.js';
import { TIER_SHAPES } from './tier.shapes.js';
import { pidsLimits } from './pids.sizing.js';
import { logLimits } from './logs.sizing.js';
import { alertThresholds, monitoringBytes, monitoringSizing, MONITORING_SERVICES, type AlertMode } from './monitoring.sizing.js';
import { DRILL_BYTES, SCHEDULER_BYTES, schedulerBytes, schedulerSizing, type BackupMode } from './scheduler.sizing.js';
import {
  TIERS,
  type ContainerLimits,
  type Intent,
  type PgbouncerMode,
  type Plan,
  type PlanSizing,
  type Shortfall,
  type Tier,
  type TierOption,
} from './plan.types.js';
import { DEFAULT_PROFILE, staffUnit, workloadProfileSchema, type WorkloadProfile } from './workload.profile.js';

/** A sized tier, or why this host cannot run it and what would fix that. */
type TierResult = { ok: true; plan: Plan } | { ok: false; reason: string; hint: string };

/**
 * OS headroom (bytes): clamp(10 % of effective memory, 256 MiB, 4 GiB). Source: GitLab Omnibus
 * reserves 1.5 GiB for the OS on its reference hosts; scaled for small VMs.
 */
export function osHeadroom(memoryBytes: number): Derived {
  const h = floorMiB(clamp(memoryBytes * OS_HEADROOM_FRACTION, OS_HEADROOM_MIN_BYTES, OS_HEADROOM_MAX_BYTES));
  return derived(h, `OS headroom ${b(h)} = clamp(10 % of ${b(memoryBytes)}, 256 MiB, 4 GiB)`);
}

/** The intent with every optional field filled in (`pgbouncer` defaults to `auto`, `nodes` to null). */
export function normalizeIntent(intent: Intent): Intent {
  const n: Intent = {
    tier: intent.tier ?? null,
    users: intent.users ?? null,
    usersSource: intent.usersSource ?? null,
    nodes: intent.nodes ?? null,
    pgbouncer: intent.pgbouncer ?? 'auto',
  };
  // Absent: an intent recorded before alerts existed (or a what-if without --alerts): none run.
  if (intent.alerts !== undefined) n.alerts = intent.alerts;
  // Absent likewise: no scheduler in the budget.
  if (intent.backups !== undefined) n.backups = intent.backups;
  if (intent.profile) {
    // A profile read back from carebox.json may have been edited by hand: check it like a --profile file.
    const parsed = workloadProfileSchema.safeParse(intent.profile);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UsageError(
        `the intent's workload profile is invalid: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
        'give --think-time or --profile FILE again, or fix intent.profile in carebox.json',
      );
    }
    n.profile = parsed.data;
  }
  return n;
}

/** The workload profile of an intent (the default when none was given). */
export function intentProfile(intent: Intent): WorkloadProfile {
  return intent.profile ?? DEFAULT_PROFILE;
}

const values = (l: DerivedLimits): ContainerLimits => ({ cpus: l.cpus.value, memoryBytes: l.memoryBytes.value });

/**
 * Memory set aside for the node processes (backends and queue workers) on a host, bytes: the most
 * that any single-host tier needs with `processes` web processes *and the room to use what the tier
 * offers*: its layout scaled out to twice the backend replicas (`carebox scale`, redundancy), plus
 * one more replica for the surge of a rolling restart (new before old), and their queue workers;
 * capped by the app share (a small host affords less, and scale-out there needs `--overcommit`).
 * The same for every tier, so PostgreSQL's share, and with it shared_buffers, work_mem and its
 * container limit, does not change on a re-tier. Our rule; the layouts are the tiers' own.
 */
export function appMemoryReserve(processes: number, appBudget: number, cpus: number): Derived {
  let base = 0;
  let baseFrom = 'none';
  let room = 0;
  let roomFrom = 'none';
  for (const t of TIERS) {
    const shape = TIER_SHAPES[t];
    if (shape.multiHost) continue;
    const l = shape.layout(processes);
    if (!l) continue;
    const backend = backendLimits(l.workers, cpus).memoryBytes.value;
    const queue = queueLimits(cpus).memoryBytes.value;
    const asPlanned = l.replicas * backend + shape.queueReplicas(l.replicas) * queue;
    const scaled = (2 * l.replicas + 1) * backend + shape.queueReplicas(2 * l.replicas) * queue;
    if (asPlanned > base) {
      base = asPlanned;
      baseFrom = `${t} (${l.replicas} × ${l.workers} workers + ${shape.queueReplicas(l.replicas)} queue)`;
    }
    if (scaled > room) {
      room = scaled;
      roomFrom = `${t} scaled out to ${2 * l.replicas} replicas + 1 surge (× ${l.workers} workers) + ${shape.queueReplicas(2 * l.replicas)} queue`;
    }
  }
  if (room <= appBudget) {
    return derived(
      room,
      `app reserve ${b(room)} = the largest single-host layout with room for scale-out and a rolling-restart surge, ${roomFrom} (within the app share ${b(appBudget)})`,
    );
  }
  const value = Math.min(base, appBudget);
  return derived(
    value,
    `app reserve ${b(value)} = min(largest single-host layout ${b(base)} from ${baseFrom}, app share ${b(appBudget)}); no room for scale-out (${b(room)} would exceed the app share)`,
  );
}

/** The derivations of one tier's figures, keyed by JSON path, with helpers that record a Derived and return its value. */
interface DerivationLog {
  d: Record<string, string>;
  put: <T>(key: string, x: Derived<T>) => T;
  putLimits: (prefix: string, l: DerivedLimits) => ContainerLimits;
}

function derivationLog(): DerivationLog {
  const d: Record<string, string> = {};
  const put = <T>(key: string, x: Derived<T>): T => {
    d[key] = x.derivation;
    return x.value;
  };
  const putLimits = (prefix: string, l: DerivedLimits): ContainerLimits => {
    put(`${prefix}.limits.cpus`, l.cpus);
    put(`${prefix}.limits.memoryBytes`, l.memoryBytes);
    return values(l);
  };
  return { d, put, putLimits };
}

/** Why the intent or the host's size rules a tier out before any sizing, or null when it may be sized. */
function tierRefusal(tier: Tier, mode: PgbouncerMode, cpus: number, mem: number): TierResult | null {
  const shape = TIER_SHAPES[tier];
  // An intent conflict, whatever the hardware: reported before the host's size.
  if (shape.pgbouncer === 'always' && mode === 'off') {
    return {
      ok: false,
      reason: `the ${tier} tier always runs PgBouncer (several hosts share one PostgreSQL), but --pgbouncer off was asked for`,
      hint: 'drop --pgbouncer off (or give --pgbouncer auto), or choose a single-host tier',
    };
  }
  if (cpus < shape.minCpus || mem < shape.minMemoryBytes) {
    return {
      ok: false,
      reason: `needs at least ${shape.minCpus} CPU${shape.minCpus > 1 ? 's' : ''} and ${b(shape.minMemoryBytes)}; this host has ${c(cpus)} CPUs and ${b(mem)} usable`,
      hint: minimumHint(tier),
    };
  }
  return null;
}

/** What every web process count of every tier shares on one host: the figures sized before the node processes. */
interface HostShares {
  cpus: number;
  mem: number;
  /** Effective memory less the OS headroom, bytes. */
  avail: number;
  redisMax: number;
  redisLim: ContainerLimits;
  nginxWorkers: number;
  nginxLim: ContainerLimits;
  keepaliveS: number;
  /** The node processes' share of memory, bytes. */
  appBudget: number;
  /** Web processes the walk starts from: min(CPUs, memory, MAX_WEB_PROCESSES). */
  startProcs: number;
  processesWhy: string;
  appReserve: Derived;
  alertMode: AlertMode;
  monitoring: ReturnType<typeof monitoringSizing> | null;
  monitoringMem: number;
  scheduler: ReturnType<typeof schedulerSizing> | null;
  schedulerMem: number;
}

/** Size what the host's tiers share (headroom, Redis, nginx, the app share, monitoring, the scheduler), recording derivations. */
function hostShares(host: PlanHost, intent: Intent, { d, put, putLimits }: DerivationLog): HostShares {
  const cpus = host.cpus.value;
  const mem = host.memoryBytes.value;
  const headroom = osHeadroom(mem);
  const avail = mem - headroom.value;
  put('host.headroomBytes', headroom);

  const redisMax = put('sizing.redis.maxMemoryBytes', redisMaxMemory(avail));
  const redisLim = putLimits('sizing.redis', redisLimits(redisMax, cpus));
  d['sizing.redis.maxMemoryPolicy'] = `${REDIS_EVICTION_POLICY}: only keys with a TTL (cache, sessions) are evicted; queue data has none and is never evicted`;

  const nginxWorkers = put('sizing.nginx.workerProcesses', nginxWorkerProcesses(cpus, avail));
  const nginxLim = putLimits('sizing.nginx', nginxLimits(nginxWorkers, cpus));
  const keepaliveS = put('sizing.nginx.keepaliveTimeoutS', nginxKeepaliveTimeout());

  const appBudget = floorMiB(avail * APP_MEMORY_SHARE);
  const cpuProcs = Math.max(1, Math.floor(cpus));
  const memProcs = Math.floor(appBudget / WEB_WORKER_BYTES);
  const startProcs = Math.min(cpuProcs, memProcs, MAX_WEB_PROCESSES);
  const processesWhy = `web processes ≤ min(CPUs ${cpuProcs}, floor(app memory ${b(appBudget)} = (${b(mem)} − headroom) × ${APP_MEMORY_SHARE} / ${b(WEB_WORKER_BYTES)}) = ${memProcs}, ceiling ${MAX_WEB_PROCESSES})`;

  // PostgreSQL's memory must not depend on the tier: a re-tier that changed its container limit or
  // shared_buffers would restart PostgreSQL, and every DB-backed request would fail meanwhile. So
  // the node processes get one reserve per host: the most any single-host tier lays out here.
  const appReserve = appMemoryReserve(startProcs, appBudget, cpus);
  d['host.appReserveBytes'] = appReserve.derivation;

  // Prometheus, Alertmanager and the exporters (--alerts stack) take their memory before
  // PostgreSQL's share, like Redis and nginx, for the most replicas this host may scale to.
  const alertMode = intent.alerts ?? 'off';
  const monitoring = alertMode === 'stack' ? monitoringSizing(2 * Math.max(1, startProcs) + 1, cpus) : null;
  const monitoringMem = monitoring ? monitoringBytes(monitoring.value) : 0;
  if (monitoring) {
    for (const [k, v] of Object.entries(monitoring.derivations)) d[`sizing.monitoring.${k}`] = v;
  }
  // The backup scheduler and its restore drill (scheduled backups) likewise.
  const scheduler = intent.backups === 'scheduled' ? schedulerSizing(cpus) : null;
  const schedulerMem = scheduler ? schedulerBytes(scheduler.value) : 0;
  if (scheduler) {
    for (const [k, v] of Object.entries(scheduler.derivations)) d[`sizing.scheduler.${k}`] = v;
  }
  return {
    cpus,
    mem,
    avail,
    redisMax,
    redisLim,
    nginxWorkers,
    nginxLim,
    keepaliveS,
    appBudget,
    startProcs,
    processesWhy,
    appReserve,
    alertMode,
    monitoring,
    monitoringMem,
    scheduler,
    schedulerMem,
  };
}

/** One try at a connection plan: whether PgBouncer's memory is set aside, and how the plan may use it. */
interface ConnectionPass {
  withPgb: boolean;
  choice: PgbouncerChoice;
}

/** Which connection plans a tier may try under `mode`, in order. */
function connectionPasses(tier: Tier, mode: PgbouncerMode): ConnectionPass[] {
  const shape = TIER_SHAPES[tier];
  const forcedWhy =
    shape.pgbouncer === 'always'
      ? `the ${tier} tier always runs PgBouncer (several hosts share one PostgreSQL)`
      : mode === 'on'
        ? '--pgbouncer on was asked for'
        : null;
  if (forcedWhy) return [{ withPgb: true, choice: { kind: 'pgbouncer', why: forcedWhy } }];
  if (mode === 'off') return [{ withPgb: false, choice: { kind: 'direct' } }];
  // auto: first without PgBouncer; if the connection plan needs one, re-size with its memory.
  return [
    { withPgb: false, choice: { kind: 'auto' } },
    { withPgb: true, choice: { kind: 'auto' } },
  ];
}

/** One web process count laid out on a tier: replicas, workers, queue workers, their limits and the node count. */
interface LayoutFigures {
  replicas: number;
  workers: number;
  layoutWhy: string;
  queueReplicas: number;
  queueConc: number;
  backendLim: DerivedLimits;
  queueLim: DerivedLimits;
  profile: WorkloadProfile;
  pgCpus: number;
  nodesD: Derived;
  nodes: number;
  /** Web and queue processes across every node. */
  webProcesses: number;
  queueProcesses: number;
}

/** Lay out `p` web processes on `tier`, or say why they do not fit in the app share. */
function layoutFigures(
  tier: Tier,
  p: number,
  layout: { replicas: number; workers: number; derivation: string },
  h: HostShares,
  intent: Intent,
): LayoutFigures | { over: string } {
  const shape = TIER_SHAPES[tier];
  const { replicas, workers } = layout;
  const queueReplicas = shape.queueReplicas(replicas);
  const backendLim = backendLimits(workers, h.cpus);
  const webBytes = replicas * backendLim.memoryBytes.value;
  const queueLim = queueLimits(h.cpus);
  const queueBytes = queueReplicas * queueLim.memoryBytes.value;
  if (webBytes + queueBytes > h.appBudget) return { over: `${p} web processes need ${b(webBytes + queueBytes)}, over the app share ${b(h.appBudget)}` };
  const profile = intentProfile(intent);
  const pgCpus = postgresCpus(h.cpus).value;
  // The node count is chosen before the pools are sized, so without the connection ceiling
  // (the final estimate includes it).
  const staffAt = (n: number): number =>
    estimateCapacity({
      webProcesses: replicas * workers,
      cpus: h.cpus,
      nodes: n,
      postgresCpus: pgCpus,
      redisCpus: h.redisLim.cpus,
      webDbConnections: Number.MAX_SAFE_INTEGER,
      profile,
    }).concurrentUsers[0];
  const nodesD = clusterNodes({ multiHost: shape.multiHost, nodes: intent.nodes, users: intent.users, staffAt });
  const nodes = nodesD.value;
  return {
    replicas,
    workers,
    layoutWhy: layout.derivation,
    queueReplicas,
    queueConc: shape.queueConcurrency,
    backendLim,
    queueLim,
    profile,
    pgCpus,
    nodesD,
    nodes,
    webProcesses: replicas * workers * nodes,
    queueProcesses: queueReplicas * nodes,
  };
}

/** The figures of one connection pass: PostgreSQL's memory and settings, the pools, the estimate and the edge. */
interface PassFigures {
  withPgb: boolean;
  pgBytes: number;
  pgm: PgMemory;
  conn: ConnectionPlan;
  par: ReturnType<typeof pgParallel>;
  pgShm: PgSharedMemory;
  workMem: Derived;
  wPool: DerivedPool;
  qPool: DerivedPool;
  pgbLim: DerivedLimits | null;
  capacity: ReturnType<typeof estimateCapacity>;
  workerConnections: number;
  upstream: ReturnType<typeof nginxUpstream>;
}

/** Size PostgreSQL, the connections and the edge for one pass, or say why the pass stops (or gives way to the next). */
function passFigures(h: HostShares, lay: LayoutFigures, pass: ConnectionPass, { d, put }: DerivationLog): PassFigures | { stop: string } | { next: true } {
  const withPgb = pass.withPgb;
  const pgBytes = floorMiB(
    h.avail - h.redisLim.memoryBytes - h.nginxLim.memoryBytes - h.appReserve.value - (withPgb ? PGBOUNCER_BYTES : 0) - h.monitoringMem - h.schedulerMem,
  );
  if (pgBytes < PG_MIN_BYTES) {
    return {
      stop: `PostgreSQL would get ${b(Math.max(0, pgBytes))}${withPgb ? ` after PgBouncer's ${b(PGBOUNCER_BYTES)}` : ''}, under its minimum ${b(PG_MIN_BYTES)}`,
    };
  }
  const pgm = pgMemory(pgBytes, h.cpus);
  const conn = planConnections({
    webProcesses: lay.webProcesses,
    queueProcesses: lay.queueProcesses,
    queuePoolMax: lay.queueConc,
    cap: pgm.connectionCap.value,
    pgbouncer: pass.choice,
    monitoringConnections: h.monitoring ? 1 : 0,
  });
  if ('refused' in conn) return { stop: conn.refused };
  if (conn.pgbouncer && !withPgb) return { next: true }; // needs PgBouncer: re-size with its memory
  const par = pgParallel(h.cpus);
  const pgShm = pgSharedMemory(pgBytes, pgm.sharedBuffersBytes.value, par.perGather);
  const workMem = pgWorkMem(pgBytes, pgm.sharedBuffersBytes.value, pgm.maintenanceWorkMemBytes.value, conn.maxConnections.value, par.maxParallelWorkers);
  const wPool = webPool(conn.webPoolMax);
  const webDbConnections = conn.pgbouncer ? conn.pgbouncer.defaultPoolSize.value : lay.webProcesses * wPool.max.value;
  const capacity = estimateCapacity({
    webProcesses: lay.replicas * lay.workers,
    cpus: h.cpus,
    nodes: lay.nodes,
    postgresCpus: lay.pgCpus,
    redisCpus: h.redisLim.cpus,
    webDbConnections,
    profile: lay.profile,
  });
  // Each person's browser keeps about one keep-alive connection open between actions.
  const webConnHigh = Math.ceil(capacity.concurrentUsers[1] / lay.nodes);
  const workerConnections = put('sizing.nginx.workerConnections', nginxWorkerConnections(webConnHigh, h.nginxWorkers));
  const upstream = nginxUpstream(webConnHigh, h.nginxWorkers, workerConnections);
  for (const [k, v] of Object.entries(upstream.derivations)) d[`sizing.nginx.upstream.${k}`] = v;
  d['sizing.nginx.minVersion'] =
    `nginx ≥ ${MIN_NGINX_VERSION}: \`resolve\` on upstream servers (keep-alive to the backends with live DNS); preflight and upgrade refuse an older nginx image`;
  const qPool = queuePool(lay.queueConc);
  const pgbLim = conn.pgbouncer ? pgbouncerLimits(h.cpus) : null;
  return { withPgb, pgBytes, pgm, conn, par, pgShm, workMem, wPool, qPool, pgbLim, capacity, workerConnections, upstream };
}

/** The sizing of one pass (Redis maxclients still 0: it is counted from this sizing), recording derivations. */
function passSizing(h: HostShares, lay: LayoutFigures, f: PassFigures, { put }: DerivationLog): PlanSizing {
  const grace = stopGracePeriods(SHUTDOWN_TIMEOUT_MS);
  const webHeapMb = put('sizing.backend.heapLimitMb', heapLimitMb('web worker', WEB_WORKER_BYTES));
  const jsonLimit = put('sizing.backend.jsonBodyLimitBytes', jsonBodyLimitBytes(webHeapMb));
  const { conn, pgm, par, pgShm, wPool, qPool, pgbLim } = f;
  return {
    backend: {
      replicas: lay.replicas,
      workers: lay.workers,
      pool: { min: wPool.min.value, max: wPool.max.value, acquireTimeoutMs: wPool.acquireTimeoutMs.value },
      heapLimitMb: webHeapMb,
      drainIdleCloseMs: put('sizing.backend.drainIdleCloseMs', drainIdleCloseMs(f.upstream.value.keepaliveTimeoutS)),
      jsonBodyLimitBytes: jsonLimit,
      limits: values(lay.backendLim),
    },
    queue: {
      replicas: lay.queueReplicas,
      concurrency: lay.queueConc,
      pool: { min: qPool.min.value, max: qPool.max.value, acquireTimeoutMs: qPool.acquireTimeoutMs.value },
      shutdownTimeoutMs: put('sizing.queue.shutdownTimeoutMs', workerShutdownTimeout(SHUTDOWN_TIMEOUT_MS)),
      heapLimitMb: put('sizing.queue.heapLimitMb', heapLimitMb('queue worker', QUEUE_WORKER_BYTES)),
      limits: values(lay.queueLim),
    },
    postgres: {
      maxConnections: conn.maxConnections.value,
      superuserReservedConnections: SUPERUSER_RESERVED_CONNECTIONS,
      sharedBuffersBytes: pgm.sharedBuffersBytes.value,
      effectiveCacheSizeBytes: pgm.effectiveCacheSizeBytes.value,
      workMemBytes: f.workMem.value,
      maintenanceWorkMemBytes: pgm.maintenanceWorkMemBytes.value,
      maxWorkerProcesses: par.maxWorkerProcesses,
      maxParallelWorkers: par.maxParallelWorkers,
      maxParallelWorkersPerGather: par.perGather,
      shmSizeBytes: put('sizing.postgres.shmSizeBytes', pgShm.shmSizeBytes),
      walBuffersBytes: put('sizing.postgres.walBuffersBytes', pgShm.walBuffersBytes),
      maxParallelMaintenanceWorkers: put('sizing.postgres.maxParallelMaintenanceWorkers', pgShm.maxParallelMaintenanceWorkers),
      limits: { cpus: postgresCpus(h.cpus).value, memoryBytes: f.pgBytes },
    },
    pgbouncer:
      conn.pgbouncer && pgbLim
        ? {
            poolMode: 'transaction',
            maxClientConn: conn.pgbouncer.maxClientConn.value,
            defaultPoolSize: conn.pgbouncer.defaultPoolSize.value,
            reservePoolSize: conn.pgbouncer.reservePoolSize.value,
            limits: values(pgbLim),
          }
        : null,
    redis: { maxClients: 0, maxMemoryBytes: h.redisMax, maxMemoryPolicy: REDIS_EVICTION_POLICY, limits: h.redisLim },
    nginx: {
      workerProcesses: h.nginxWorkers,
      workerConnections: f.workerConnections,
      workerRlimitNofile: put('sizing.nginx.workerRlimitNofile', nginxRlimitNofile(f.workerConnections)),
      keepaliveTimeoutS: h.keepaliveS,
      upstream: f.upstream.value,
      minVersion: MIN_NGINX_VERSION,
      tempBytes: put('sizing.nginx.tempBytes', nginxTempBytes(jsonLimit)),
      limits: h.nginxLim,
    },
    bodyLimitBytes: jsonLimit,
    shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
    stopGraceS: {
      backend: put('sizing.stopGraceS.backend', grace.backend),
      worker: put('sizing.stopGraceS.worker', grace.worker),
      db: put('sizing.stopGraceS.db', grace.db),
      redis: put('sizing.stopGraceS.redis', grace.redis),
      nginx: put('sizing.stopGraceS.nginx', grace.nginx),
    },
    ...(h.monitoring ? { monitoring: h.monitoring.value } : {}),
    ...(h.scheduler ? { scheduler: h.scheduler.value } : {}),
  };
}

/** Add the pids limits and the log limits (for every container the tier may run) to `sizing`, recording derivations. */
function addPidsAndLogs(sizing: PlanSizing, tier: Tier, host: PlanHost, h: HostShares, { put }: DerivationLog): void {
  const shape = TIER_SHAPES[tier];
  const replicas = sizing.backend.replicas;
  const pids = pidsLimits(sizing);
  sizing.pidsLimit = {
    db: put('sizing.pidsLimit.db', pids.db),
    redis: put('sizing.pidsLimit.redis', pids.redis),
    pgbouncer: put('sizing.pidsLimit.pgbouncer', pids.pgbouncer),
    backend: put('sizing.pidsLimit.backend', pids.backend),
    worker: put('sizing.pidsLimit.worker', pids.worker),
    nginx: put('sizing.pidsLimit.nginx', pids.nginx),
  };
  // Every container the tier may run: scaled out to twice the replicas, one surge, the singletons.
  const logs = logLimits(
    2 * replicas + 1 + shape.queueReplicas(2 * replicas) + 4 + (h.monitoring ? MONITORING_SERVICES.length : 0) + (h.scheduler ? 1 : 0),
    host.disk?.dockerRoot?.totalBytes ?? null,
  );
  sizing.logs = {
    driver: 'json-file',
    maxSizeBytes: put('sizing.logs.maxSizeBytes', logs.maxSizeBytes),
    maxFiles: put('sizing.logs.maxFiles', logs.maxFiles),
    diskBytes: put('sizing.logs.diskBytes', logs.diskBytes),
  };
}

/** The derivations of a sized pass that are not recorded as their figures are taken (a declarative list). */
function passDerivations(tier: Tier, h: HostShares, lay: LayoutFigures, f: PassFigures, bodyLimitBytes: number): Record<string, string> {
  const { replicas, workers, queueReplicas, queueConc, backendLim, queueLim } = lay;
  const { conn, pgm, par, wPool, qPool, pgBytes, withPgb } = f;
  return {
    'sizing.backend.replicas': lay.layoutWhy,
    'sizing.backend.workers': `workers ${workers} per replica; ${h.processesWhy}; ${lay.layoutWhy}`,
    'sizing.backend.pool.min': wPool.min.derivation,
    'sizing.backend.pool.max': wPool.max.derivation,
    'sizing.backend.pool.acquireTimeoutMs': wPool.acquireTimeoutMs.derivation,
    'sizing.backend.limits.cpus': backendLim.cpus.derivation,
    'sizing.backend.limits.memoryBytes': backendLim.memoryBytes.derivation,
    'sizing.queue.replicas': `queue replicas ${queueReplicas} for ${replicas} backend replica${replicas > 1 ? 's' : ''} (tier ${tier})`,
    'sizing.queue.concurrency': `concurrency ${queueConc} jobs per queue worker (tier ${tier}; ${tier === 'default' ? 'small hosts keep CPU and connections for requests' : "the seed's Celery prefetch of 4"})`,
    'sizing.queue.pool.min': qPool.min.derivation,
    'sizing.queue.pool.max': qPool.max.derivation,
    'sizing.queue.pool.acquireTimeoutMs': qPool.acquireTimeoutMs.derivation,
    'sizing.queue.limits.cpus': queueLim.cpus.derivation,
    'sizing.queue.limits.memoryBytes': queueLim.memoryBytes.derivation,
    'sizing.postgres.limits.cpus': postgresCpus(h.cpus).derivation,
    'sizing.postgres.limits.memoryBytes': `PostgreSQL memory ${b(pgBytes)} = ${b(h.avail)} − redis ${b(h.redisLim.memoryBytes)} − nginx ${b(h.nginxLim.memoryBytes)} − app reserve ${b(h.appReserve.value)}${withPgb ? ` − pgbouncer ${b(PGBOUNCER_BYTES)}` : ''}${h.monitoringMem ? ` − monitoring ${b(h.monitoringMem)}` : ''}${h.schedulerMem ? ` − scheduler and restore drill ${b(h.schedulerMem)}` : ''} (the same for every tier on this host: a re-tier never restarts PostgreSQL)`,
    'sizing.postgres.maxConnections': conn.maxConnections.derivation,
    'sizing.postgres.superuserReservedConnections': `superuser_reserved_connections ${SUPERUSER_RESERVED_CONNECTIONS} (constant: PostgreSQL's default)`,
    'sizing.postgres.sharedBuffersBytes': pgm.sharedBuffersBytes.derivation,
    'sizing.postgres.effectiveCacheSizeBytes': pgm.effectiveCacheSizeBytes.derivation,
    'sizing.postgres.maintenanceWorkMemBytes': pgm.maintenanceWorkMemBytes.derivation,
    'sizing.postgres.workMemBytes': f.workMem.derivation,
    'sizing.postgres.connectionCap': pgm.connectionCap.derivation,
    'sizing.postgres.maxWorkerProcesses': `max_worker_processes ${par.derivations.workers}`,
    'sizing.postgres.maxParallelWorkers': `max_parallel_workers ${par.derivations.workers}`,
    'sizing.postgres.maxParallelWorkersPerGather': par.derivations.perGather,
    'sizing.bodyLimitBytes': `body limit ${b(bodyLimitBytes)} = sizing.backend.jsonBodyLimitBytes (no route takes an upload); drives nginx client_max_body_size and the server's BODY_LIMIT_BYTES`,
    'sizing.shutdownTimeoutMs': `drain ${SHUTDOWN_TIMEOUT_MS} ms on SIGTERM (constant); Compose stop_grace_period is rendered above it`,
    nodes: lay.nodesD.derivation,
    'capacity.concurrentUsers': f.capacity.derivation,
    'capacity.requestsPerSecond': f.capacity.ceilings.map((x) => x.derivation).join('; '),
  };
}

/** What sizing one tier on one host works with: the host, the tier, the intent, the shared figures and the derivations so far. */
interface TierContext {
  host: PlanHost;
  tier: Tier;
  intent: Intent;
  h: HostShares;
  log: DerivationLog;
}

/**
 * Size one connection pass of one layout into a Plan (its `tiers` and `shortfall` still empty), or
 * say why it stops (a budget or PostgreSQL's memory; the walk tries fewer processes) or gives way
 * to the next pass. `walkWhy`: the reason line when fewer processes than the start were planned.
 */
function sizePass(ctx: TierContext, lay: LayoutFigures, pass: ConnectionPass, walkWhy: string | null): { plan: Plan } | { stop: string } | { next: true } {
  const { host, tier, intent, h, log } = ctx;
  const f = passFigures(h, lay, pass, log);
  if (!('pgBytes' in f)) return f;
  const sizing = passSizing(h, lay, f, log);
  addPidsAndLogs(sizing, tier, host, h, log);
  // Redis maxclients is derived from the counted clients, so count first.
  const budgetHost = { cpus: h.cpus, memoryLimitBytes: h.avail };
  const redisDemand = computeBudgets(sizing, budgetHost, lay.nodes).redisConnections.demand;
  sizing.redis.maxClients = log.put('sizing.redis.maxClients', redisMaxClients(redisDemand));
  const budget = computeBudgets(sizing, budgetHost, lay.nodes);
  const violations = checkBudgets(sizing, budgetHost, lay.nodes);
  if (violations.length > 0) return { stop: violations.map((v) => v.message).join('; ') };

  const d = log.d;
  Object.assign(d, passDerivations(tier, h, lay, f, sizing.bodyLimitBytes));
  if (f.conn.pgbouncer && f.pgbLim) {
    d['sizing.pgbouncer.defaultPoolSize'] = f.conn.pgbouncer.defaultPoolSize.derivation;
    d['sizing.pgbouncer.maxClientConn'] = f.conn.pgbouncer.maxClientConn.derivation;
    d['sizing.pgbouncer.reservePoolSize'] = f.conn.pgbouncer.reservePoolSize.derivation;
    d['sizing.pgbouncer.limits.cpus'] = f.pgbLim.cpus.derivation;
    d['sizing.pgbouncer.limits.memoryBytes'] = f.pgbLim.memoryBytes.derivation;
  }
  if (h.alertMode !== 'off') {
    for (const [k, v] of Object.entries(alertThresholds(sizing).derivations)) d[k] = v;
  }
  const reasons = [...f.conn.reasons];
  if (walkWhy) reasons.push(walkWhy);
  if (TIER_SHAPES[tier].multiHost) reasons.push(lay.nodesD.derivation);
  const plan: Plan = {
    schemaVersion: 1,
    tier,
    reasons,
    intent,
    host: {
      cpus: h.cpus,
      memoryBytes: h.mem,
      hostCpus: host.hostCpus.value,
      hostMemoryBytes: host.hostMemoryBytes.value,
      cpusSource: host.cpus.source,
      memorySource: host.memoryBytes.source,
    },
    sizing,
    budget,
    capacity: planCapacity(f.capacity, lay.profile),
    nodes: lay.nodes,
    // Sorted by key, so the text output groups each service's lines.
    derivations: Object.fromEntries(Object.entries(d).sort(([a], [z]) => (a < z ? -1 : a > z ? 1 : 0))),
    tiers: [],
    shortfall: null,
  };
  return { plan };
}

/** The hint of a tier this host cannot run, from the last reason and the PgBouncer mode. */
function failureHint(tier: Tier, mode: PgbouncerMode, lastWhy: string): string {
  if (mode === 'off' && /PgBouncer/.test(lastWhy)) {
    return 'drop --pgbouncer off (or give --pgbouncer auto) so PgBouncer can multiplex the pools, or give PostgreSQL more memory';
  }
  if (mode === 'on' && /PgBouncer/.test(lastWhy)) {
    return `drop --pgbouncer on (or give --pgbouncer auto): PgBouncer's memory and server pool do not fit here; or ${minimumHint(tier)}`;
  }
  return minimumHint(tier);
}

/**
 * Size one tier on one host. Pure: same inputs, same output. Walks the web process count down
 * from min(usable CPUs, memory, 64) until every budget fits, so invariants 1–4 hold by construction.
 * `intent.pgbouncer`: `on` puts PgBouncer in front on any tier; `off` keeps direct pools, walking
 * the process count down until they fit, and refuses the cluster tier (which always needs it).
 */
function sizeTier(host: PlanHost, tier: Tier, rawIntent: Intent): TierResult {
  const intent = normalizeIntent(rawIntent);
  const shape = TIER_SHAPES[tier];
  const mode = intent.pgbouncer ?? 'auto';
  const refusal = tierRefusal(tier, mode, host.cpus.value, host.memoryBytes.value);
  if (refusal) return refusal;
  const log = derivationLog();
  const h = hostShares(host, intent, log);
  const ctx: TierContext = { host, tier, intent, h, log };
  const passes = connectionPasses(tier, mode);

  let lastWhy = `not enough memory for ${shape.minWebProcesses} web process${shape.minWebProcesses > 1 ? 'es' : ''} and PostgreSQL`;
  let firstWhy: string | null = null;
  for (let p = h.startProcs; p >= shape.minWebProcesses; p--) {
    const layout = shape.layout(p);
    if (!layout) continue;
    const lay = layoutFigures(tier, p, layout, h, intent);
    if ('over' in lay) {
      lastWhy = lay.over;
      firstWhy ??= lastWhy;
      continue;
    }
    const walkWhy = p < h.startProcs && firstWhy ? `${h.startProcs} web processes did not fit (${firstWhy}); planned for ${p}` : null;
    for (const pass of passes) {
      const r = sizePass(ctx, lay, pass, walkWhy);
      if ('next' in r) continue;
      if ('stop' in r) {
        lastWhy = r.stop;
        break;
      }
      return { ok: true, plan: r.plan };
    }
    firstWhy ??= lastWhy;
  }
  return { ok: false, reason: lastWhy, hint: failureHint(tier, mode, lastWhy) };
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
    return {
      tier: 'horizontal',
      reason: `no tier or users given: ${c(cpus)} CPUs and ${b(mem)} usable reach ${h.cpus} CPUs / ${b(h.memoryBytes)}, so several replicas add capacity and allow rolling restarts without downtime`,
    };
  }
  if (cpus >= o.cpus && mem >= o.memoryBytes) {
    return {
      tier: 'optimized',
      reason: `no tier or users given: ${c(cpus)} CPUs and ${b(mem)} usable reach ${o.cpus} CPUs / ${b(o.memoryBytes)} but not ${h.cpus} CPUs / ${b(h.memoryBytes)} (horizontal)`,
    };
  }
  return { tier: 'default', reason: `no tier or users given: ${c(cpus)} CPUs and ${b(mem)} usable are below ${o.cpus} CPUs / ${b(o.memoryBytes)} (optimized)` };
}

/**
 * Memory per CPU of the hosts a shortfall hint names: 4 GiB, the ratio of general-purpose
 * server and cloud instance types (e.g. AWS m-class, Azure D-series). Hints vary the CPU count
 * one at a time at this ratio, so the host named is the smallest of that family that serves.
 */
export const HINT_MEMORY_PER_CPU_BYTES = 4 * GiB;
/**
 * Largest host a hint names, CPUs: beyond ceil(64 web processes / WEB_CPU_SHARE) = 99 CPUs no
 * single-host tier adds a web process (MAX_WEB_PROCESSES), so a bigger host is never the answer.
 */
export const HINT_MAX_CPUS = Math.ceil(MAX_WEB_PROCESSES / WEB_CPU_SHARE);

/** A host of `cpus` CPUs at the hints' memory ratio (at least 4 GiB). */
export function hintHost(cpus: number): { cpus: number; memoryBytes: number } {
  return { cpus, memoryBytes: Math.max(4 * GiB, cpus * HINT_MEMORY_PER_CPU_BYTES) };
}

/** The host a capacity hint sizes: whole CPUs, so its figures match hypotheticalHost's. */
function hypothetical(cpus: number, memoryBytes: number): PlanHost {
  return hypotheticalHost(cpus, memoryBytes, 'hypothetical host');
}

/** The smallest single-host tier whose low estimate serves `users` on `host`, or null. */
function smallestServing(host: PlanHost, intent: Intent, users: number): { tier: Tier; plan: Plan } | null {
  for (const t of TIERS) {
    if (TIER_SHAPES[t].multiHost) continue;
    const r = sizeTier(host, t, intent);
    if (r.ok && r.plan.capacity.concurrentUsers[0] >= users) return { tier: t, plan: r.plan };
  }
  return null;
}

/**
 * Plan Carebox for a host and an intent. Capacity figures are active staff under the intent's
 * workload profile (capacity.estimate.ts).
 *
 * - `intent.tier` set: that tier, or PreflightError (exit 3) when this host cannot run it. For
 *   `--tier cluster` the node count is `--nodes`, else derived from `--users` (at least 2, at most
 *   64); when no node count like this host serves the users, `shortfall` names bigger nodes.
 * - `intent.users` set: the smallest single-host tier whose estimate (low end) serves them; if none
 *   does, the largest feasible tier plus `shortfall` naming the smallest hardware the same model
 *   says serves them: a host of this family (CPUs one at a time, 4 GiB each, never past
 *   HINT_MAX_CPUS), else the cluster tier on nodes like this one, else on the smallest node size
 *   that does. The hint agrees with `tiers` (the "Tiers on this host" table).
 * - neither: by host size (see autoTier).
 * - `intent.pgbouncer` (`auto` when absent): see sizeTier.
 *
 * Pure and deterministic (invariant 5): the same host figures and intent give a deep-equal Plan.
 * @throws PreflightError (exit 3) when the host is below the minimum of the chosen tier (or of
 *   every tier), or when `--pgbouncer off` cannot be honoured; `details.tiers` lists every tier.
 */
export function planCarebox(host: PlanHost, rawIntent: Intent): Plan {
  if (!(host.cpus.value > 0) || !(host.memoryBytes.value > 0)) {
    throw new PreflightError(`host figures are not usable: ${host.cpus.value} CPUs, ${host.memoryBytes.value} bytes`);
  }
  const intent = normalizeIntent(rawIntent);
  const unit = staffUnit(intentProfile(intent));
  const results = new Map<Tier, TierResult>(TIERS.map((t) => [t, sizeTier(host, t, intent)]));
  const tiers: TierOption[] = TIERS.map((t) => {
    const r = results.get(t)!;
    return r.ok
      ? {
          tier: t,
          feasible: true,
          reason: `serves about ${r.plan.capacity.concurrentUsers[0]}–${r.plan.capacity.concurrentUsers[1]} ${unit}${r.plan.nodes > 1 ? ` on ${r.plan.nodes} nodes like this host` : ''}; ${r.plan.capacity.bottleneck} binds`,
          concurrentUsers: r.plan.capacity.concurrentUsers,
          nodes: r.plan.nodes,
        }
      : { tier: t, feasible: false, reason: r.reason, concurrentUsers: null };
  });
  const finish = (tier: Tier, reasons: string[], shortfall: Plan['shortfall'] = null): Plan => {
    const r = results.get(tier)!;
    if (!r.ok) {
      // Monitoring is what does not fit: say so, and how to keep alerts without it.
      if (intent.alerts === 'stack' && sizeTier(host, tier, { ...intent, alerts: 'off' }).ok) {
        throw new PreflightError(
          `this host cannot run the ${tier} tier with Prometheus and Alertmanager in the stack (--alerts stack): ${r.reason}`,
          "give --alerts external (only the rules file, for the hospital's own Prometheus) or --alerts off, or a host with more memory",
          { tiers, monitoringDoesNotFit: true },
        );
      }
      // Likewise the backup scheduler and its restore drill.
      if (intent.backups === 'scheduled' && sizeTier(host, tier, { ...intent, backups: 'manual' }).ok) {
        throw new PreflightError(
          `this host cannot run the ${tier} tier with scheduled backups (the scheduler and its restore drill need ${b(SCHEDULER_BYTES + DRILL_BYTES)}): ${r.reason}`,
          "give --backup-at off and run `carebox backup` from the host's cron, or a host with more memory",
          { tiers, schedulerDoesNotFit: true },
        );
      }
      throw new PreflightError(`this host cannot run the ${tier} tier: ${r.reason}`, r.hint, { tiers });
    }
    return { ...r.plan, reasons: [...reasons, ...r.plan.reasons], tiers, shortfall };
  };

  if (intent.tier) {
    const reasons = [
      `tier ${intent.tier} ${rawIntent.origin === 'install' ? 'was recorded at install' : 'was asked for'} (${TIER_SHAPES[intent.tier].summary})`,
    ];
    const r = results.get(intent.tier)!;
    if (intent.tier === 'cluster' && intent.users !== null && r.ok && r.plan.capacity.concurrentUsers[0] < intent.users) {
      return finish(intent.tier, reasons, clusterShortfall(intent, r.plan));
    }
    return finish(intent.tier, reasons);
  }
  if (intent.users !== null) {
    const users = intent.users;
    const here = smallestServing(host, intent, users);
    if (here) {
      const [low, high] = here.plan.capacity.concurrentUsers;
      return finish(here.tier, [
        `${users} ${unit} ${rawIntent.origin === 'install' ? 'recorded at install' : 'asked for'} (${intent.usersSource ?? '--users'}): ${here.tier} is the smallest tier whose estimate (${low}–${high}) covers them on this host`,
      ]);
    }
    const singleHost = TIERS.filter((t) => !TIER_SHAPES[t].multiHost);
    const feasible = singleHost.filter((t) => results.get(t)!.ok);
    const best = feasible[feasible.length - 1];
    if (!best) {
      const r = results.get('default') as { reason: string; hint: string };
      throw new PreflightError(`this host cannot run any Carebox tier: ${r.reason}`, r.hint, { tiers });
    }
    const bestPlan = (results.get(best) as { ok: true; plan: Plan }).plan;
    const shortfall = usersShortfall(host, intent, users, bestPlan, results.get('cluster')!, unit);
    return finish(best, [`${users} ${unit} asked for, more than any single-host tier serves on this host: planned the largest, ${best}`], shortfall);
  }
  const auto = autoTier(host);
  return finish(auto.tier, [auto.reason]);
}

/**
 * The shortfall of a users intent no single-host tier serves on this host: the smallest host of
 * the hints' family (hintHost) where one does; else the cluster tier on nodes like this one
 * (`cluster`, already sized for the users, is the table's own row); else the smallest node size at
 * which the cluster does; else 'cluster' (beyond Carebox's caps). Pure.
 */
function usersShortfall(host: PlanHost, intent: Intent, users: number, bestPlan: Plan, cluster: TierResult, unit: string): Shortfall {
  const serves = `this host serves about ${bestPlan.capacity.concurrentUsers[0]}–${bestPlan.capacity.concurrentUsers[1]} ${unit} (${bestPlan.capacity.bottleneck} binds)`;
  for (let cpus = 1; cpus <= HINT_MAX_CPUS; cpus += 1) {
    const h = hintHost(cpus);
    if (cpus <= host.cpus.value && h.memoryBytes <= host.memoryBytes.value) continue; // no bigger than this host
    const there = smallestServing(hypothetical(h.cpus, h.memoryBytes), intent, users);
    if (there) {
      // The table beside the hint lists the cluster on nodes like this one: say so when it serves too.
      const orCluster =
        cluster.ok && cluster.plan.capacity.concurrentUsers[0] >= users
          ? `; or the cluster tier on ${cluster.plan.nodes} nodes like this one (about ${cluster.plan.capacity.concurrentUsers[0]}–${cluster.plan.capacity.concurrentUsers[1]}, see \`carebox plan --tier cluster --users ${users}\`)`
          : '';
      return {
        users,
        needs: { ...h, tier: there.tier, nodes: 1 },
        message: `${serves}; ${users} need a host with ${h.cpus} CPUs and ${b(h.memoryBytes)} (${there.tier} tier, about ${there.plan.capacity.concurrentUsers[0]}–${there.plan.capacity.concurrentUsers[1]}; see \`carebox plan --users ${users} --cpus ${h.cpus} --memory ${h.memoryBytes / GiB}GiB\`)${orCluster}`,
      };
    }
  }
  if (cluster.ok && cluster.plan.capacity.concurrentUsers[0] >= users) {
    const p = cluster.plan;
    return {
      users,
      needs: { cpus: host.cpus.value, memoryBytes: host.memoryBytes.value, tier: 'cluster', nodes: p.nodes },
      message: `${serves}, and no single host up to ${HINT_MAX_CPUS} CPUs does; ${users} need the cluster tier (several hosts under Docker Swarm) on ${p.nodes} nodes like this one, about ${p.capacity.concurrentUsers[0]}–${p.capacity.concurrentUsers[1]} (see \`carebox plan --tier cluster --users ${users}\`)`,
    };
  }
  const nodes = clusterNodeSize(intent, users);
  if (nodes) {
    return {
      users,
      needs: { ...nodes.host, tier: 'cluster', nodes: nodes.plan.nodes },
      message: `${serves}, and no single host up to ${HINT_MAX_CPUS} CPUs does; ${users} need the cluster tier (several hosts under Docker Swarm) on ${nodes.plan.nodes} nodes with ${nodes.host.cpus} CPUs and ${b(nodes.host.memoryBytes)} each, about ${nodes.plan.capacity.concurrentUsers[0]}–${nodes.plan.capacity.concurrentUsers[1]} (see \`carebox plan --tier cluster --users ${users} --cpus ${nodes.host.cpus} --memory ${nodes.host.memoryBytes / GiB}GiB\`)`,
    };
  }
  return {
    users,
    needs: 'cluster',
    message: `${serves}; ${users} are beyond what Carebox plans for one cluster (${MAX_CLUSTER_NODES} nodes of up to ${HINT_MAX_CPUS} CPUs, one PostgreSQL primary): split the deployment across several clusters`,
  };
}

/** The smallest node size (hintHost family, from the cluster minimum) whose cluster plan serves `users`, or null. */
function clusterNodeSize(intent: Intent, users: number): { host: { cpus: number; memoryBytes: number }; plan: Plan } | null {
  const clusterIntent: Intent = { ...intent, tier: 'cluster', nodes: null };
  for (let cpus = TIER_SHAPES.cluster.minCpus; cpus <= HINT_MAX_CPUS; cpus += 1) {
    const h = hintHost(cpus);
    const r = sizeTier(hypothetical(h.cpus, h.memoryBytes), 'cluster', clusterIntent);
    if (r.ok && r.plan.capacity.concurrentUsers[0] >= users) return { host: h, plan: r.plan };
  }
  return null;
}

/**
 * The shortfall of a cluster plan whose node count does not serve the users: the smallest node
 * size (hintHost family) at which 64 nodes or fewer do, or 'cluster' when none does.
 */
function clusterShortfall(intent: Intent, plan: Plan): Shortfall {
  const users = intent.users!;
  const [low, high] = plan.capacity.concurrentUsers;
  const unit = staffUnit(intentProfile(intent));
  const serves = `${plan.nodes} nodes like this host serve about ${low}–${high} ${unit} (${plan.capacity.bottleneck} binds)`;
  const found = clusterNodeSize(intent, users);
  if (found) {
    return {
      users,
      needs: { ...found.host, tier: 'cluster', nodes: found.plan.nodes },
      message: `${serves}; ${users} need ${found.plan.nodes} nodes with ${found.host.cpus} CPUs and ${b(found.host.memoryBytes)} each (cluster tier, about ${found.plan.capacity.concurrentUsers[0]}–${found.plan.capacity.concurrentUsers[1]})`,
    };
  }
  return {
    users,
    needs: 'cluster',
    message: `${serves}; ${users} are beyond what Carebox plans for one cluster (${MAX_CLUSTER_NODES} nodes of up to ${HINT_MAX_CPUS} CPUs, one PostgreSQL primary): split the deployment across several clusters`,
  };
}

function minimumHint(tier: Tier): string {
  const s = TIER_SHAPES[tier];
  return `give the host at least ${s.minCpus} CPU${s.minCpus > 1 ? 's' : ''} and ${b(s.minMemoryBytes)} of memory usable by containers (check VM size and cgroup limits)${tier === 'default' ? '' : ', or choose a smaller tier'}`;
}

/**
 * {@link planCarebox} with a new install's defaults for what it runs besides the tier:
 *  - `alerts` (no `--alerts` given): Prometheus and Alertmanager in the stack where they fit, else
 *    the rules file only (`external`);
 *  - `backups` (no `--backup-at` given): the backup scheduler and its restore drill where they fit,
 *    else `manual` (backups when an admin, or the host's cron, runs `carebox backup`).
 * Scheduled backups go before in-stack monitoring: on a host too small for both, monitoring gives
 * way first. Each fallback is said in `plan.reasons`. What is not defaulted keeps the intent's value
 * (an explicit `--alerts stack` on a host too small for it is refused, as by planCarebox).
 * @returns the plan; its `intent.alerts` and `intent.backups` say what it holds.
 * @throws PreflightError as planCarebox, when the tier does not fit even with both fallbacks.
 */
export function planWithDefaults(host: PlanHost, intent: Intent, defaults: { alerts: boolean; backups: boolean }): Plan {
  const alertSteps: (AlertMode | undefined)[] = defaults.alerts ? ['stack', 'external'] : [intent.alerts];
  const backupSteps: (BackupMode | undefined)[] = defaults.backups ? ['scheduled', 'manual'] : [intent.backups];
  const candidates: Intent[] = [];
  for (const backups of backupSteps) for (const alerts of alertSteps) candidates.push({ ...intent, alerts, backups });
  let first: PreflightError | null = null;
  for (const [i, candidate] of candidates.entries()) {
    try {
      const plan = planCarebox(host, candidate);
      if (i === 0) return plan;
      const why = first!.message.replace(/^this host cannot run .*?: /, '');
      const reasons = [...plan.reasons];
      if (defaults.alerts && candidate.alerts === 'external') {
        reasons.push(
          `alerts external: Prometheus and Alertmanager do not fit beside the ${plan.tier} tier on this host (${why}); the rules file is rendered for the hospital's own Prometheus (a host with more memory runs them in the stack: --alerts stack)`,
        );
      }
      if (defaults.backups && candidate.backups === 'manual') {
        reasons.push(
          `backups manual: the scheduler and its restore drill (${b(SCHEDULER_BYTES + DRILL_BYTES)}) do not fit beside the ${plan.tier} tier on this host (${why}); run \`carebox backup\` from the host's cron (README: Operations), or give the host more memory`,
        );
      }
      return { ...plan, reasons };
    } catch (err) {
      if (!(err instanceof PreflightError)) throw err;
      first ??= err;
      if (i === candidates.length - 1) throw err;
    }
  }
  throw first!;
}
