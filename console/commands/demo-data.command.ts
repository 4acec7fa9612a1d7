import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { UsageError } from '../../installer/errors.js';
import { demoDataSummary, runDemoData } from '../ops/demo-data.ops.js';
import { openStack } from '../ops/stack.js';

/**
 * `carebox demo-data --patients N [--tenant T] [--clinicians C] [--appointments-per-patient K]` or
 * `carebox demo-data --remove (--tenant T | --all)`: synthetic records for trials and load tests,
 * clearly marked and removable; real records are never touched. `--remove` never means "every data
 * set" by default: it needs `--all` for that. A removal that matched nothing says so (exit 0: the
 * data set is gone either way). Exit 0 ok, 2 bad flags, 1 failure.
 */
export function registerDemoData(program: Command, run: ActionRunner): void {
  withCommon(program.command('demo-data').description('create (or --remove) synthetic patients, clinicians and appointments for trials'))
    .addOption(new Option('--patients <N>', 'synthetic patients the demo tenant should have (up to 5,000,000)'))
    .addOption(
      new Option('--tenant <NAME>', 'data set name, 1–20 of a-z, 0-9 and - (default demo); its MRNs start with the name in capitals, e.g. TRIAL-0000001'),
    )
    .addOption(
      new Option('--clinicians <N>', 'synthetic clinicians, 1–200 (default: one per 250 patients, at least 2 and at most 200; none with --patients 0)'),
    )
    .addOption(new Option('--appointments-per-patient <K>', 'appointments per new patient (0–20, default 2)'))
    .addOption(new Option('--remove', 'delete synthetic data only: of --tenant NAME, or of every data set with --all').default(false))
    .addOption(new Option('--all', 'with --remove: every synthetic data set').default(false))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const remove = Boolean(raw.remove);
        const patients = intFlag('--patients', raw.patients as string | undefined, 0, 5_000_000) ?? null;
        if (!remove && patients === null) throw new UsageError('demo-data needs --patients N (or --remove)');
        if (remove && patients !== null) throw new UsageError('give --patients or --remove, not both');
        const tenant = (raw.tenant as string | undefined) ?? null;
        if (tenant !== null && !/^[a-z0-9][a-z0-9-]{0,19}$/.test(tenant))
          throw new UsageError(`--tenant must be 1–20 of a-z, 0-9 and - (not starting with -), got '${tenant}'`);
        const all = Boolean(raw.all);
        if (all && !remove) throw new UsageError('--all goes with --remove');
        if (remove && all && tenant !== null) throw new UsageError('give --tenant NAME or --all, not both');
        if (remove && !all && tenant === null)
          throw new UsageError(
            '--remove needs --tenant NAME (one data set) or --all (every synthetic data set)',
            'e.g. carebox demo-data --remove --tenant demo',
          );
        const clinicians = intFlag('--clinicians', raw.clinicians as string | undefined, 1, 200) ?? null;
        const appointmentsPerPatient = intFlag('--appointments-per-patient', raw.appointmentsPerPatient as string | undefined, 0, 20) ?? null;
        if (remove && (clinicians !== null || appointmentsPerPatient !== null)) throw new UsageError('--remove takes only --tenant NAME or --all');
        const stack = await openStack(dir);
        const result = await runDemoData(stack, {
          patients,
          tenant,
          clinicians,
          appointmentsPerPatient,
          remove,
          all,
        });
        const removed = (result.removed ?? {}) as Record<string, number>;
        const matched = !remove || Object.values(removed).some((v) => v > 0);
        out.result({ ok: true, ...result, ...(remove ? { matched } : {}) });
        out.print(demoDataSummary(result));
        return 0;
      }),
    );
}
