/**
 * `carebox scale backend=N` (or worker=N): re-check the plan's budgets with the new replica count
 * against the manifest's host facts, refuse with the violated budget (exit 3) when they do not
 * fit, otherwise scale without recreating existing containers, wait healthy, reload nginx, and
 * record the count in the manifest (plan.sizing, budgets, re-rendered compose.yml deploy.replicas,
 * a `scale` override that a later `install` of the same tier keeps, and a history entry).
 */
import { applyChange } from '../../installer/apply/change.apply.js';
import type { FileChange } from '../../installer/apply/files.write.js';
import type { Rollout, RolloutAction } from '../../installer/apply/rollout.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { PreflightError, UsageError } from '../../installer/errors.js';
import type { Manifest } from '../../installer/manifest/manifest.js';
import type { Plan } from '../../installer/plan/plan.types.js';
import {
  budgetHostOf,
  MAX_SCALE_REPLICAS,
  overcommitWouldAccept,
  resizeReplicas,
  SCALABLE_SERVICES,
  type ScalableService,
  type ScaleCheck,
} from '../../installer/plan/scale.resize.js';
import { planCarebox } from '../../installer/plan/tier.plan.js';
import type { RenderedFile } from '../../installer/render/render.js';
import { runtimeOf } from '../../installer/runtime/compose.runtime.js';
import type { ServiceTask } from '../../installer/runtime/stack.runtime.js';
import { assertSameVersion, fileChecksums, renderForStack } from './stack.render.js';
import type { Stack } from './stack.js';

/** A scale request, validated. */
export interface ScaleRequest {
  service: ScalableService;
  replicas: number;
  /** Accept CPU oversubscription (and memory borrowed from PostgreSQL's page cache share). */
  overcommit: boolean;
  /** Health wait, ms. */
  timeoutMs: number;
}

/**
 * Parse `SERVICE=N` (the CLI's positional argument).
 * @throws UsageError for another shape, an unscalable service, or N outside 1..32.
 */
export function parseScaleArg(arg: string): { service: ScalableService; replicas: number } {
  const m = /^([a-z]+)=(\d+)$/.exec(arg.trim());
  if (!m) throw new UsageError(`expected SERVICE=N, e.g. backend=3, got '${arg}'`);
  const service = m[1] as ScalableService;
  if (!SCALABLE_SERVICES.includes(service))
    throw new UsageError(
      `${m[1]} cannot be scaled`,
      `scalable services: ${SCALABLE_SERVICES.join(', ')} (db, redis, nginx and pgbouncer run exactly one container)`,
    );
  const replicas = Number(m[2]);
  if (replicas < 1 || replicas > MAX_SCALE_REPLICAS)
    throw new UsageError(
      `${service} replicas must be between 1 and ${MAX_SCALE_REPLICAS}, got ${replicas}`,
      replicas === 0 ? 'to stop the stack use `carebox uninstall` (data is kept)' : null,
    );
  return { service, replicas };
}

/** Current replica count of a scalable service in a plan. Pure. */
export function plannedReplicas(plan: Plan, service: ScalableService): number {
  return service === 'backend' ? plan.sizing.backend.replicas : plan.sizing.queue.replicas;
}

/** The budget check of a scale, before anything changes. */
export interface ScalePreview {
  service: ScalableService;
  from: number;
  to: number;
  check: ScaleCheck;
}

/** A violated budget for scripts: the budget's key in `plan.budget`, demand and limit in `unit`. */
export interface ScaleViolation {
  /** Key in `budget`, e.g. `dbConnections`, `memoryBytes`, `workerProcesses`, `backend.cpus`. */
  budget: string;
  demand: number;
  limit: number;
  unit: 'bytes' | 'connections' | 'processes' | 'cpus';
  message: string;
}

