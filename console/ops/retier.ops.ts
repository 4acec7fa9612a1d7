/**
 * `carebox retier T` / `retier --users N`: plan (with the host facts refreshed by detect), render,
 * show the diff of every file and every sizing change, then apply as a rolling change:
 *
 * 1. write the files (previous versions to backups/config-<UTC>/);
 * 2. PgBouncer first when the new plan adds it (new backends connect through it);
 * 3. PostgreSQL: settings that can be reloaded are reloaded; a restart (max_connections,
 *    shared_buffers, or a container change) is ordered so the pools never exceed the running
 *    max_connections: *before* the app roll when the limit grows, *after* it when it shrinks;
 * 4. Redis: maxclients/maxmemory set live (CONFIG SET); maxclients is raised to cover old + new
 *    clients while both run, and set to the plan's value afterwards;
 * 5. backend, then worker: {@link rollingReplace} — new containers (new config) healthy before old
 *    ones stop; how many run at once is bounded by the DB connection budget;
 * 6. nginx: `nginx -t` + reload (or a recreate when its container config changed);
 * 7. a settle `up --no-recreate` and a drift check (`docker compose config --hash` against the
 *    containers' labels): a plain `carebox install` afterwards recreates nothing;
 * 8. the manifest records the new plan, intent and facts, and a history entry (tier, time).
 */
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { ComposeCli } from '../../installer/runtime/compose.cli.js';
import { applyChange } from '../../installer/apply/change.apply.js';
import { exec } from '../../installer/apply/exec.js';
import type { FileChange } from '../../installer/apply/files.write.js';
import { writeFileAtomic } from '../../installer/apply/fs.atomic.js';
import type { OverlapBudget, Rollout, RolloutStep } from '../../installer/apply/rollout.js';
import { expectedReplicas } from '../../installer/plan/stack.services.js';
import { listStackContainers } from '../../installer/runtime/stack.containers.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { detectHost } from '../../installer/detect/host.detect.js';
import type { HostFacts } from '../../installer/detect/host-facts.js';
import { OperationError, PreflightError, UnhealthyError } from '../../installer/errors.js';
import type { Manifest } from '../../installer/manifest/manifest.js';
import { INSTALL_FILES } from '../../installer/paths.js';
import { stablePlanHost } from '../../installer/plan/host.stability.js';
import type { Intent, Plan, Tier } from '../../installer/plan/plan.types.js';
import { planCarebox } from '../../installer/plan/tier.plan.js';
import { preflightPassed, runPreflight, type CheckResult } from '../../installer/preflight/preflight.checks.js';
import type { RenderedFile } from '../../installer/render/render.js';
import { runtimeOf } from '../../installer/runtime/compose.runtime.js';
import { parseConfigHashes } from '../../installer/runtime/compose.drift.js';
import { sizingChanges, unifiedDiff, type SizingChange } from './diff.js';
import { assertSameVersion, currentContents, fileChecksums, renderForStack } from './stack.render.js';
import type { Stack } from './stack.js';
import { edgePorts } from '../../installer/apply/edge.tls.js';

/** PostgreSQL settings of the template that only a server restart applies (context `postmaster`). */
export const POSTMASTER_SETTINGS = [
  'max_connections',
  'superuser_reserved_connections',
  'shared_buffers',
  'wal_buffers',
  'max_worker_processes',
  'huge_pages',
  'dynamic_shared_memory_type',
  'listen_addresses',
  'port',
];

/** What the apply will do to one service. */
export interface ServiceAction {
  service: string;
  action: 'none' | 'roll' | 'scale' | 'reload' | 'restart' | 'recreate' | 'config-set' | 'start' | 'remove';
  /** One line: why and how. */
  detail: string;
}

/** One rendered file and how it changes. */
export interface FileDiff {
  path: string;
  status: 'created' | 'updated' | 'unchanged';
  /** Unified diff ('' when unchanged). `.env` is never shown, only whether it changes. */
  diff: string;
}

