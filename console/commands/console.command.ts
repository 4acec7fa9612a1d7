import type { Command } from 'commander';
import { Option } from 'commander';
import type Docker from 'dockerode';
import { connectDocker } from '../../installer/runtime/docker.connect.js';
import { formatBytes } from '../../installer/detect/size.js';
import { requireManifest } from '../../installer/manifest/manifest.js';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, numberFlag, withCommon } from '../../installer/commands/common.options.js';
import { UsageError } from '../../installer/errors.js';
import { buildIntent } from '../../installer/plan/intent.js';
import type { Intent, Tier } from '../../installer/plan/plan.types.js';
import { MAX_SCALE_REPLICAS, SCALABLE_SERVICES, type ScalableService } from '../../installer/plan/scale.resize.js';
import { formatLogLine, serviceLogs } from '../ops/logs.ops.js';
import { restartService } from '../ops/restart.ops.js';
import { applyRetier, previewRetier, type RetierPreview } from '../ops/retier.ops.js';
import { previewScale, scaleService, type ScalePreview } from '../ops/scale.ops.js';
import { openStack, type Stack } from '../ops/stack.js';
import type { ConsoleActions } from '../ui/console.actions.js';
import { DashboardFeed, dockerDashboardSource } from '../ui/dashboard.feed.js';
import { loadInteractiveUi } from '../../installer/ui/load.ui.js';

/** Refresh interval of the dashboard when --interval is absent, seconds. */
export const DEFAULT_INTERVAL_S = 2;

/** How long a dashboard scale or restart waits for containers to become healthy, ms (the verbs' default). */
export const OP_HEALTH_TIMEOUT_MS = 300_000;

/**
 * Refuse to mount the dashboard without a terminal: Ink needs raw mode on stdin and a TTY on
 * stdout ("Raw mode is not supported" otherwise), and `--json` asks for a document, not a UI.
 * @throws UsageError (exit 2) pointing at `carebox status --json`.
 */
export function assertInteractive(io: { stdinTTY: boolean | undefined; stdoutTTY: boolean | undefined; json: boolean }): void {
  if (io.json)
    throw new UsageError('carebox console is an interactive dashboard and has no --json output', 'use `carebox status --json` for one JSON document');
  if (!io.stdinTTY || !io.stdoutTTY) {
    throw new UsageError(
      'carebox console needs an interactive terminal (stdin and stdout must be a TTY)',
      'use `carebox status --json` in scripts, pipes and CI',
    );
  }
}

/** The confirmation lines of a scale: replicas, and the DB-connection and memory budgets after it. Pure. */
export function scalePreviewLines(p: ScalePreview): string[] {
  const b = p.check.plan.budget;
  const [low, high] = p.check.plan.capacity.concurrentUsers;
  return [
    `${p.service}: ${p.from} → ${p.to} replicas`,
    `DB connections after: ${b.dbConnections.demand} of ${b.dbConnections.limit}; memory: ${formatBytes(b.memoryBytes.demand)} of ${formatBytes(b.memoryBytes.limit)}`,
    `estimated capacity after: ${low}–${high} ${p.check.plan.capacity.unit ?? 'active staff'}`,
  ];
}

/**
 * The confirmation lines of a re-tier: the new tier and why, capacity, what happens to each service
 * that changes, and how many sizing values and files change (the full diff is
 * `carebox retier T --dry-run`). Pure.
 */
export function retierPreviewLines(p: RetierPreview): string[] {
  const [low, high] = p.plan.capacity.concurrentUsers;
  const files = p.fileDiffs.filter((d) => d.status !== 'unchanged').length;
  return [
    `${p.from} → ${p.to}: ${p.plan.reasons[0] ?? ''}`.trim(),
    `estimated capacity after: ${low}–${high} ${p.plan.capacity.unit ?? 'active staff'}`,
    ...p.actions.filter((a) => a.action !== 'none').map((a) => `${a.service}: ${a.action} — ${a.detail}`),
    `${p.sizing.length} sizing value${p.sizing.length === 1 ? '' : 's'} and ${files} file${files === 1 ? '' : 's'} change; \`carebox retier ${p.to} --dry-run\` shows every diff`,
  ];
}

/** How long a previewed re-tier stays valid for the confirmation that follows it, ms. */
const PREVIEW_TTL_MS = 10 * 60_000;

/**
 * The dashboard's key actions wired to the console ops (console/ops/*.ops.ts), the same functions
 * the CLI verbs call (`carebox scale`, `restart`, `logs`, `retier`). Each action opens the stack
 * afresh, so it sees the manifest as the previous action left it. A re-tier applies exactly the
 * preview the operator confirmed (kept for 10 minutes); its intent carries no PgBouncer mode, so
 * the op keeps the installed one.
 * @param deps.docker the dashboard's client (for logs); deps.dir the install root;
 *   deps.open opens the stack (injected by tests; default openStack).
 */
