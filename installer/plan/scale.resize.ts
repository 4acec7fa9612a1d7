/**
 * `carebox scale`: a plan with other replica counts, re-checked against the budgets of DESIGN.md's
 * invariants. Pure: no I/O. Used by the scale operation and by `install`, which keeps a recorded
 * scale on a re-run of the same tier.
 */
import type { PlanHost } from '../detect/host-facts.js';
import { checkBudgets, computeBudgets, type BudgetHost, type BudgetViolation } from './budget.check.js';
import { estimateForSizing, planCapacity, planProfile } from './capacity.estimate.js';
import { b } from './derived.js';
import type { Plan } from './plan.types.js';
import { osHeadroom } from './tier.plan.js';

/** Services `carebox scale` changes. Every other service runs exactly one container. */
export const SCALABLE_SERVICES = ['backend', 'worker'] as const;
export type ScalableService = (typeof SCALABLE_SERVICES)[number];

/** Most replicas `scale` accepts for one service (a sanity bound; the budgets decide below it). */
export const MAX_SCALE_REPLICAS = 32;

/** Budgets about CPU time only: exceeding them makes the stack slower, never broken. */
const CPU_BUDGETS = new Set(['workerProcesses', 'nginxWorkers', 'backend.cpus', 'queue.cpus', 'postgres.cpus', 'redis.cpus', 'nginx.cpus']);

/** The outcome of a scale check. */
export interface ScaleCheck {
  /** The plan with the new replica counts, budgets and capacity estimate. */
  plan: Plan;
  /** Every violated budget of the new sizing. */
  violations: BudgetViolation[];
  /** Violations that refuse the scale under the given terms (empty: the scale may proceed). */
  blocking: BudgetViolation[];
  /** Violations accepted because the admin passed `overcommit` (CPU time, PostgreSQL page cache). */
  accepted: BudgetViolation[];
}

/**
 * The figures budgets are checked against, from recorded host facts: usable CPUs, and usable
 * memory minus the planner's OS headroom (the same limit the planner proved the plan against).
 */
export function budgetHostOf(facts: Pick<PlanHost, 'cpus' | 'memoryBytes'>): BudgetHost {
  const mem = facts.memoryBytes.value;
  return { cpus: facts.cpus.value, memoryLimitBytes: mem - osHeadroom(mem).value };
}

/**
 * How many bytes of PostgreSQL's container limit are page cache rather than its own working
 * memory: limit − (shared_buffers + max_connections × (work_mem + overhead) + maintenance + fixed).
 * The kernel reclaims page cache under pressure, so extra replicas may borrow it without an OOM
 * risk (PostgreSQL reads get slower instead). Never negative.
 */
export function postgresCacheShare(plan: Plan): number {
  return Math.max(0, plan.sizing.postgres.limits.memoryBytes - plan.budget.postgresMemoryBytes.demand);
}

/**
 * Re-plan `plan` with new replica counts and re-check every budget against `host`.
 *
 * - DB connections, PgBouncer clients, Redis clients and PostgreSQL's own memory always refuse.
 * - CPU budgets (web processes vs usable CPUs, container CPU limits) refuse unless `overcommit`.
 * - The host memory budget refuses unless `overcommit` *and* the overrun fits in PostgreSQL's page
 *   cache share ({@link postgresCacheShare}); memory beyond that always refuses.
 *
 * @param replicas new counts; services not named keep theirs.
 * @returns the resized plan and the violations, split into blocking and accepted. Never throws.
 */
export function resizeReplicas(plan: Plan, replicas: Partial<Record<ScalableService, number>>, host: BudgetHost, opts: { overcommit: boolean }): ScaleCheck {
  const sizing = structuredClone(plan.sizing);
  if (replicas.backend !== undefined) sizing.backend.replicas = replicas.backend;
  if (replicas.worker !== undefined) sizing.queue.replicas = replicas.worker;
  const budget = computeBudgets(sizing, host, plan.nodes);
  const profile = planProfile(plan);
  const capacity = estimateForSizing(sizing, host.cpus, plan.nodes, profile);
  const next: Plan = {
    ...plan,
    sizing,
    budget,
    capacity: { ...planCapacity(capacity, profile), measured: plan.capacity.measured },
    derivations: {
      ...plan.derivations,
      'sizing.backend.replicas': `${sizing.backend.replicas} set by \`carebox scale\` (planned ${plan.sizing.backend.replicas}: ${plan.derivations['sizing.backend.replicas'] ?? 'planner'})`,
      'sizing.queue.replicas': `${sizing.queue.replicas} set by \`carebox scale\` (planned ${plan.sizing.queue.replicas})`,
      'capacity.concurrentUsers': capacity.derivation,
    },
  };
  const violations = checkBudgets(sizing, host, plan.nodes);
  const cacheShare = postgresCacheShare(next);
  const blocking: BudgetViolation[] = [];
  const accepted: BudgetViolation[] = [];
  for (const v of violations) {
    const soft = CPU_BUDGETS.has(v.budget) || (v.budget === 'memoryBytes' && v.demand - v.limit <= cacheShare);
    if (soft && opts.overcommit) accepted.push(v);
    else if (v.budget === 'memoryBytes' && v.demand - v.limit > cacheShare) {
      blocking.push({
        ...v,
        message: `${v.message}; the overrun ${b(v.demand - v.limit)} is more than PostgreSQL's page cache share ${b(cacheShare)}, so not even --overcommit can take it`,
      });
    } else blocking.push(v);
  }
  return { plan: next, violations, blocking, accepted };
}

/** Whether a violation can be accepted with `--overcommit` (for hints). Pure. */
export function overcommitWouldAccept(check: ScaleCheck): boolean {
  return (
    check.blocking.length > 0 &&
    check.blocking.every((v) => CPU_BUDGETS.has(v.budget) || (v.budget === 'memoryBytes' && !/not even --overcommit/.test(v.message)))
  );
}
