import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ActionRunner } from '../../installer/commands/action.js';
import { commonOptions, withCommon } from '../../installer/commands/common.options.js';
import { UsageError } from '../../installer/errors.js';
import { openStack } from '../ops/stack.js';
import { listAlerts, sendTestAlert, silenceAlert, type FiringAlert } from '../ops/alerts.ops.js';

/** `2h`, `30m`, `1d` → ms; 1 minute to 30 days. @throws UsageError otherwise. */
export function silenceDurationMs(value: string): number {
  const m = /^(\d{1,4})(m|h|d)$/.exec(value.trim());
  const ms = m ? Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'] : NaN;
  if (!(ms >= 60_000 && ms <= 30 * 86_400_000))
    throw new UsageError(`invalid --for '${value}': expected minutes, hours or days, e.g. 30m, 4h, 2d (1 minute to 30 days)`);
  return ms;
}

/** One line per alert, for people: severity, name, since when, summary. Pure. */
export function formatAlerts(alerts: FiringAlert[]): string {
  if (alerts.length === 0) return 'No alerts are firing.';
  return alerts.map((a) => `${a.severity.toUpperCase().padEnd(8)} ${a.name.padEnd(30)} since ${a.startsAt.replace(/\.\d+Z$/, 'Z')}  ${a.summary}`).join('\n');
}

/**
 * `carebox alerts`: what Alertmanager holds firing now (silenced ones with --all).
 * `carebox alerts test`: a test notification through the real path (Alertmanager → e-mail, webhook).
 * `carebox alerts silence NAME --for 4h`: silence one alert by name.
 * Exit 0; 1 when the stack runs no Alertmanager, it is unreachable, or a test notification failed.
 */
export function registerAlerts(program: Command, run: ActionRunner): void {
  // The parent takes no options of its own: `--dir`/`--json` belong to each subcommand (commander
  // would otherwise give them to the parent). `carebox alerts` alone runs `list`.
  const cmd = program
    .command('alerts')
    .description('list firing alerts (Alertmanager); `alerts test` sends a test notification; `alerts silence NAME` silences one');
  withCommon(cmd.command('list', { isDefault: true }).description('list the alerts firing now'))
    .addOption(new Option('--all', 'include silenced alerts').default(false))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const stack = await openStack(dir);
        const alerts = await listAlerts(stack.docker, stack.manifest, { includeSilenced: Boolean(raw.all) });
        out.result({ ok: true, alerts });
        out.print(formatAlerts(alerts));
        return 0;
      }),
    );
  withCommon(cmd.command('test').description('send a test notification by the configured e-mail and webhook, and wait for Alertmanager to deliver it'))
    .addOption(new Option('--timeout <S>', 'seconds to wait for delivery (default 90)'))
    .action(
      run(async (out, raw) => {
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const timeout = raw.timeout === undefined ? 90 : Number(raw.timeout);
        if (!Number.isInteger(timeout) || timeout < 5 || timeout > 600)
          throw new UsageError(`invalid --timeout '${String(raw.timeout)}': whole seconds from 5 to 600`);
        const stack = await openStack(dir);
        const r = await sendTestAlert(stack.docker, stack.manifest, { waitMs: timeout * 1000 });
        out.result({ ok: r.delivered, ...r });
        for (const [name, v] of Object.entries(r.integrations)) {
          out.print(
            `${name}: ${v.attempted === 0 ? 'not attempted yet' : v.failed > 0 ? `FAILED (${v.failed} of ${v.attempted} attempts; see \`carebox logs alertmanager\`)` : 'sent'}`,
          );
        }
        return r.delivered ? 0 : 1;
      }),
    );
  withCommon(
    cmd
      .command('silence')
      .argument('<NAME>', 'the alert name, as `carebox alerts` shows it (e.g. DiskSpaceLow)')
      .description('silence one alert by name for a while (an Alertmanager silence)'),
  )
    .addOption(new Option('--for <DURATION>', 'how long: 30m, 4h, 2d (default 4h)'))
    .addOption(new Option('--comment <TEXT>', 'why (shown with the silence)'))
    .action(
      run(async (out, raw, args) => {
        const name = args[0] ?? '';
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(name))
          throw new UsageError(`invalid alert name '${name}'`, 'give the name `carebox alerts` shows, e.g. DiskSpaceLow');
        const ms = silenceDurationMs((raw.for as string | undefined) ?? '4h');
        const { dir } = commonOptions(raw as { dir?: string; json?: boolean });
        const stack = await openStack(dir);
        const id = await silenceAlert(
          stack.docker,
          stack.manifest,
          name,
          ms,
          userInfo().username,
          (raw.comment as string | undefined) ?? 'silenced with carebox alerts silence',
        );
        out.result({ ok: true, silenceId: id, alert: name, until: new Date(Date.now() + ms).toISOString() });
        out.print(`Silenced ${name} until ${new Date(Date.now() + ms).toISOString()} (silence ${id}).`);
        return 0;
      }),
    );
}
