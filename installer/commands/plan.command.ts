import type { Command } from 'commander';
import { stablePlanHost } from '../plan/host.stability.js';
import { Option } from 'commander';
import { alertModeFlag } from './alert.flags.js';
import { readFileSync } from 'node:fs';
import { hypotheticalHost } from '../plan/hypothetical.host.js';
import { detectResources } from '../detect/resources.detect.js';
import { parseSizeFlag } from '../detect/size.js';
import type { PlanHost } from '../detect/host-facts.js';
import { UsageError } from '../errors.js';
import { readManifest } from '../manifest/manifest.js';
import { buildIntent, type IntentFlags } from '../plan/intent.js';
import { formatPlan } from '../plan/plan.format.js';
import { planWithDefaults } from '../plan/tier.plan.js';
import { withMeasuredFrom } from '../plan/capacity.estimate.js';
import { parseProfileFile, type WorkloadProfile } from '../plan/workload.profile.js';
import { commonOptions, numberFlag, withCommon } from './common.options.js';
import type { ActionRunner } from './action.js';

/** Intent flags shared by plan, install and retier. */
export function withIntentFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--tier <TIER>', 'tier: default, optimized, horizontal or cluster'))
    .addOption(
      new Option(
        '--users <N>',
        'expected active staff (people with a session open, one action every --think-time s); picks the smallest tier that serves them',
      ),
    )
    .addOption(new Option('--size <SIZE>', 'hospital size preset in active staff: small (30–50), medium (100–200), large (500–1,000), network (2,000–5,000)'))
    .addOption(new Option('--think-time <SECONDS>', "mean pause between one person's actions (default 30; see docs/tiers.md)"))
    .addOption(new Option('--profile <FILE>', 'workload profile JSON (actions, requests per action, think time), as in `carebox plan --json` capacity.profile'))
    .addOption(new Option('--nodes <N>', 'cluster tier only: number of Swarm nodes (default: from --users, at least 2)'))
    .addOption(
      new Option(
        '--pgbouncer <MODE>',
        'PgBouncer in front of PostgreSQL: auto (when pools need it), on (any tier) or off (refused with exit 3 where the budget needs it)',
      ),
    );
}

/**
 * The intent flags of a verb's raw options, for buildIntent; `--profile FILE` is read and validated here.
 * @throws UsageError (exit 2) for an unreadable or invalid profile file.
 */
export function intentFlagsFrom(raw: Record<string, string | boolean | undefined>): IntentFlags {
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const flags: IntentFlags = { tier: str('tier'), users: str('users'), size: str('size'), nodes: str('nodes'), pgbouncer: str('pgbouncer') };
  if (str('thinkTime') !== undefined) flags.thinkTime = str('thinkTime');
  const file = str('profile');
  if (file !== undefined) flags.profile = readProfile(file);
  return flags;
}

/** Reads and validates a `--profile` file. @throws UsageError (exit 2). */
export function readProfile(file: string): WorkloadProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --profile ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseProfileFile(text, file);
}

/**
 * `carebox plan`: what-if planning. Plans for this host (detected: usable CPUs and memory after
 * cgroup limits) or a hypothetical one (`--cpus N --memory SIZE`). Changes nothing.
 * Exit 2 on bad flags; exit 3 when the host is below the tier's minimum or `--pgbouncer off`
 * cannot be honoured.
 */
export function registerPlan(program: Command, run: ActionRunner): void {
  const cmd = withIntentFlags(withCommon(program.command('plan').description('show the plan for this host or a hypothetical one; changes nothing')))
    .addOption(new Option('--cpus <N>', 'plan for a hypothetical host with N CPUs (with --memory)'))
    .addOption(
      new Option('--alerts <MODE>', 'plan with monitoring in the stack (stack, the default of a new install), the rules file only (external) or none (off)'),
    )
    .addOption(
      new Option('--memory <SIZE>', 'plan for a hypothetical host with this much memory; a unit is required: 8GiB, 8g, 512MiB (binary units; with --cpus)'),
    );
  cmd.action(
    run(async (out, raw) => {
      const common = commonOptions(raw as { dir?: string; json?: boolean });
      const cpus = numberFlag('--cpus', raw.cpus as string | undefined, 0.1, 4096);
      const memory = raw.memory === undefined ? undefined : parseSizeFlag('--memory', raw.memory as string);
      if ((cpus === undefined) !== (memory === undefined))
        throw new UsageError('--cpus and --memory go together', 'give both to plan for a hypothetical host, or neither to plan for this one');
      let intent = buildIntent(intentFlagsFrom(raw));
      const installed = cpus === undefined ? await readManifest(common.dir).catch(() => null) : null;
      if (!intent.tier && intent.users === null && cpus === undefined) {
        // On an installed host, `carebox plan` shows the installed intent's plan (with --pgbouncer
        // overriding the recorded mode when given).
        // Its reasons say the tier was recorded at install, not asked for.
        if (installed) {
          const given = intent;
          intent = { ...installed.intent, ...(raw.pgbouncer === undefined ? {} : { pgbouncer: given.pgbouncer ?? 'auto' }), origin: 'install' };
          if (given.profile) intent = { ...intent, profile: given.profile };
        }
      }
      let host: PlanHost;
      if (cpus !== undefined && memory !== undefined) host = hypotheticalHost(cpus, memory);
      else {
        const r = await detectResources();
        // On an installed host, the figures install and re-tier plan with: the recorded ones while
        // the host is unchanged, and the recorded disk (the log limits are sized from it).
        host = stablePlanHost(installed?.facts ?? null, {
          cpus: r.cpus,
          hostCpus: r.hostCpus,
          memoryBytes: r.memoryBytes,
          hostMemoryBytes: r.hostMemoryBytes,
        }).host;
      }
      // --alerts given wins; else the installed stack's mode; else a new install's default (stack).
      const alerts = alertModeFlag(raw.alerts as string | undefined);
      const newInstallDefault = alerts === null && intent.origin !== 'install';
      intent = { ...intent, alerts: alerts ?? (intent.origin === 'install' ? (intent.alerts ?? 'off') : 'stack') };
      // The installed stack's measured capacity (carebox loadtest) shows when this plan is that stack.
      // Backups: the installed stack's mode; else a new install's default (scheduled where it fits).
      const newBackupsDefault = intent.origin !== 'install';
      const plan = withMeasuredFrom(planWithDefaults(host, intent, { alerts: newInstallDefault, backups: newBackupsDefault }), installed?.plan);
      out.result(plan);
      out.print(formatPlan(plan));
      return 0;
    }),
  );
}