/** Everything decided before anything changes. */
export interface RetierPreview {
  from: Tier;
  to: Tier;
  intent: Intent;
  facts: HostFacts;
  plan: Plan;
  preflight: CheckResult[];
  files: RenderedFile[];
  fileDiffs: FileDiff[];
  sizing: SizingChange[];
  actions: ServiceAction[];
  /** Nothing would change. */
  noop: boolean;
}

/** `name = value` settings of a postgresql.conf text. Pure. */
export function parsePgConf(text: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of (text ?? '').split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(.*?)\s*(#.*)?$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Postmaster settings whose value differs between two postgresql.conf texts. Pure. */
export function postmasterChanges(before: string | null, after: string | null): string[] {
  const a = parsePgConf(before);
  const b = parsePgConf(after);
  return POSTMASTER_SETTINGS.filter((k) => a[k] !== b[k]);
}

/** Config hashes of a rendered compose.yml, as Compose computes them for this install root. */
async function hashesOf(compose: ComposeCli, composeYml: string): Promise<Record<string, string>> {
  // Paths in compose.yml are relative to the project directory, so the scratch file is read with
  // the install root as project directory: the hashes are the ones Compose will compute there.
  const scratch = await mkdtemp(join(tmpdir(), 'carebox-retier-'));
  try {
    await writeFileAtomic(join(scratch, 'compose.yml'), composeYml, 0o644);
    const r = await exec(
      [...compose.fact.command, '-p', compose.project, '--project-directory', compose.root, '-f', join(scratch, 'compose.yml'), 'config', '--hash', '*'],
      {
        cwd: compose.root,
        env: { ...compose.env, COMPOSE_ANSI: 'never' },
        timeoutMs: 60_000,
      },
    );
    return parseConfigHashes(r.stdout);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Plan a re-tier and compute what it changes. Changes nothing (Compose is asked for config
 * hashes of the new compose.yml in a scratch file).
 * @throws PreflightError (exit 3) when this host cannot run the new tier, naming the failed check;
 *   OperationError when the stack's .env lacks a secret or Compose cannot be run.
 */
export async function previewRetier(stack: Stack, intent: Intent): Promise<RetierPreview> {
  const m = stack.manifest;
  const facts = await detectHost({
    installRoot: stack.root,
    ports: edgePorts(m.http).map(({ port, bindAddress }) => ({ port, bindAddress })),
    env: stack.env,
    composeProject: m.project,
  });
  // An unchanged host plans with the recorded figures, exactly as a later `install` re-run will.
  const { host } = stablePlanHost(m.facts, facts);
  // The alert mode is the install's (a re-tier changes the tier, not whether monitoring runs); an
  // install from before alerts reads as `off`, as install's re-run reads it.
  const fullIntent: Intent = {
    ...intent,
    pgbouncer: intent.pgbouncer ?? m.intent.pgbouncer ?? 'auto',
    alerts: intent.alerts ?? m.intent.alerts ?? 'off',
    ...(m.intent.backups ? { backups: intent.backups ?? m.intent.backups } : {}),
  };
  // Without --think-time/--profile the installed workload profile is kept.
  if (!fullIntent.profile && m.intent.profile) fullIntent.profile = m.intent.profile;
  const plan = planCarebox(host, fullIntent);
  const preflight = runPreflight({
    facts,
    tier: fullIntent.tier,
    plan,
    planError: null,
    planHint: null,
    project: m.project,
    httpsPort: m.http.tls?.httpsPort ?? null,
  });
  if (!preflightPassed(preflight)) {
    const failed = preflight.filter((c) => c.status === 'fail');
    throw new PreflightError(
      `preflight failed for tier ${plan.tier}:\n${failed.map((c) => `  ✗ ${c.title}: found ${c.found}; needs ${c.needs}${c.fix ? `\n    fix: ${c.fix}` : ''}`).join('\n')}`,
      'fix the failed checks and rerun',
      { preflight },
    );
  }
  const files = await renderForStack(stack.root, m, plan, m.images);
  const current = await currentContents(stack.root, files);
  const fileDiffs: FileDiff[] = files.map((f) => {
    const before = current.get(f.path) ?? null;
    const status = before === null ? 'created' : before === f.content ? 'unchanged' : 'updated';
    return { path: f.path, status, diff: f.secret ? '' : unifiedDiff(f.path, before, f.content) };
  });
  const sizing = sizingChanges(m.plan.sizing, plan.sizing);
  const compose = files.find((f) => f.path === INSTALL_FILES.compose)!.content;
  const newHashes = await hashesOf(stack.compose, compose);
  const containers = await listStackContainers(stack.docker, m.project);
  const actions = serviceActions(m.plan, plan, newHashes, containers, fileDiffs, current, files);
  const noop = fileDiffs.every((d) => d.status === 'unchanged') && actions.every((a) => a.action === 'none');
  return { from: m.plan.tier, to: plan.tier, intent: fullIntent, facts, plan, preflight, files, fileDiffs, sizing, actions, noop };
}

/** Decide each service's action from config hashes and changed files. Pure. */
export function serviceActions(
  oldPlan: Plan,
  plan: Plan,
  newHashes: Record<string, string>,
  containers: { service: string; configHash: string | null; state: string; oneoff: boolean }[],
  fileDiffs: FileDiff[],
  current: Map<string, string | null>,
  files: RenderedFile[],
): ServiceAction[] {
  const fileChanged = (p: string) => fileDiffs.some((d) => d.path === p && d.status !== 'unchanged');
  const expected = expectedReplicas(plan);
  const out: ServiceAction[] = [];
  const services = [...new Set([...Object.keys(newHashes), ...containers.filter((c) => !c.oneoff).map((c) => c.service)])];
  for (const service of services) {
    const cs = containers.filter((c) => c.service === service && !c.oneoff);
    const want = newHashes[service];
    const staleCount = want ? cs.filter((c) => c.configHash !== want).length : 0;
    if (!want) {
      out.push({ service, action: 'remove', detail: `not in the ${plan.tier} plan: stopped and removed after the backends stop using it` });
      continue;
    }
    if (cs.length === 0) {
      out.push({ service, action: 'start', detail: `new in the ${plan.tier} plan: started before the backends that use it` });
      continue;
    }
    if (service === 'backend' || service === 'worker') {
      const n = expected[service] ?? 1;
      if (staleCount > 0)
        out.push({ service, action: 'roll', detail: `rolling: ${n} new container(s) with the new config healthy before the ${cs.length} old one(s) stop` });
      else if (cs.length !== n) out.push({ service, action: 'scale', detail: `${cs.length} → ${n} containers (config unchanged)` });
      else out.push({ service, action: 'none', detail: 'unchanged' });
      continue;
    }
    if (service === 'db') {
      const pm = postmasterChanges(current.get(INSTALL_FILES.postgres) ?? null, files.find((f) => f.path === INSTALL_FILES.postgres)?.content ?? null);
      const grows = plan.sizing.postgres.maxConnections >= oldPlan.sizing.postgres.maxConnections;
      const when = grows
        ? 'before the app roll (max_connections does not shrink)'
        : 'after the app roll (max_connections shrinks; the old pools must be gone first)';
      if (staleCount > 0)
        out.push({ service, action: 'recreate', detail: `container config changed (limits): PostgreSQL restarts with the new container ${when}` });
      else if (pm.length > 0) out.push({ service, action: 'restart', detail: `${pm.join(', ')} need a restart, ${when}; the rest reloads live` });
      else if (fileChanged(INSTALL_FILES.postgres)) out.push({ service, action: 'reload', detail: 'pg_reload_conf() (no restart)' });
      else out.push({ service, action: 'none', detail: 'unchanged' });
      continue;
    }
    if (service === 'redis') {
      if (staleCount > 0) out.push({ service, action: 'recreate', detail: 'container config changed: Redis restarts (append-only file keeps the queue)' });
      else if (fileChanged(INSTALL_FILES.redis))
        out.push({
          service,
          action: 'config-set',
          detail: `CONFIG SET maxclients ${plan.sizing.redis.maxClients}, maxmemory ${plan.sizing.redis.maxMemoryBytes} (live, no restart)`,
        });
      else out.push({ service, action: 'none', detail: 'unchanged' });
      continue;
    }
    if (service === 'nginx') {
      if (staleCount > 0)
        out.push({
          service,
          action: 'recreate',
          detail: 'container config changed: nginx is recreated (about a second of refused connections on the published port)',
        });
      else out.push({ service, action: 'reload', detail: '`nginx -t` in the running container, then a graceful reload (drops cached backend addresses)' });
      continue;
    }
    if (staleCount > 0) out.push({ service, action: 'recreate', detail: 'container config changed' });
    else if (fileChanged(INSTALL_FILES.pgbouncerIni)) out.push({ service, action: 'reload', detail: 'SIGHUP (pgbouncer reloads its ini)' });
    else out.push({ service, action: 'none', detail: 'unchanged' });
  }
  // nginx reloads only for its own file: it finds new and removed backends through DNS
  // (`resolve`), and a reload closes idle client keep-alive connections, which a client may be
  // reusing at that instant.
  const ng = out.find((a) => a.service === 'nginx');
  if (ng?.action === 'reload' && !fileChanged(INSTALL_FILES.nginx)) {
    ng.action = 'none';
    ng.detail = out.some((a) => a.service === 'backend' && a.action !== 'none') ? 'unchanged (finds the new backends through DNS, no reload)' : 'unchanged';
  }
  const order = ['pgbouncer', 'db', 'redis', 'backend', 'worker', 'nginx'];
  return out.sort((a, b) => order.indexOf(a.service) - order.indexOf(b.service));
}

/** DB connections one container of a service opens directly to PostgreSQL under a plan. Pure. */
export function directConnections(plan: Plan, service: 'backend' | 'worker'): number {
  if (plan.sizing.pgbouncer) return 0;
  return service === 'backend' ? plan.sizing.backend.workers * plan.sizing.backend.pool.max : plan.sizing.queue.pool.max;
}

/** Connections every plan reserves besides the app pools (console, migrations, superuser). Pure. */
export function fixedConnections(plan: Plan): number {
  return plan.budget.dbConnections.items.filter((i) => !/pools?$|server pool/.test(i.name)).reduce((s, i) => s + i.amount, 0);
}

/** PgBouncer's server pool against PostgreSQL under a plan (0 without PgBouncer). Pure. */
export function pgbouncerPool(plan: Plan): number {
  const p = plan.sizing.pgbouncer;
  return p ? p.defaultPoolSize + p.reservePoolSize : 0;
}

/** What a re-tier did. */
export interface RetierResult {
  from: Tier;
  to: Tier;
  files: FileChange[];
  actions: ServiceAction[];
  /** PostgreSQL restart (or recreate), if any: when, and how long the database was unavailable, ms. */
  postgresRestart: { when: 'before-roll' | 'after-roll'; downtimeMs: number } | null;
  manifest: Manifest;
  tookMs: number;
}

/** The service actions' verdict for one service. Pure. */
function actionOf(actions: readonly ServiceAction[], service: string): ServiceAction['action'] {
  return actions.find((a) => a.service === service)?.action ?? 'none';
}

/**
 * The DB connection budget while old and new tasks of `service` overlap in a re-tier: the backends
 * roll while the old workers hold their connections, then the workers roll next to the new
 * backends. Pure.
 */
export function overlapBudget(oldPlan: Plan, plan: Plan, service: 'backend' | 'worker'): OverlapBudget {
  const other =
    service === 'backend'
      ? { service: 'worker', perTask: directConnections(oldPlan, 'worker') }
      : { service: 'backend', perTask: directConnections(plan, 'backend') };
  return {
    fixed: Math.max(fixedConnections(oldPlan), fixedConnections(plan)),
    pgbouncerPool: Math.max(pgbouncerPool(plan), pgbouncerPool(oldPlan)),
    other,
    perStale: directConnections(oldPlan, service),
    perFresh: directConnections(plan, service),
  };
}

/**
 * The rollout of a re-tier (see the module doc for the order), from the preview's decisions and
 * the plan it replaces. Pure. The DB connection budget bounds how many old and new backends and
 * workers overlap; PostgreSQL restarts, when it must, at the one moment the pools fit.
 */
export function retierRollout(oldPlan: Plan, preview: Pick<RetierPreview, 'plan' | 'actions' | 'fileDiffs'>, images: Manifest['images']): Rollout {
  const plan = preview.plan;
  const act = (svc: string) => actionOf(preview.actions, svc);
  const s = plan.sizing;
  const maxConnections = s.postgres.maxConnections;
  const recreateDb = act('db') === 'recreate';
  const pgChanged = preview.fileDiffs.some((d) => d.path === INSTALL_FILES.postgres && d.status !== 'unchanged');
  const steps: RolloutStep[] = [];
  if (act('pgbouncer') === 'start') steps.push({ id: 'pgbouncer', title: 'Start PgBouncer', action: { kind: 'start', service: 'pgbouncer' } });
  if (!recreateDb && pgChanged) steps.push({ id: 'pg-reload', title: 'Reload PostgreSQL settings (pg_reload_conf)', action: { kind: 'pg-reload' } });
  const dbRestart = (when: 'before-roll' | 'after-roll'): RolloutStep => ({
    id: 'pg-restart',
    title: `Restart PostgreSQL ${when === 'before-roll' ? 'before' : 'after'} the app roll (max_connections {liveMaxConnections} → ${maxConnections})`,
    action: { kind: 'db-restart', when, recreate: recreateDb, maxConnections },
  });
  steps.push(dbRestart('before-roll'));
  steps.push(
    act('redis') === 'recreate'
      ? { id: 'redis', title: 'Recreate Redis with its new container config', action: { kind: 'recreate', service: 'redis' } }
      : {
          id: 'redis',
          title: 'Raise Redis maxclients for the overlap (CONFIG SET)',
          action: {
            kind: 'redis-overlap',
            limits: s.redis,
            oldMaxClients: oldPlan.sizing.redis.maxClients,
            demandOld: oldPlan.budget.redisConnections.demand,
            demandNew: plan.budget.redisConnections.demand,
          },
        },
  );
  // No nginx reload after the old backends stop: nginx re-resolves `backend` in the background
  // (`resolve`); the nginx step below reloads for nginx.conf's own changes.
  steps.push({
    id: 'backend',
    title: `Roll backend to ${s.backend.replicas} × ${s.backend.workers} worker(s)`,
    action: { kind: 'roll', service: 'backend', target: s.backend.replicas, budget: overlapBudget(oldPlan, plan, 'backend') },
  });
  steps.push({
    id: 'worker',
    title: `Roll worker to ${s.queue.replicas} × concurrency ${s.queue.concurrency}`,
    action: { kind: 'roll', service: 'worker', target: s.queue.replicas, budget: overlapBudget(oldPlan, plan, 'worker') },
  });
  steps.push(dbRestart('after-roll'));
  if (act('redis') !== 'recreate')
    steps.push({ id: 'redis-final', title: 'Set Redis limits of the new plan (CONFIG SET)', action: { kind: 'redis-limits', limits: s.redis } });
  if (act('pgbouncer') === 'remove')
    steps.push({
      id: 'pgbouncer-remove',
      title: 'Stop and remove PgBouncer (the new plan connects directly)',
      action: { kind: 'remove', service: 'pgbouncer' },
    });
  else if (act('pgbouncer') === 'reload')
    steps.push({ id: 'pgbouncer-reload', title: 'Reload PgBouncer', action: { kind: 'signal', service: 'pgbouncer', signal: 'HUP' }, quiet: true });
  // db is up to date by now, so converging pgbouncer recreates only pgbouncer.
  else if (act('pgbouncer') === 'recreate')
    steps.push({ id: 'pgbouncer-recreate', title: 'Recreate PgBouncer', action: { kind: 'converge', service: 'pgbouncer' }, quiet: true });
  if (act('nginx') === 'recreate') steps.push({ id: 'nginx', title: 'Recreate nginx', action: { kind: 'recreate', service: 'nginx' } });
  else if (act('nginx') !== 'none') steps.push({ id: 'nginx', title: 'Reload nginx (nginx -t first)', action: { kind: 'reload-nginx' } });
  return {
    steps,
    // The new containers were removed by the roll; with the previous files back, nginx serves its
    // previous config, Redis gets its previous limits, PostgreSQL re-reads its previous settings
    // (unless it already restarted with the new ones).
    restore: [{ kind: 'reload-nginx' }, { kind: 'redis-limits', limits: oldPlan.sizing.redis }, { kind: 'pg-reload', unlessRestarted: true }],
    after: [
      {
        id: 'settle',
        title: 'Check that Compose sees no drift',
        action: {
          kind: 'settle',
          replicas: { backend: s.backend.replicas, worker: s.queue.replicas },
          expected: expectedReplicas(plan, images),
          what: 're-tier',
        },
      },
    ],
  };
}

/** The manifest after a re-tier (`now` an ISO time). Pure. */
export function retieredManifest(m: Manifest, preview: RetierPreview, files: RenderedFile[], now: string): Manifest {
  const oldPlan = m.plan;
  const plan = preview.plan;
  return {
    ...m,
    appliedAt: now,
    facts: preview.facts,
    intent: preview.intent,
    plan,
    files: fileChecksums(files),
    scale: null,
    history: [
      ...m.history,
      {
        appliedAt: now,
        action: 'retier',
        tier: plan.tier,
        summary: `${oldPlan.tier} → ${plan.tier}: backend ${oldPlan.sizing.backend.replicas}×${oldPlan.sizing.backend.workers} → ${plan.sizing.backend.replicas}×${plan.sizing.backend.workers}, worker ${oldPlan.sizing.queue.replicas} → ${plan.sizing.queue.replicas}`,
      },
    ],
  };
}

/**
 * Apply a previewed re-tier as a rolling change (see the module doc for the order), through
 * applyChange with {@link retierRollout}.
 * @throws UnhealthyError (exit 4) when new containers do not become healthy (they are removed, the
 *   old ones keep serving, and the previous files are put back); OperationError on drift after the
 *   change or on Docker/Compose errors; OperationError when another operation holds the lock.
 */
export async function applyRetier(stack: Stack, preview: RetierPreview, opts: { timeoutMs: number }, reporter: StepReporter): Promise<RetierResult> {
  assertSameVersion(stack.manifest, 'retier');
  const t0 = Date.now();
  const m = stack.manifest;
  const r = await applyChange(
    runtimeOf(stack),
    {
      op: `retier ${preview.to}`,
      plan: preview.plan,
      files: preview.files,
      writeTitle: 'Write the new configuration (previous versions to backups/)',
      record: { title: 'Record the new tier (carebox.json)', manifest: (files, now) => retieredManifest(m, preview, files, now) },
      timeoutMs: opts.timeoutMs,
      failed: (err, observed) => {
        if (!(err instanceof UnhealthyError || err instanceof OperationError)) return err;
        return new (err instanceof UnhealthyError ? UnhealthyError : OperationError)(
          `re-tier to ${preview.to} failed and was stopped; the previous configuration files are back${observed.dbRestarted ? ' (PostgreSQL already runs the new settings)' : ''}:\n${err.message}`,
          err.hint ?? 'check `carebox status` and `carebox logs backend`, fix the cause and rerun',
        );
      },
    },
    retierRollout(m.plan, preview, m.images),
    reporter,
  );
  return {
    from: preview.from,
    to: preview.to,
    files: r.changes,
    actions: preview.actions,
    postgresRestart: r.observed.dbRestarted,
    manifest: r.manifest!,
    tookMs: Date.now() - t0,
  };
}
