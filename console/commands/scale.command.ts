import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { ExitCode, PreflightError, UsageError } from '../../installer/errors.js';
import { parseScaleArg, scaleService, type ScaleRefusalDetails } from '../ops/scale.ops.js';
import { openStack } from '../ops/stack.js';

/**
 * `carebox scale SERVICE=N [--overcommit] [--timeout S]` for backend and worker. The plan's budgets
 * are re-checked first: exit 3 with the violated budget when they do not fit (nothing changes; under
 * --json `{ok: false, error, service, from, to, violations: [{budget, demand, limit, unit}], budget}`,
 * `budget` shaped as in the success document). A count already in place changes nothing (`noop`).
 * Exit 0 scaled and healthy; 4 new containers not healthy (removed again); 2 bad argument.
 */
export function registerScale(program: Command, run: ActionRunner): void {
  withCommon(
    program
      .command('scale')
      .description('change the replica count of backend or worker (budgets re-checked first)')
      .argument('<SERVICE=N>', 'e.g. backend=3 or worker=2'),
  )
    .addOption(
      new Option(
        '--overcommit',
        "accept more web processes than usable CPUs (redundancy, not throughput); memory may come only from PostgreSQL's page cache share",
      ).default(false),
    )
    .addOption(new Option('--timeout <S>', 'seconds to wait for the containers to become healthy (default 300)'))
    .action(
      run(async (out, raw, args) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        if (!args[0]) throw new UsageError('scale needs SERVICE=N, e.g. backend=3');
        const { service, replicas } = parseScaleArg(args[0]);
        const timeoutMs = (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000;
        const stack = await openStack(dir);
        let r: Awaited<ReturnType<typeof scaleService>>;
        try {
          r = await scaleService(stack, { service, replicas, overcommit: Boolean(raw.overcommit), timeoutMs }, plainReporter(out));
        } catch (err) {
          // A refusal gets the success document's structured `budget` (plus each violation with
          // its unit), not only a message string.
          const details = err instanceof PreflightError ? (err.details as Partial<ScaleRefusalDetails> | null) : null;
          if (!(err instanceof PreflightError) || !details?.budget) throw err;
          out.result({
            ok: false,
            error: err.toJSON(),
            service: details.service,
            from: details.from,
            to: details.to,
            violations: details.violations,
            budget: details.budget,
          });
          out.log(`error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`);
          return ExitCode.Preflight;
        }
        out.result({
          ok: true,
          service: r.service,
          from: r.from,
          to: r.to,
          noop: r.noop,
          overcommitted: r.overcommitted,
          files: r.files,
          budget: r.manifest.plan.budget,
          tookMs: r.tookMs,
        });
        out.print(
          r.noop
            ? `${service} already runs ${r.to}: nothing changed.`
            : `Scaled ${service} ${r.from} → ${r.to}${r.overcommitted.length ? ` (overcommitted: ${r.overcommitted.join(', ')})` : ''} in ${(r.tookMs / 1000).toFixed(1)} s.`,
        );
        return 0;
      }),
    );
}
