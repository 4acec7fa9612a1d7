import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions as parseCommon, withCommon } from '../../installer/commands/common.options.js';
import { plainReporter } from '../../installer/commands/plain.reporter.js';
import { catchUp, describeSchedule } from '../../installer/backup/backup.schedule.js';
import { emptyStatus } from '../../installer/backup/backup.status.js';
import { requireManifest } from '../../installer/manifest/manifest.js';
import { INSTALL_FILES } from '../../installer/paths.js';
import { addOffsite, removeOffsite, setSchedule } from '../ops/schedule.ops.js';
import { openStack } from '../ops/stack.js';

/**
 * `carebox backup schedule [--at HH:MM | --cron EXPR] [--timezone TZ] [--off]`: without flags, show
 * the schedule, the next run and what the last backup, drill and off-host copies did; with flags,
 * change it in carebox.json (the running scheduler picks it up within seconds) and start the
 * scheduler service when the stack has none yet. Exit 0; 2 bad time or expression.
 *
 * `carebox backup offsite add NAME REPO [--ssh-key FILE | --credentials-file FILE]` · `offsite
 * remove NAME` · `offsite list`: restic repositories every scheduled backup is copied to (a local
 * path, sftp://, rest: or s3:, installer/backup/offsite.config.ts). The first `add` creates the
 * repository password (secrets/restic-password, 0600) and prints it once. Exit 0; 1 restic cannot
 * reach or create the repository; 2 bad name, URL, key or credentials file.
 */
export function registerScheduleCommands(backup: Command, run: ActionRunner): void {
  // `backup` has --dir/--json too, and commander gives an option after the subcommand to whichever
  // command it reaches first: take each from either.
  const commonOptions = (raw: { dir?: string; json?: boolean }) => {
    const parent = backup.opts() as { dir?: string; json?: boolean };
    return parseCommon({ dir: raw.dir ?? parent.dir, json: Boolean(raw.json || parent.json) });
  };
  withCommon(backup.command('schedule').description('show or change when the stack backs itself up (carebox.json; the scheduler service runs it)'))
    .addOption(new Option('--at <HH:MM>', 'daily at this time (24 h)'))
    .addOption(new Option('--cron <EXPR>', 'a cron expression (5 fields, or 6 with seconds first)'))
    .addOption(new Option('--timezone <TZ>', 'IANA time zone the time is read in (default UTC)'))
    .addOption(new Option('--off', 'stop scheduled backups (manual `carebox backup` still works)').default(false))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const change = Boolean(raw.at || raw.cron || raw.off);
        if (change) {
          const stack = await openStack(dir);
          const s = await setSchedule(
            stack,
            { at: raw.at as string | undefined, cron: raw.cron as string | undefined, timezone: raw.timezone as string | undefined, off: Boolean(raw.off) },
            plainReporter(out),
          );
          out.result({ ok: true, schedule: s });
          out.print(`Backup schedule: ${describeSchedule(s)}. The scheduler service applies it within seconds.`);
          return 0;
        }
        const m = await requireManifest(dir);
        const s = m.backups?.schedule ?? null;
        const st = { ...emptyStatus(), ...(m.backups?.status ?? {}) };
        const next = s ? catchUp(s, st.lastAttemptAt, new Date()).next : null;
        out.result({
          ok: true,
          schedule: s,
          next,
          scheduler: m.images.scheduler ?? null,
          offsite: m.backups?.offsite ?? [],
          keep: m.backups?.keep ?? 7,
          status: st,
        });
        out.print(
          [
            `Schedule: ${s ? describeSchedule(s) : 'none (set one with --at HH:MM)'}${next ? `; next run ${next}` : ''}`,
            `Scheduler service: ${m.images.scheduler ? `runs ${m.images.scheduler}` : 'not installed (any change with --at/--cron adds it)'}`,
            `Last backup: ${st.lastAttemptAt ? `${st.lastAttemptAt} ${st.lastAttemptOk ? 'ok' : `FAILED (${st.lastAttemptWhy})`}` : 'never'}; last verified ${st.lastSuccessAt ?? 'never'}`,
            `Restore drill: ${st.drill ? `${st.drill.at} ${st.drill.ok ? 'passed' : `FAILED (${st.drill.why})`} in ${(st.drill.durationMs / 1000).toFixed(1)} s` : 'never'}`,
            ...(m.backups?.offsite ?? []).map(
              (r) =>
                `Off-host ${r.name} (${r.url}): ${st.offsite[r.name] ? `${st.offsite[r.name]!.ok ? 'ok' : `FAILED (${st.offsite[r.name]!.why})`}, last success ${st.offsite[r.name]!.lastSuccessAt ?? 'never'}` : 'no copy yet'}`,
            ),
            ...(st.refusedAt ? [`Last refused for lack of disk space: ${st.refusedAt}`] : []),
          ].join('\n'),
        );
        return 0;
      }),
    );

  const offsite = backup.command('offsite').description('restic repositories that receive a copy of every scheduled backup');
  withCommon(
    offsite
      .command('add')
      .description('add a restic repository (created when missing)')
      .argument('<NAME>', 'a short name: usb, dr-site')
      .argument(
        '<REPO>',
        'an absolute local path, sftp://user@host[:port]/absolute/path, rest:http(s)://host[:port]/path or s3:http(s)://host[:port]/bucket[/prefix]',
      ),
  )
    .addOption(new Option('--ssh-key <FILE>', 'SFTP: the private key to log in with (mode 0600)'))
    .addOption(
      new Option(
        '--credentials-file <FILE>',
        'REST: RESTIC_REST_USERNAME=… and RESTIC_REST_PASSWORD=… lines; S3: AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… (mode 0600; kept in secrets/)',
      ),
    )
    .action(
      run(async (out, raw, args) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const stack = await openStack(dir);
        const r = await addOffsite(
          stack,
          {
            name: args[0]!,
            url: args[1]!,
            sshKey: typeof raw.sshKey === 'string' ? raw.sshKey : null,
            credentialsFile: typeof raw.credentialsFile === 'string' ? raw.credentialsFile : null,
          },
          plainReporter(out),
        );
        out.result({ ok: true, name: args[0], url: r.url, created: r.created, passwordFile: `${dir}/${INSTALL_FILES.resticPassword}`, password: r.password });
        if (r.urlHadCredentials)
          out.log(
            `warning: the password in the URL was visible to other users (ps) and may be in your shell history; Carebox keeps it in secrets/restic-${args[0]}.credentials only. Next time use --credentials-file.`,
          );
        if (r.password) {
          out.print(
            [
              'The restic repository password was created. It is shown ONCE:',
              '',
              `    ${r.password}`,
              '',
              'Without it the off-host backups cannot be read. Keep a copy OFF this server (a password',
              'manager or a sealed envelope in the safe): restoring on a new server needs only the',
              `repository and this password (carebox restore --from-restic REPO --password-file FILE). It is also in ${INSTALL_FILES.resticPassword} (0600).`,
            ].join('\n'),
          );
        }
        out.print(`Repository ${args[0]} (${r.url}) ${r.created ? 'created' : 'opened'}; every scheduled backup is copied there.`);
        return 0;
      }),
    );
  withCommon(offsite.command('remove').description('stop copying to a repository (its data stays)').argument('<NAME>')).action(
    run(async (out, raw, args) => {
      const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
      await removeOffsite(await openStack(dir), args[0]!);
      out.result({ ok: true, removed: args[0] });
      out.print(`Repository ${args[0]} removed from carebox.json; its snapshots were not touched.`);
      return 0;
    }),
  );
  withCommon(offsite.command('list').description('the repositories and their last copy')).action(
    run(async (out, raw) => {
      const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
      const m = await requireManifest(dir);
      const list = m.backups?.offsite ?? [];
      out.result({ ok: true, repositories: list, status: m.backups?.status?.offsite ?? {} });
      out.print(
        list.length
          ? list.map((r) => `${r.name}\t${r.url}\tlast success ${m.backups?.status?.offsite[r.name]?.lastSuccessAt ?? 'never'}`).join('\n')
          : 'No repositories (add one with `carebox backup offsite add NAME REPO`).',
      );
      return 0;
    }),
  );
}