function structuredViolation(v: { budget: string; demand: number; limit: number; message: string }): ScaleViolation {
  const u: ScaleViolation['unit'] = /memory/i.test(v.budget)
    ? 'bytes'
    : /cpus$/i.test(v.budget)
      ? 'cpus'
      : /connections|clients/i.test(v.budget)
        ? 'connections'
        : 'processes';
  return { budget: v.budget, demand: v.demand, limit: v.limit, unit: u, message: v.message };
}

/** What a refused scale's PreflightError carries in `details`: the same `budget` as a scale's success document. */
export interface ScaleRefusalDetails {
  service: ScalableService;
  from: number;
  to: number;
  violations: ScaleViolation[];
  /** Every budget of the plan with the requested count (`plan.budget`'s shape: demand, limit, items). */
  budget: Plan['budget'];
}

/**
 * Check a scale against the manifest's host facts. Pure.
 * @throws PreflightError (exit 3) naming every violated budget with demand, limit and items; the
 *   hint says whether `--overcommit` would accept it. `details` is a {@link ScaleRefusalDetails}.
 */
export function previewScale(m: Manifest, req: Omit<ScaleRequest, 'timeoutMs'>): ScalePreview {
  const from = plannedReplicas(m.plan, req.service);
  const check = resizeReplicas(m.plan, { [req.service]: req.replicas }, budgetHostOf(m.facts), { overcommit: req.overcommit });
  if (check.blocking.length > 0) {
    const lines = check.blocking.map((v) => `  ✗ ${v.message}`);
    throw new PreflightError(
      `scaling ${req.service} ${from} → ${req.replicas} does not fit the plan's budgets on this host:\n${lines.join('\n')}`,
      overcommitWouldAccept(check) && !req.overcommit
        ? 'only CPU time (and PostgreSQL page cache) is over: --overcommit accepts that for redundancy, at the cost of throughput; or re-tier with `carebox retier`'
        : 'choose fewer replicas, or move to a bigger host and `carebox retier` (the planner sizes every pool for it)',
      { service: req.service, from, to: req.replicas, violations: check.blocking.map(structuredViolation), budget: check.plan.budget },
    );
  }
  return { service: req.service, from, to: req.replicas, check };
}

/** What a scale did. */
export interface ScaleResult {
  service: ScalableService;
  from: number;
  to: number;
  /** Budgets exceeded with the admin's consent (--overcommit). */
  overcommitted: string[];
  files: FileChange[];
  manifest: Manifest;
  tookMs: number;
  /** True when the count was already in place: nothing was rendered, written, reloaded or recorded. */
  noop: boolean;
}

/**
 * The rollout of a scale, from the service's tasks now. Pure.
 * Scale-up adds tasks next to the running ones (stopped leftovers are removed first: they are not
 * part of the count); scale-down stops the stopped ones first, then the highest-numbered. Either
 * way the changed files are applied live afterwards (nginx only when nginx.conf changed).
 */
export function scaleRollout(service: ScalableService, from: number, to: number, tasks: readonly Pick<ServiceTask, 'id' | 'number' | 'state'>[]): Rollout {
  const running = tasks.filter((c) => c.state === 'running');
  const title = `Scale ${service} ${from} → ${to}`;
  const action: RolloutAction =
    to > running.length
      ? { kind: 'scale-up', service, replicas: to, removeFirst: tasks.filter((c) => c.state !== 'running').map((c) => c.id) }
      : {
          kind: 'scale-down',
          service,
          replicas: to,
          remove: [...tasks]
            .sort((a, b) => Number(a.state === 'running') - Number(b.state === 'running') || b.number - a.number)
            .slice(0, tasks.length - to)
            .map((c) => ({ id: c.id, number: c.number })),
        };
  return {
    steps: [{ id: 'scale', title, action }],
    restore: [],
    after: [{ id: 'config', title: 'Apply configuration (nginx -t and reload)', action: { kind: 'live-config' } }],
  };
}

