import type { Command } from 'commander';
import { Option } from 'commander';
import { connectDocker } from '../../installer/runtime/docker.connect.js';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { requireManifest } from '../../installer/manifest/manifest.js';
import { createBundle } from '../ops/bundle.ops.js';

/**
 * `carebox bundle create [--output FILE]`: every image this install uses (docker save through the
 * API), the templates and an index (references, ids, sha256) in one tar(.gz) for air-gapped hosts
 * (`install --bundle FILE`, `upgrade --bundle FILE`). Exit 0; 1 when an image is missing or the
 * export fails.
 */
export function registerBundle(program: Command, run: ActionRunner): void {
  const bundle = program.command('bundle').description('offline bundles for air-gapped hosts');
  withCommon(bundle.command('create').description('save every image of this install and the templates into one file'))
    .addOption(new Option('--output <FILE>', 'bundle file (.tar.gz or .tgz compressed, .tar plain; default ./carebox-bundle-<version>-<UTC>.tar.gz)'))
    .exitOverride()
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const m = await requireManifest(dir);
        const { docker } = await connectDocker();
        const r = await createBundle(docker, m, { output: raw.output as string | undefined }, plainReporter(out));
        out.result({ ok: true, file: r.file, bytes: r.bytes, sha256: r.sha256, images: r.index.images, imageIds: r.index.imageIds, tookMs: r.tookMs });
        out.print(
          `Bundle written: ${r.file} (${(r.bytes / 1024 / 1024).toFixed(0)} MiB, sha256 ${r.sha256}).\nOn the air-gapped host: carebox install --bundle ${r.file}`,
        );
        return 0;
      }),
    );
}
