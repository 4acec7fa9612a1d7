import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { upgradeStack } from '../ops/upgrade.ops.js';
import { openStack } from '../ops/stack.js';

/**
 * `carebox upgrade [--bundle FILE | --images FILE] [--pg-major-dump-restore]`: preflight → backup → load images → migrations
 * → rolling restart gated on health → smoke request through nginx; rolls back (images, and the
 * backup when migrations ran) on any failure. Without flags the server image is rebuilt from this
 * Carebox package. Exit 0 upgraded; 1 failed and rolled back; 2 bad flags; 3 preflight (unhealthy
 * stack, disk, a PostgreSQL major change without --pg-major-dump-restore); 4 the rollback failed too.
 */
export function registerUpgrade(program: Command, run: ActionRunner): void {
  withCommon(program.command('upgrade').description('upgrade the images with a backup first and automatic rollback'))
    .addOption(new Option('--bundle <FILE>', 'offline bundle from `carebox bundle create` (images and templates)'))
    .addOption(new Option('--images <FILE>', 'JSON map of new images (postgres, redis, nginx, pgbouncer, node, server); roles not named keep theirs'))
    .addOption(new Option('--pg-major-dump-restore', 'allow a PostgreSQL major change: dump with the old server, start the new one on a fresh data directory, restore (app down meanwhile; the old data directory is kept in a volume)').default(false))
    .addOption(new Option('--timeout <S>', 'seconds to wait for each rolling step to become healthy (default 300)'))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const timeoutMs = (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000;
        const stack = await openStack(dir);
        const r = await upgradeStack(stack, { bundleFile: (raw.bundle as string | undefined) ?? null, imagesFile: (raw.images as string | undefined) ?? null, timeoutMs, pgMajorDumpRestore: Boolean(raw.pgMajorDumpRestore) }, plainReporter(out));
        out.result({ ok: true, from: r.from, to: r.to, backup: r.backup, migrationsApplied: r.migrationsApplied, preservedVolume: r.preservedVolume, files: r.files, tookMs: r.tookMs });
        out.print(`Upgraded in ${(r.tookMs / 1000).toFixed(1)} s (backup ${r.backup}); server ${r.to.server}.${r.preservedVolume ? `\nThe previous PostgreSQL data directory is kept in volume ${r.preservedVolume}; remove it (docker volume rm) once you are satisfied.` : ''}`);
        return 0;
      }),
    );
}
