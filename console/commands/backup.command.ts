import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, intFlag, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { UsageError } from '../../installer/errors.js';
import { createBackup, restoreBackup, type BackupFileEntry } from '../ops/backup.ops.js';
import { restoreFromRestic } from '../ops/restic.restore.js';
import { openStack } from '../ops/stack.js';
import { formatRestoreLoss, type RestoreLoss } from '../ops/restore.loss.js';
import { loadInteractiveUi } from '../../installer/ui/load.ui.js';
import { registerScheduleCommands } from './schedule.command.js';

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
  const backup = withCommon(program.command('backup').description('back up the database, configuration and .env into backups/<UTC stamp>/'))
    .addOption(new Option('--keep <N>', 'full backups to keep, oldest removed first (default 7, or the last --keep given)'))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const keep = intFlag('--keep', raw.keep as string | undefined, 1, 1000);
        const stack = await openStack(dir);
        const r = await createBackup(stack, keep === undefined ? {} : { keep }, plainReporter(out));
        out.result({
          ok: true,
          dir: r.dir,
          keep: r.keep,
          pruned: r.pruned,
          tables: r.manifest.tables,
          dump: fileEntryForJson(r.manifest.dump),
          files: r.manifest.files.map(fileEntryForJson),
          postgres: r.manifest.postgres,
          tookMs: r.tookMs,
        });
        out.print(
          `Backup written to ${r.dir} (${Object.keys(r.manifest.tables).length} tables, ${(r.manifest.dump.bytes / 1024 / 1024).toFixed(1)} MiB dump); keeping ${r.keep}.`,
        );
        return 0;
      }),
    );
  registerScheduleCommands(backup, run);
}

/**
 * `carebox restore DIR [--yes]`: first state what will be lost (rows written or changed since the
 * backup, per table) and ask (or need --yes), then, with nginx in full maintenance, stop the app cleanly, restore the backup's database (swapped in
 * only when pg_restore succeeded), verify the row counts against backup.json, run pending
 * migrations, start the app and wait healthy. Replaces all current data: asks on a TTY, else needs
 * --yes (exit 2, with the statement of what would be lost). DIR must be inside backups/ unless
 * --from-path; backup.json must be signed with the install's backup.key (or --backup-key FILE).
 * Exit 0; 1 corrupt backup / failed restore / count mismatch / cancelled; 2 DIR outside backups/,
 * not a backup, or another install's without --from-other-install; 3 newer PostgreSQL major; 4 app
 * not healthy afterwards; 5 signature missing or wrong (an edited backup.json).
 */
export function registerRestore(program: Command, run: ActionRunner): void {
  withCommon(
    program
      .command('restore')
      .description('restore a backup made by `carebox backup` (replaces the current data)')
      .argument('[DIR]', "a backup's stamp, or its directory inside this install's backups/ (elsewhere only with --from-path)"),
  )
    .addOption(new Option('--yes', 'do not ask for confirmation (required without a TTY)').default(false))
    .addOption(new Option('--timeout <S>', 'seconds to wait for the app to become healthy (default 300)'))
    .addOption(
      new Option(
        '--from-other-install',
        "restore a backup of another install (moving to a new server): its records replace this install's; this install's audit trail is kept",
      ).default(false),
    )
    .addOption(new Option('--same-install', 'a backup without an install id (made before Carebox recorded one) is of this install').default(false))
    .addOption(new Option('--from-path', "DIR is a directory outside this install's backups/ folder (a backup copied from elsewhere)").default(false))
    .addOption(new Option('--backup-key <FILE>', "the backup.key that signed the backup (another install's); default this install's"))
    .addOption(new Option('--allow-unsigned', 'accept a backup without backup.json.sig (made before Carebox signed backups)').default(false))
    .addOption(
      new Option(
        '--from-restic <REPO>',
        'restore from a restic repository (a local path, sftp://user@host[:port]/path, rest:http(s)://host[:port]/path or s3:http(s)://host[:port]/bucket[/prefix]) instead of DIR: a new server needs only the repository, its password and the SSH key (SFTP) or credentials file (REST, S3)',
      ),
    )
    .addOption(new Option('--password-file <FILE>', 'with --from-restic: file holding the repository password (mode 0600)'))
    .addOption(new Option('--ssh-key <FILE>', 'with --from-restic and an SFTP repository: the private key (mode 0600)'))
    .addOption(
      new Option(
        '--credentials-file <FILE>',
        'with --from-restic and a REST or S3 repository: RESTIC_REST_USERNAME/RESTIC_REST_PASSWORD or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY lines (mode 0600)',
      ),
    )
    .addOption(new Option('--snapshot <ID>', 'with --from-restic: the snapshot to restore (default: the newest)').default('latest'))
    .action(
      run(async (out, raw, args) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const fromRestic = typeof raw.fromRestic === 'string' ? raw.fromRestic : null;
        if (fromRestic && args[0]) throw new UsageError('give either a backup DIR or --from-restic REPO, not both');
        if (!args[0] && !fromRestic) throw new UsageError('restore needs the backup DIR (or --from-restic REPO)');
        if (fromRestic && typeof raw.passwordFile !== 'string') throw new UsageError('--from-restic needs --password-file FILE (the repository password)');
        const timeoutMs = (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000;
        const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !out.json;
        const stack = await openStack(dir);
        // What the restore throws away is measured and stated before anything changes.
        const confirm = async (loss: RestoreLoss): Promise<boolean> => {
          const statement = formatRestoreLoss(loss);
          out.log(statement);
          if (raw.yes) return true;
          if (!tty)
            throw new UsageError(
              `restore replaces every record in the database and needs confirmation, but there is no TTY to ask.\n${statement}`,
              'rerun with --yes (take `carebox backup` first if the current data matters)',
            );
          const { confirmPrompt } = await loadInteractiveUi(() => import('../../installer/ui/confirm.prompt.js'));
          return confirmPrompt(
            `Replace ALL current data with the backup ${label}${loss.totalLost > 0 ? `, losing the ${loss.totalLost} row(s) above` : ''}? Clients get a 503 maintenance answer while it runs.`,
          );
        };
        const label = args[0] ?? `from ${fromRestic}`;
        const common = { timeoutMs, allowUnsigned: Boolean(raw.allowUnsigned), confirm };
        const r = await (fromRestic
          ? restoreFromRestic(
              stack,
              {
                url: fromRestic,
                passwordFile: raw.passwordFile as string,
                sshKey: typeof raw.sshKey === 'string' ? raw.sshKey : null,
                credentialsFile: typeof raw.credentialsFile === 'string' ? raw.credentialsFile : null,
                snapshot: String(raw.snapshot ?? 'latest'),
              },
              common,
              plainReporter(out),
            )
          : restoreBackup(
              stack,
              args[0]!,
              {
                timeoutMs,
                fromOtherInstall: Boolean(raw.fromOtherInstall),
                sameInstall: Boolean(raw.sameInstall),
                fromPath: Boolean(raw.fromPath),
                backupKeyFile: typeof raw.backupKey === 'string' ? raw.backupKey : null,
                allowUnsigned: Boolean(raw.allowUnsigned),
                confirm,
              },
              plainReporter(out),
            )
        ).catch((err: Error) => {
          if (err.message.startsWith('restore cancelled')) return null;
          throw err;
        });
        if (!r) {
          out.print('Nothing was changed.');
          return 1;
        }
        out.result({ ok: true, ...r });
        out.print(`Restored ${r.dir}: ${Object.keys(r.tables).length} tables verified; the app was down ${r.appDownS.toFixed(1)} s.`);
        return 0;
      }),
    );
}
