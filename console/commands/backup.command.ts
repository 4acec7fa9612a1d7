import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { UsageError } from '../../installer/errors.js';
import { createBackup, restoreBackup, type BackupFileEntry } from '../ops/backup.ops.js';
import { openStack } from '../ops/stack.js';
import { loadInteractiveUi } from '../../installer/ui/load.ui.js';

/** A file mode as `ls -l`/`chmod` write it in octal: 0o600 (384) → `"0600"`. Pure. */
export function octalMode(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/**
 * A backup file entry as `backup --json` prints it: the mode as an octal string. (backup.json on
 * disk keeps the number: restore and older backups read it that way.)
 */
export function fileEntryForJson(e: BackupFileEntry): Omit<BackupFileEntry, 'mode'> & { mode: string } {
  return { ...e, mode: octalMode(e.mode) };
}

/**
 * `carebox backup [--keep N]`: pg_dump -Fc through the db container plus the rendered files and
 * .env into backups/<UTC stamp>/ with backup.json (sha256, row counts, images, PostgreSQL
 * version); keeps the newest N (default 7, remembered in carebox.json). `--json` shows file modes
 * as octal strings (`"0600"`). Exit 0; 1 on failure.
 */
export function registerBackup(program: Command, run: ActionRunner): void {
  withCommon(program.command('backup').description('back up the database, configuration and .env into backups/<UTC stamp>/'))
    .addOption(new Option('--keep <N>', 'full backups to keep, oldest removed first (default 7, or the last --keep given)'))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const keep = intFlag('--keep', raw.keep as string | undefined, 1, 1000);
        const stack = await openStack(dir);
        const r = await createBackup(stack, keep === undefined ? {} : { keep }, plainReporter(out));
        out.result({ ok: true, dir: r.dir, keep: r.keep, pruned: r.pruned, tables: r.manifest.tables, dump: fileEntryForJson(r.manifest.dump), files: r.manifest.files.map(fileEntryForJson), postgres: r.manifest.postgres, tookMs: r.tookMs });
        out.print(`Backup written to ${r.dir} (${Object.keys(r.manifest.tables).length} tables, ${(r.manifest.dump.bytes / 1024 / 1024).toFixed(1)} MiB dump); keeping ${r.keep}.`);
        return 0;
      }),
    );
}

/**
 * `carebox restore DIR [--yes]`: stop the app cleanly, restore the backup's database (swapped in
 * only when pg_restore succeeded), verify the row counts against backup.json, run pending
 * migrations, start the app and wait healthy. Replaces all current data: asks on a TTY, else needs
 * --yes (exit 2). Exit 0; 1 corrupt backup / failed restore / count mismatch; 3 newer PostgreSQL
 * major; 4 app not healthy afterwards.
 */
export function registerRestore(program: Command, run: ActionRunner): void {
  withCommon(program.command('restore').description('restore a backup made by `carebox backup` (replaces the current data)').argument('<DIR>', 'a backup directory, or its stamp under backups/'))
    .addOption(new Option('--yes', 'do not ask for confirmation (required without a TTY)').default(false))
    .addOption(new Option('--timeout <S>', 'seconds to wait for the app to become healthy (default 300)'))
    .addOption(new Option('--from-other-install', "restore a backup of another install (moving to a new server): its records replace this install's; this install's audit trail is kept").default(false))
    .action(
      run(async (out, raw, args) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        if (!args[0]) throw new UsageError('restore needs the backup DIR');
        const timeoutMs = (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000;
        if (!raw.yes) {
          const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !out.json;
          if (!tty) throw new UsageError('restore replaces every record in the database and needs confirmation, but there is no TTY to ask', 'rerun with --yes (take `carebox backup` first if the current data matters)');
          const { confirmPrompt } = await loadInteractiveUi(() => import('../../installer/ui/confirm.prompt.js'));
          if (!(await confirmPrompt(`Replace ALL current data with the backup ${args[0]}? The app stops while it runs.`))) {
            out.print('Nothing was changed.');
            return 1;
          }
        }
        const stack = await openStack(dir);
        const r = await restoreBackup(stack, args[0], { timeoutMs, fromOtherInstall: Boolean(raw.fromOtherInstall) }, plainReporter(out));
        out.result({ ok: true, ...r });
        out.print(`Restored ${r.dir}: ${Object.keys(r.tables).length} tables verified; the app was down ${r.appDownS.toFixed(1)} s.`);
        return 0;
      }),
    );
}
