/**
 * Every figure the renderers read, for any plan: a plan from this planner holds them all; a plan
 * recorded by an older Carebox (the manifest plan `upgrade` and the console render with) lacks the
 * ones added since, and gets them here from the same formulas the planner uses, so its files
 * render byte-identical to before. The renderers copy values from a CompletePlan and compute
 * nothing. Pure.
 */
import type { NginxUpstreamSizing, Plan, PlanSizing } from './plan.types.js';
import { pgSharedMemory } from './postgres.sizing.js';
import { stopGraceSeconds, workerShutdownTimeout, type StopGracePeriods } from './grace.sizing.js';
import { pidsLimits, type PidsLimits } from './pids.sizing.js';
import { LOG_FILE_BYTES, LOG_FILES, type LogLimits } from './logs.sizing.js';
import { drainIdleCloseMs, nginxTempBytes, nginxUpstream } from './service.sizing.js';
import { MIN_NGINX_VERSION } from './sizing.constants.js';
import { LEGACY_SCHEDULER_MEMORY_BYTES, SCHEDULER_CPUS, type SchedulerSizing } from './scheduler.sizing.js';

type Sizing = PlanSizing;

/** {@link PlanSizing} with every figure a renderer reads present. */
export type CompleteSizing = Omit<Sizing, 'backend' | 'queue' | 'postgres' | 'nginx' | 'stopGraceS' | 'pidsLimit' | 'logs' | 'scheduler'> & {
  backend: Sizing['backend'] & { drainIdleCloseMs: number };
  queue: Sizing['queue'] & { shutdownTimeoutMs: number };
  postgres: Sizing['postgres'] & { shmSizeBytes: number; walBuffersBytes: number; maxParallelMaintenanceWorkers: number };
  nginx: Sizing['nginx'] & { upstream: NginxUpstreamSizing; minVersion: string; tempBytes: number };
  stopGraceS: StopGracePeriods;
  pidsLimit: PidsLimits;
  /** The plan's log limits; without them Docker's example 10 MiB × 5 (diskBytes then unknown). */
  logs: LogLimits & { diskBytes?: number };
  /**
   * The scheduler service's figures: the plan's, or for a plan from before scheduled backups entered
   * the budget, the limits such stacks ran with (LEGACY_SCHEDULER_MEMORY_BYTES, SCHEDULER_CPUS, no
   * drill in the budget). Whether the stack runs a scheduler is still `intent.backups`'s to say.
   */
  scheduler: SchedulerSizing;
};

/** A {@link Plan} whose sizing holds every figure a renderer reads. */
export type CompletePlan = Omit<Plan, 'sizing'> & { sizing: CompleteSizing };

/**
 * The plan's upstream keep-alive settings, or (for a plan recorded before it had them) the same
 * derivation from the plan's own figures: the high estimate of users per node, nginx's workers and
 * worker_connections. Pure.
 */
export function nginxUpstreamFor(plan: Plan): NginxUpstreamSizing {
  const n = plan.sizing.nginx;
  if (n.upstream) return n.upstream;
  const nodes = Math.max(1, plan.nodes ?? 1);
  return nginxUpstream(plan.capacity.concurrentUsers[1] / nodes, n.workerProcesses, n.workerConnections).value;
}

/**
 * `plan` with every figure a renderer reads: the plan's own where present, else derived as the
 * planner derives it (see each field's docstring in plan.types.ts). Returns a new object; `plan` is
 * not changed. Pure and deterministic.
 */
export function completePlan(plan: Plan): CompletePlan {
  const s = plan.sizing;
  const pg = s.postgres;
  const shared = pgSharedMemory(pg.limits.memoryBytes, pg.sharedBuffersBytes, pg.maxParallelWorkersPerGather);
  const upstream = nginxUpstreamFor(plan);
  const pids = s.pidsLimit ?? (Object.fromEntries(Object.entries(pidsLimits(s)).map(([k, v]) => [k, v.value])) as unknown as PidsLimits);
  const legacyScheduler: SchedulerSizing = { memoryBytes: LEGACY_SCHEDULER_MEMORY_BYTES, cpus: SCHEDULER_CPUS, drillMemoryBytes: 0 };
  return {
    ...plan,
    sizing: {
      ...s,
      backend: { ...s.backend, drainIdleCloseMs: s.backend.drainIdleCloseMs ?? drainIdleCloseMs(upstream.keepaliveTimeoutS).value },
      queue: { ...s.queue, shutdownTimeoutMs: s.queue.shutdownTimeoutMs ?? workerShutdownTimeout(s.shutdownTimeoutMs).value },
      postgres: {
        ...pg,
        shmSizeBytes: pg.shmSizeBytes ?? shared.shmSizeBytes.value,
        walBuffersBytes: pg.walBuffersBytes ?? shared.walBuffersBytes.value,
        maxParallelMaintenanceWorkers: pg.maxParallelMaintenanceWorkers ?? shared.maxParallelMaintenanceWorkers.value,
      },
      nginx: {
        ...s.nginx,
        upstream,
        minVersion: s.nginx.minVersion ?? MIN_NGINX_VERSION,
        tempBytes: s.nginx.tempBytes ?? nginxTempBytes(s.bodyLimitBytes).value,
      },
      stopGraceS: s.stopGraceS ?? stopGraceSeconds(s.shutdownTimeoutMs),
      pidsLimit: pids,
      logs: s.logs ?? { driver: 'json-file', maxSizeBytes: LOG_FILE_BYTES, maxFiles: LOG_FILES },
      scheduler: s.scheduler ?? legacyScheduler,
    },
  };
}
