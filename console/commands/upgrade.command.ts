import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { upgradeStack } from '../ops/upgrade.ops.js';
import { openStack } from '../ops/stack.js';

/**
 * `carebox upgrade [--bundle FILE | --images FILE] [--pg-major-dump-restore] [--maintenance-window]`:
 * preflight → load images → classify the new migrations (expand/contract) → backup → migrations →
 * rolling restart gated on health → smoke request through nginx → retention. On any failure it
 * rolls back the images; additive migrations stay (no restore: no acknowledged write is lost); a
 * contract step runs only with --maintenance-window (writes paused, the backup restored on
 * failure). Without flags the server image is rebuilt from this Carebox package. Exit 0 upgraded;
 * 1 failed and rolled back; 2 bad flags, or a contract migration without --maintenance-window;
 * 3 preflight (unhealthy stack, disk, a PostgreSQL major change without --pg-major-dump-restore);
 * 4 the rollback failed too.
 */
export function registerUpgrade(program: Command, run: ActionRunner): void {
  withCommon(program.command('upgrade').description('upgrade the images with a backup first and automatic rollback'))
    .addOption(new Option('--bundle <FILE>', 'offline bundle from `carebox bundle create` (images and templates)'))
    .addOption(new Option('--images <FILE>', 'JSON map of new images (postgres, redis, nginx, pgbouncer, node, server); roles not named keep theirs'))
    .addOption(
      new Option(
        '--pg-major-dump-restore',
        'allow a PostgreSQL major change: dump with the old server, start the new one on a fresh data directory, restore (app down meanwhile; the old data directory is kept in a volume)',
      ).default(false),
    )
    .addOption(
      new Option(
        '--maintenance-window',
        'confirm a maintenance window for a contract migration (one the running version may not work on): writes answered 503 + Retry-After from the backup until the new version is healthy; a failure restores the backup',
      ).default(false),
    )
    .addOption(new Option('--timeout <S>', 'seconds to wait for each rolling step to become healthy (default 300)'))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const timeoutMs = (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000;
        const stack = await openStack(dir);
        const r = await upgradeStack(
          stack,
          {
            bundleFile: (raw.bundle as string | undefined) ?? null,
            imagesFile: (raw.images as string | undefined) ?? null,
            timeoutMs,
            pgMajorDumpRestore: Boolean(raw.pgMajorDumpRestore),
            maintenanceWindow: Boolean(raw.maintenanceWindow),
          },
          plainReporter(out),
        );
        out.result({
          ok: true,
          from: r.from,
          to: r.to,
          backup: r.backup,
          migrationsApplied: r.migrationsApplied,
          preservedVolume: r.preservedVolume,
          migrations: r.migrations,
          pruned: r.pruned,
          files: r.files,
          tookMs: r.tookMs,
        });
        out.print(
          `Upgraded in ${(r.tookMs / 1000).toFixed(1)} s (backup ${r.backup}); server ${r.to.server}.${r.preservedVolume ? `\nThe previous PostgreSQL data directory is kept in volume ${r.preservedVolume}; remove it (docker volume rm) once you are satisfied.` : ''}`,
        );
        return 0;
      }),
    );
}