/**
 * `carebox scheduler run` (internal: the stack's scheduler service runs it): the loop of
 * console/ops/scheduler.ops.ts until SIGTERM. `--once` takes one scheduled run now and exits
 * (0 when the backup, its drill and every copy succeeded, else 1).
 */
export function registerScheduler(program: Command, run: ActionRunner): void {
  const sched = program.command('scheduler').description("internal: the stack's backup scheduler service");
  withCommon(sched.command('run').description('run scheduled backups until stopped (the scheduler service)'))
    .addOption(new Option('--once', 'take one scheduled run now (backup, drill, off-host copies, retention) and exit').default(false))
    .action(
      run(async (out, raw) => {
        const { dir } = parseCommon(raw as { dir?: string; json?: boolean });
        const { runScheduler, scheduledRun } = await import('../ops/scheduler.ops.js');
        const { silentReporter } = await import('../ops/stack.js');
        const log = (l: string) => out.log(`${new Date().toISOString()} scheduler: ${l}`);
        if (raw.once) {
          const r = await scheduledRun(dir, silentReporter, log);
          out.result({ ok: r.backupOk && (r.drill?.ok ?? false) && r.offsite.every((o) => o.ok), ...r });
          return r.backupOk && (r.drill?.ok ?? false) && r.offsite.every((o) => o.ok) ? 0 : 1;
        }
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        await runScheduler(dir, { signal: ac.signal, reporter: silentReporter, log });
        log('stopped');
        return 0;
      }),
    );
}
