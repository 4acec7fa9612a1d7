import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import type { Output } from '../../installer/commands/output.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { UsageError } from '../../installer/errors.js';
import { buildIntent } from '../../installer/plan/intent.js';
import type { Intent } from '../../installer/plan/plan.types.js';
import { applyRetier, previewRetier, type RetierPreview } from '../ops/retier.ops.js';
import { openStack } from '../ops/stack.js';
import { loadInteractiveUi } from '../../installer/ui/load.ui.js';
import { readProfile } from '../../installer/commands/plan.command.js';

/**
 * The intent of a re-tier from its flags. Without --pgbouncer the field is left unset so the
 * installed mode is kept (previewRetier falls back to the manifest's); buildIntent alone would
 * reset it to `auto`. @throws UsageError on bad flags.
 */
export function retierIntent(
  tier: string | undefined,
  raw: { users?: unknown; size?: unknown; pgbouncer?: unknown; thinkTime?: unknown; profile?: unknown },
): Intent {
  const built = buildIntent({
    tier,
    users: raw.users as string | undefined,
    size: raw.size as string | undefined,
    pgbouncer: raw.pgbouncer as string | undefined,
    thinkTime: raw.thinkTime as string | undefined,
    profile: typeof raw.profile === 'string' ? readProfile(raw.profile) : undefined,
  });
  if (raw.pgbouncer !== undefined) return built;
  const { pgbouncer: _dropped, ...rest } = built;
  return rest;
}

/** The preview as text: sizing changes, per-service actions, then every file's diff. Pure. */
export function formatRetierPreview(p: RetierPreview): string {
  const lines = [
    `Re-tier ${p.from} → ${p.to}: ${p.plan.reasons[0] ?? ''}`,
    `capacity ${p.plan.capacity.concurrentUsers[0]}–${p.plan.capacity.concurrentUsers[1]} ${p.plan.capacity.unit ?? 'active staff'} (estimate)`,
    '',
  ];
  lines.push(p.sizing.length ? 'Sizing changes:' : 'Sizing: unchanged');
  for (const s of p.sizing) lines.push(`  ${s.path.padEnd(44)} ${s.text}`);
  lines.push('', 'What happens to each service:');
  for (const a of p.actions) lines.push(`  ${a.service.padEnd(10)} ${a.action.padEnd(10)} ${a.detail}`);
  lines.push('', 'Files:');
  for (const d of p.fileDiffs)
    lines.push(`  ${d.status.padEnd(9)} ${d.path}${d.path === '.env' && d.status !== 'unchanged' ? ' (secrets: diff not shown)' : ''}`);
  for (const d of p.fileDiffs.filter((x) => x.diff)) lines.push('', d.diff.trimEnd());
  return lines.join('\n');
}

/**
 * `carebox retier [TIER] [--users N] [--dry-run] [--yes]`: plan for this host (facts refreshed),
 * show every file diff and sizing change, confirm (TTY) or take --yes, then apply as a rolling
 * change. Exit 0 done (or nothing to do, or --dry-run); 2 bad flags or no TTY without --yes;
 * 3 the host cannot run the tier; 4 new containers not healthy (rolled back); 1 other failures.
 */
export function registerRetier(program: Command, run: ActionRunner): void {
  withCommon(
    program
      .command('retier')
      .description('re-plan for another tier or user count and apply it as a rolling change')
      .argument('[TIER]', 'default, optimized, horizontal or cluster'),
  )
    .addOption(new Option('--users <N>', 'expected active staff: the smallest tier that serves them'))
    .addOption(new Option('--size <SIZE>', 'hospital size preset in active staff: small, medium, large, network'))
    .addOption(new Option('--think-time <SECONDS>', "mean pause between one person's actions (default: keep the installed profile's)"))
    .addOption(new Option('--profile <FILE>', 'workload profile JSON (default: keep the installed one)'))
    .addOption(new Option('--pgbouncer <MODE>', 'auto, on or off (default: keep the installed mode)'))
    .addOption(new Option('--dry-run', 'show the diff only; change nothing').default(false))
    .addOption(new Option('--yes', 'do not ask for confirmation (required without a TTY)').default(false))
    .addOption(new Option('--timeout <S>', 'seconds to wait for new containers to become healthy (default 300)'))
    .action(
      run(async (out: Output, raw, args) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const tier = args[0];
        if (!tier && raw.users === undefined && raw.size === undefined)
          throw new UsageError('retier needs a TIER or --users N', 'e.g. `carebox retier horizontal` or `carebox retier --users 400`');
        const intent = retierIntent(tier, raw);
        const timeoutMs = (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000;
        const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !out.json;
        const stack = await openStack(dir);
        const preview = await previewRetier(stack, intent);
        const doc = {
          from: preview.from,
          to: preview.to,
          sizing: preview.sizing,
          actions: preview.actions,
          files: preview.fileDiffs,
          preflight: preview.preflight,
          capacity: preview.plan.capacity,
        };
        // The preview is the result of a dry run and what a confirmation is about: stdout.
        out.print(formatRetierPreview(preview));
        if (raw.dryRun || preview.noop) {
          out.result({ ok: true, dryRun: Boolean(raw.dryRun), noop: preview.noop, ...doc });
          out.print(preview.noop ? `Nothing to change: the stack already runs this plan (tier ${preview.to}).` : 'Dry run: nothing was changed.');
          return 0;
        }
        if (!raw.yes) {
          if (!interactive)
            throw new UsageError(
              're-tiering changes the running stack and needs confirmation, but there is no TTY to ask',
              'review the diff (--dry-run), then rerun with --yes',
            );
          const { confirmPrompt } = await loadInteractiveUi(() => import('../../installer/ui/confirm.prompt.js'));
          if (!(await confirmPrompt(`Apply the re-tier ${preview.from} → ${preview.to} as a rolling change?`))) {
            out.print('Nothing was changed.');
            return 1;
          }
        }
        const r = await applyRetier(stack, preview, { timeoutMs }, plainReporter(out));
        out.result({ ok: true, dryRun: false, ...doc, applied: { files: r.files, postgresRestart: r.postgresRestart, tookMs: r.tookMs } });
        out.print(
          `Re-tiered ${r.from} → ${r.to} in ${(r.tookMs / 1000).toFixed(1)} s${r.postgresRestart ? ` (PostgreSQL restarted ${r.postgresRestart.when}, ${(r.postgresRestart.downtimeMs / 1000).toFixed(1)} s)` : ''}.`,
        );
        return 0;
      }),
    );
}
