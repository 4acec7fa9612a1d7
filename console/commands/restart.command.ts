import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { UsageError } from '../../installer/errors.js';
import { restartService } from '../ops/restart.ops.js';
import { openStack } from '../ops/stack.js';

/**
 * `carebox restart SERVICE [--timeout S]`: rolling when the service has more than one replica
 * (one at a time, each healthy before the next), else a plain restart. Exit 0 when every restarted
 * container is healthy; 4 when one is not; 2 for an unknown service; 1 on Docker errors.
 */
export function registerRestart(program: Command, run: ActionRunner): void {
  withCommon(
    program
      .command('restart')
      .description('restart a service: rolling when it has more than one replica')
      .argument('<SERVICE>', 'db, redis, backend, worker, nginx or pgbouncer'),
  )
    .addOption(new Option('--timeout <S>', 'seconds to wait for each container to become healthy (default 300)'))
    .action(
      run(async (out, raw, args) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const service = args[0];
        if (!service) throw new UsageError('restart needs a SERVICE');
        const timeoutMs = (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000;
        const stack = await openStack(dir);
        const r = await restartService(stack, { service, timeoutMs }, plainReporter(out));
        out.result({ ok: true, ...r });
        out.print(`Restarted ${service} (${r.strategy}, ${r.containers.length} container(s), ${(r.tookMs / 1000).toFixed(1)} s).`);
        return 0;
      }),
    );
}