/** The manifest after a scale to `plan`'s counts (`now` an ISO time). Pure. */
export function scaledManifest(m: Manifest, preview: ScalePreview, overcommit: boolean, files: RenderedFile[], now: string): Manifest {
  const plan = preview.check.plan;
  const planned = plannedCounts(m);
  const counts = { backend: plan.sizing.backend.replicas, worker: plan.sizing.queue.replicas };
  const atPlan = planned !== null && planned.backend === counts.backend && planned.worker === counts.worker;
  const overcommitted = preview.check.accepted.map((v) => v.budget);
  return {
    ...m,
    appliedAt: now,
    plan,
    files: fileChecksums(files),
    scale: atPlan ? null : { tier: plan.tier, replicas: counts, overcommit: overcommit && overcommitted.length > 0, appliedAt: now },
    history: [
      ...m.history,
      {
        appliedAt: now,
        action: 'scale',
        tier: plan.tier,
        summary: `${preview.service} ${preview.from} → ${preview.to}${overcommitted.length ? ` (overcommit: ${overcommitted.join(', ')})` : ''}`,
      },
    ],
  };
}

/**
 * Scale a service. A count already in place with every replica running changes nothing
 * (`noop: true`). Existing containers are never recreated: scale-up adds containers with
 * `up --no-recreate --scale`; scale-down stops the highest-numbered ones gracefully (SIGTERM,
 * drain) and removes them. Runs through applyChange with {@link scaleRollout}.
 * @throws PreflightError (exit 3) when the budgets do not fit (nothing changed);
 *   UnhealthyError (exit 4) when new containers do not become healthy (they are removed again,
 *   the files restored, and the stack keeps its previous count); OperationError on Docker errors.
 */
export async function scaleService(stack: Stack, req: ScaleRequest, reporter: StepReporter): Promise<ScaleResult> {
  const t0 = Date.now();
  const preview = previewScale(stack.manifest, req);
  const rt = runtimeOf(stack);
  // Already at this count with every replica running: a no-op changes nothing (no nginx reload, no
  // carebox.json rewrite, no config-<UTC> backup counting against the 50 kept).
  if (preview.from === preview.to) {
    const running = (await rt.tasks(req.service)).filter((c) => c.state === 'running').length;
    if (running === preview.to) {
      reporter.skip('scale', `Scale ${req.service} ${preview.from} → ${preview.to}`, `${req.service} already runs ${preview.to}: nothing changed`);
      return {
        service: req.service,
        from: preview.from,
        to: preview.to,
        overcommitted: [],
        files: [],
        manifest: stack.manifest,
        tookMs: Date.now() - t0,
        noop: true,
      };
    }
  }
  assertSameVersion(stack.manifest, 'scale');
  const m = stack.manifest;
  const plan = preview.check.plan;
  const op = `scale ${req.service}=${req.replicas}`;
  const r = await rt.withLock(op, async () =>
    applyChange(
      rt,
      {
        op,
        plan,
        files: { title: 'Render the configuration for the new count', render: () => renderForStack(stack.root, m, plan, m.images) },
        record: { title: 'Record the new count (carebox.json)', manifest: (files, now) => scaledManifest(m, preview, req.overcommit, files, now) },
        timeoutMs: req.timeoutMs,
      },
      scaleRollout(req.service, preview.from, req.replicas, await rt.tasks(req.service)),
      reporter,
    ),
  );
  return {
    service: req.service,
    from: preview.from,
    to: req.replicas,
    overcommitted: preview.check.accepted.map((v) => v.budget),
    files: r.changes,
    manifest: r.manifest!,
    tookMs: Date.now() - t0,
    noop: false,
  };
}

/** The planner's own counts for the manifest's facts and intent, or null when it cannot plan. */
function plannedCounts(m: Manifest): { backend: number; worker: number } | null {
  try {
    const p = planCarebox(m.facts, m.intent);
    return p.tier === m.plan.tier ? { backend: p.sizing.backend.replicas, worker: p.sizing.queue.replicas } : null;
  } catch {
    return null;
  }
}