export function consoleActions(deps: { docker: Docker; dir: string; open?: (dir: string) => Promise<Stack> }): ConsoleActions {
  const open = deps.open ?? ((dir: string) => openStack(dir));
  const intentFor = (tier: Tier): Intent => {
    const { pgbouncer: _auto, ...intent } = buildIntent({ tier });
    return intent;
  };
  let confirmed: { tier: Tier; stack: Stack; preview: RetierPreview; at: number } | null = null;
  return {
    scalableServices: SCALABLE_SERVICES,
    maxReplicas: MAX_SCALE_REPLICAS,
    async previewScale(service, replicas) {
      const m = await requireManifest(deps.dir);
      return scalePreviewLines(previewScale(m, { service: service as ScalableService, replicas, overcommit: false }));
    },
    async scale(service, replicas, progress) {
      const stack = await open(deps.dir);
      const r = await scaleService(stack, { service: service as ScalableService, replicas, overcommit: false, timeoutMs: OP_HEALTH_TIMEOUT_MS }, progress);
      return r.noop ? `${r.service} already runs ${r.to}: nothing changed` : `scaled ${r.service} ${r.from} → ${r.to} in ${(r.tookMs / 1000).toFixed(1)} s`;
    },
    async restart(service, progress) {
      const stack = await open(deps.dir);
      const r = await restartService(stack, { service, timeoutMs: OP_HEALTH_TIMEOUT_MS }, progress);
      return `restarted ${r.service} (${r.strategy}, ${r.containers.length} container${r.containers.length === 1 ? '' : 's'}) in ${(r.tookMs / 1000).toFixed(1)} s`;
    },
    async previewRetier(tier) {
      const stack = await open(deps.dir);
      const preview = await previewRetier(stack, intentFor(tier));
      confirmed = { tier, stack, preview, at: Date.now() };
      return { lines: retierPreviewLines(preview), noop: preview.noop };
    },
    async retier(tier, progress) {
      const fresh = confirmed && confirmed.tier === tier && Date.now() - confirmed.at < PREVIEW_TTL_MS ? confirmed : null;
      confirmed = null;
      const stack = fresh?.stack ?? (await open(deps.dir));
      const preview = fresh?.preview ?? (await previewRetier(stack, intentFor(tier)));
      const r = await applyRetier(stack, preview, { timeoutMs: OP_HEALTH_TIMEOUT_MS }, progress);
      const pg = r.postgresRestart ? `; PostgreSQL restarted ${r.postgresRestart.when}, ${(r.postgresRestart.downtimeMs / 1000).toFixed(1)} s down` : '';
      return `re-tiered ${r.from} → ${r.to} in ${(r.tookMs / 1000).toFixed(1)} s${pg}`;
    },
    async logs(service, tail) {
      const lines: string[] = [];
      await serviceLogs(deps.docker, await requireManifest(deps.dir), { service, tail, follow: false }, (l) => lines.push(formatLogLine(l)));
      return lines;
    },
  };
}

/**
 * `carebox console [--interval S]`: the Ink dashboard (services, backend metrics with sparklines,
 * keys to scale, restart, tail logs and re-tier). TTY only: without one it exits 2 and points at
 * `carebox status --json`.
 */
export function registerConsole(program: Command, run: ActionRunner): void {
  withCommon(
    program.command('console').description('live dashboard: services, health, resource use, request metrics; keys to scale, restart, tail logs, re-tier'),
  )
    .addOption(new Option('--interval <S>', `seconds between refreshes, 1–60 (default ${DEFAULT_INTERVAL_S})`))
    .action(
      run(async (_out, raw) => {
        const { dir, json } = commonOptions(raw as { dir?: string; json?: boolean });
        const intervalS = numberFlag('--interval', raw.interval as string | undefined, 1, 60) ?? DEFAULT_INTERVAL_S;
        assertInteractive({ stdinTTY: process.stdin.isTTY, stdoutTTY: process.stdout.isTTY, json });
        await requireManifest(dir); // a missing install is reported before anything mounts
        const { docker } = await connectDocker();
        const feed = new DashboardFeed(
          dockerDashboardSource(docker, () => requireManifest(dir), { root: dir }),
          { intervalMs: intervalS * 1000 },
        );
        const { runConsoleUi } = await loadInteractiveUi(() => import('../ui/console.ui.js'));
        feed.start();
        try {
          return await runConsoleUi(feed, consoleActions({ docker, dir }), { logsRefreshMs: Math.max(2000, intervalS * 1000) });
        } finally {
          feed.stop();
        }
      }),
    );
}
