import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { createSupportBundle } from '../ops/support.ops.js';

/**
 * `carebox support-bundle [--output FILE] [--lines N]`: versions, manifest, configs (secrets
 * redacted), preflight, container states and the last N log lines per container in one tar.gz —
 * no patient data, no secrets. Works on a broken stack too (what it could not collect is in
 * errors.json). Exit 0; 1 when the file cannot be written.
 */
export function registerSupportBundle(program: Command, run: ActionRunner): void {
  withCommon(
    program.command('support-bundle').description('write a tar.gz for support: versions, configs (secrets redacted), preflight, container states, recent logs'),
  )
    .addOption(new Option('--output <FILE>', 'bundle file (default ./carebox-support-<UTC>.tar.gz)'))
    .addOption(new Option('--lines <N>', 'log lines per container (default 1000)'))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const lines = intFlag('--lines', raw.lines as string | undefined, 0, 1_000_000) ?? 1000;
        const r = await createSupportBundle(dir, { output: raw.output as string | undefined, lines }, plainReporter(out));
        out.result({ ok: true, ...r });
        out.print(
          `Support bundle written: ${r.file} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.contents.length} files${r.errors.length ? `; could not collect: ${r.errors.length} item(s), see errors.json` : ''}).`,
        );
        return 0;
      }),
    );
}
