import type { Command } from 'commander';
import { Option } from 'commander';
import { UsageError } from '../errors.js';
import { buildIntent } from '../plan/intent.js';
import { assertPreflight, installSteps, newInstallContext, prepareInstall, type InstallContext, type InstallOptions } from '../apply/install.apply.js';
import { runSteps } from '../apply/steps.js';
import type { ActionRunner, RawOptions } from './action.js';
import { bindFlag, commonOptions, intFlag, withCommon } from './common.options.js';
import { withIntentFlags } from './plan.command.js';
import type { Output } from './output.js';
import { plainReporter } from './plain.reporter.js';

/** Validate install flags into InstallOptions. @throws UsageError on any bad flag. */
export function installOptionsFrom(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): InstallOptions {
  const common = commonOptions(raw as { dir?: string; json?: boolean }, env);
  const intentGiven = raw.tier !== undefined || raw.users !== undefined || raw.size !== undefined || raw.nodes !== undefined;
  return {
    root: common.dir,
    intent: intentGiven ? buildIntent({ tier: raw.tier as string | undefined, users: raw.users as string | undefined, size: raw.size as string | undefined, nodes: raw.nodes as string | undefined }) : null,
    httpPort: intFlag('--http-port', raw.httpPort as string | undefined, 1, 65535) ?? null,
    bindAddress: bindFlag(raw.bind as string | undefined) ?? null,
    imagesFile: (raw.images as string | undefined) ?? null,
    renderOnly: Boolean(raw.renderOnly),
    timeoutMs: (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000,
    env,
  };
}

/** The summary of a finished install, for text and JSON output. */
export function installSummary(ctx: InstallContext): Record<string, unknown> {
  return {
    ok: true,
    url: ctx.prep.options.renderOnly ? null : ctx.url,
    root: ctx.prep.root,
    project: ctx.prep.project,
    tier: ctx.plan.tier,
    capacity: ctx.plan.capacity,
    files: ctx.changes,
    manifestWritten: ctx.manifestWritten,
    images: ctx.images,
    preflight: ctx.prep.preflight,
  };
}

/**
 * `carebox install`: detect → plan → preflight → (confirm) → images → render → write → up →
 * migrate → healthy → manifest. On a TTY without --yes/--json an Ink UI asks for confirmation and
 * shows progress; without a TTY it never mounts the UI and needs --yes (else exit 2).
 */
export function registerInstall(program: Command, run: ActionRunner): void {
  const cmd = withIntentFlags(withCommon(program.command('install').description('detect this host, plan a tier, render the stack and bring it up')))
    .addOption(new Option('--yes', 'do not ask for confirmation (required without a TTY)').default(false))
    .addOption(new Option('--render-only', 'write the configuration files and manifest; start nothing').default(false))
    .addOption(new Option('--http-port <P>', 'host port nginx publishes (default 80, or the installed one)'))
    .addOption(new Option('--bind <ADDR>', 'host address nginx publishes on (default 0.0.0.0, or the installed one)'))
    .addOption(new Option('--images <FILE>', 'JSON map overriding the pinned images (postgres, redis, nginx, pgbouncer, node)'))
    .addOption(new Option('--timeout <S>', 'seconds to wait for the stack to become healthy (default 300)'));
  cmd.action(
    run(async (out: Output, raw) => {
      const options = installOptionsFrom(raw);
      const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !out.json;
      if (!raw.yes && !interactive) {
        throw new UsageError(
          out.json ? '--json needs --yes: there is nobody to confirm the install' : 'no TTY to ask for confirmation (stdin/stdout is not a terminal)',
          'rerun with --yes to install non-interactively from flags',
        );
      }
      const prep = await prepareInstall(options);
      if (interactive) {
        const { runInstallUi } = await import('../ui/install.ui.js');
        return runInstallUi(prep, { autoConfirm: Boolean(raw.yes) });
      }
      for (const c of prep.preflight) out.log(`preflight ${c.status.padEnd(4)} ${c.title}: ${c.found}${c.status !== 'pass' && c.fix ? ` (fix: ${c.fix})` : ''}`);
      assertPreflight(prep);
      const ctx = newInstallContext(prep);
      out.log(`plan: tier ${ctx.plan.tier}; ${ctx.plan.reasons[0] ?? ''}`);
      await runSteps(installSteps(), ctx, plainReporter(out));
      const summary = installSummary(ctx);
      out.result(summary);
      out.print(ctx.prep.options.renderOnly ? `Rendered tier ${ctx.plan.tier} into ${ctx.prep.root} (nothing started).` : `Carebox is up (tier ${ctx.plan.tier}): ${ctx.url}`);
      return 0;
    }),
  );
}
