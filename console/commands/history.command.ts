import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { requireManifest } from '../../installer/manifest/manifest.js';
import { formatOperations, readOperations } from '../../installer/manifest/operations.log.js';

/**
 * `carebox history [--limit N]`: the operations log of this install, oldest first: who ran which
 * verb that changed the stack, when, and with what result. `--json` prints
 * `{ ok, entries: [{ at, user, sudoUser, uid, verb, args, options, exitCode, error, durationMs }], skipped }`.
 * Exit 0; 1 when there is no install at --dir; 2 for a bad --limit.
 */
export function registerHistory(program: Command, run: ActionRunner): void {
  withCommon(program.command('history').description('show who changed the stack, when, how and with what result (the operations log)'))
    .addOption(new Option('--limit <N>', 'show only the newest N entries (1–100000)'))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const limit = intFlag('--limit', raw.limit as string | undefined, 1, 100_000);
        await requireManifest(dir);
        const { entries, skipped } = await readOperations(dir);
        const shown = limit === undefined ? entries : entries.slice(-limit);
        out.result({ ok: true, entries: shown, skipped });
        out.print(formatOperations(shown) + (skipped > 0 ? `\n(${skipped} unreadable line(s) skipped)` : ''));
        return 0;
      }),
    );
}
