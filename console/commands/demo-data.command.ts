import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { UsageError } from '../../installer/errors.js';
import { runDemoData } from '../ops/demo-data.ops.js';
import { openStack } from '../ops/stack.js';

/**
 * `carebox demo-data --patients N [--tenant T] [--clinicians C] [--appointments-per-patient K]` or
 * `carebox demo-data --remove [--tenant T]`: synthetic records for trials and load tests, clearly
 * marked and removable; real records are never touched. Exit 0 ok, 2 bad flags, 1 failure.
 */
export function registerDemoData(program: Command, run: ActionRunner): void {
  withCommon(program.command('demo-data').description('create (or --remove) synthetic patients, clinicians and appointments for trials'))
    .addOption(new Option('--patients <N>', 'synthetic patients the demo tenant should have (up to 5,000,000)'))
    .addOption(new Option('--tenant <NAME>', 'data set name (default demo; with --remove: every synthetic data set)'))
    .addOption(new Option('--clinicians <N>', 'synthetic clinicians (default: one per 250 patients, 2–200)'))
    .addOption(new Option('--appointments-per-patient <K>', 'appointments per new patient (0–20, default 2)'))
    .addOption(new Option('--remove', 'delete synthetic data only').default(false))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const remove = Boolean(raw.remove);
        const patients = intFlag('--patients', raw.patients as string | undefined, 0, 5_000_000) ?? null;
        if (!remove && patients === null) throw new UsageError('demo-data needs --patients N (or --remove)');
        if (remove && patients !== null) throw new UsageError('give --patients or --remove, not both');
        const tenant = (raw.tenant as string | undefined) ?? null;
        if (tenant !== null && !/^[a-z0-9-]{1,20}$/.test(tenant)) throw new UsageError(`--tenant must be 1–20 of a-z, 0-9 and -, got '${tenant}'`);
        const stack = await openStack(dir);
        const result = await runDemoData(stack, {
          patients,
          tenant,
          clinicians: intFlag('--clinicians', raw.clinicians as string | undefined, 1, 200) ?? null,
          appointmentsPerPatient: intFlag('--appointments-per-patient', raw.appointmentsPerPatient as string | undefined, 0, 20) ?? null,
          remove,
        });
        out.result({ ok: true, ...result });
        out.print(remove ? `Removed synthetic data: ${JSON.stringify(result.removed)}` : `Demo data ready: ${JSON.stringify(result.patients)} patients, ${JSON.stringify(result.appointments)} appointments`);
        return 0;
      }),
    );
}
