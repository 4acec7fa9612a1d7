import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { UsageError } from '../../installer/errors.js';
import { requireManifest } from '../../installer/manifest/manifest.js';
import { DEFAULT_RETRY_AFTER_S, defaultMessage, formatMaintenance, parseMaintenanceMessage, readMaintenance, setMaintenance } from '../ops/maintenance.ops.js';
import { openStack, withStackLock } from '../ops/stack.js';

/**
 * `carebox maintenance on|off|status [--message TEXT] [--full] [--retry-after S]`: nginx answers
 * writes (with --full: every request but its own health check) with a JSON 503, Retry-After and
 * the message; reads keep being served. Kept across install re-runs and reloads until `off`.
 * Exit 0; 1 nginx rejected the change or is not running (the previous state stays); 2 bad
 * arguments (an unknown action, a message with quotes, `$` or control characters, options on off).
 */
export function registerMaintenance(program: Command, run: ActionRunner): void {
  withCommon(
    program
      .command('maintenance')
      .description('pause writes (or everything with --full) at nginx with a 503 + Retry-After, or resume')
      .argument('<ACTION>', 'on, off or status'),
  )
    .addOption(new Option('--message <TEXT>', 'shown to clients in the 503 body (plain text, up to 300 characters)'))
    .addOption(new Option('--full', "refuse reads too (every request but nginx's own health check)").default(false))
    .addOption(new Option('--retry-after <S>', `Retry-After seconds (default ${DEFAULT_RETRY_AFTER_S})`))
    .action(
      run(async (out, raw, args) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const action = args[0];
        if (action !== 'on' && action !== 'off' && action !== 'status')
          throw new UsageError(
            `unknown maintenance action '${action ?? ''}'`,
            'use `carebox maintenance on [--message TEXT] [--full]`, `carebox maintenance off` or `carebox maintenance status`',
          );
        if (action !== 'on' && (raw.message !== undefined || raw.full || raw.retryAfter !== undefined))
          throw new UsageError(`--message, --full and --retry-after go with \`maintenance on\`, not \`${action}\``);
        const message = raw.message === undefined ? defaultMessage('cli') : parseMaintenanceMessage(raw.message as string);
        const retryAfterS = intFlag('--retry-after', raw.retryAfter as string | undefined, 1, 86_400) ?? DEFAULT_RETRY_AFTER_S;
        if (action === 'status') {
          await requireManifest(dir);
          const s = await readMaintenance(dir);
          out.result({ ok: true, maintenance: s });
          out.print(formatMaintenance(s));
          return 0;
        }
        const stack = await openStack(dir);
        const s = await withStackLock(stack.root, `maintenance ${action}`, async () =>
          setMaintenance(
            stack,
            action === 'on' ? { mode: raw.full ? 'full' : 'writes', message, retryAfterS, since: new Date().toISOString(), by: 'cli' } : null,
            (m) => out.log(m),
          ),
        );
        out.result({ ok: true, maintenance: s });
        out.print(formatMaintenance(s));
        return 0;
      }),
    );
}
