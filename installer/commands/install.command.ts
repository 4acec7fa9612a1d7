import { BACKUP_AT_OFF, dailyCron } from '../backup/backup.schedule.js';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { Option } from 'commander';
import { alertEmailFlag, alertForScaleFrom, alertModeFlag, alertWebhookFlag } from './alert.flags.js';
import { PreflightError, UsageError } from '../errors.js';
import { buildIntent } from '../plan/intent.js';
import { capacityLine } from '../plan/plan.format.js';
import {
  assertPreflight,
  firstAdminLines,
  newInstallContext,
  prepareInstall,
  runInstallSteps,
  type InstallContext,
  type InstallOptions,
  type InstallPreparation,
} from '../apply/install.apply.js';
import type { ActionRunner, RawOptions } from './action.js';
import { bindFlag, commonOptions, intFlag, withCommon } from './common.options.js';
import { intentFlagsFrom, withIntentFlags } from './plan.command.js';
import type { Output } from './output.js';
import { plainReporter } from './plain.reporter.js';
import { loadInteractiveUi } from '../ui/load.ui.js';

/** Validate install flags into InstallOptions. @throws UsageError on any bad flag. */
export function installOptionsFrom(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): InstallOptions {
  const common = commonOptions(raw as { dir?: string; json?: boolean }, env);
  const flags = intentFlagsFrom(raw);
  const intentGiven = Object.values(flags).some((v) => v !== undefined);
  return {
    root: common.dir,
    intent: intentGiven ? buildIntent(flags) : null,
    httpPort: intFlag('--http-port', raw.httpPort as string | undefined, 1, 65535) ?? null,
    bindAddress: bindFlag(raw.bind as string | undefined) ?? null,
    tlsCertFile: (raw.tlsCert as string | undefined) ?? null,
    tlsKeyFile: (raw.tlsKey as string | undefined) ?? null,
    httpsPort: intFlag('--https-port', raw.httpsPort as string | undefined, 1, 65535) ?? null,
    imagesFile: (raw.images as string | undefined) ?? null,
    bundleFile: (raw.bundle as string | undefined) ?? null,
    trustedProxies: trustedProxiesFlag(raw.trustedProxy as string[] | undefined),
    renderOnly: Boolean(raw.renderOnly),
    alerts: alertModeFlag(raw.alerts as string | undefined),
    alertEmail: alertEmailFlag(raw.alertEmail as string[] | undefined),
    alertWebhook: alertWebhookFlag(raw.alertWebhook as string | undefined),
    alertForScale: alertForScaleFrom(env),
    timeoutMs: (intFlag('--timeout', raw.timeout as string | undefined, 10, 3600) ?? 300) * 1000,
    env,
    // An empty CAREBOX_BACKUP_AT reads as not given.
    backupAt:
      typeof raw.backupAt === 'string' && raw.backupAt !== ''
        ? raw.backupAt === BACKUP_AT_OFF
          ? raw.backupAt
          : (dailyCron(raw.backupAt), raw.backupAt)
        : null,
  };
}

/** Most CIDRs `--trusted-proxy` takes (each becomes one nginx `set_real_ip_from` line). */
export const MAX_TRUSTED_PROXIES = 64;

/**
 * Parse `--trusted-proxy CIDR…` (space- or comma-separated; a bare address is a /32 or /128):
 * the hospital's reverse proxies whose X-Forwarded-For nginx believes. `none` clears the setting.
 * Returns the CIDRs in the order given, lower-cased, without duplicates; null when the flag is absent
 * (a re-run keeps the recorded ones).
 * @throws UsageError for anything that is not an IPv4/IPv6 address or CIDR, a /0 (every address
 *   could then forge its client address), or more than MAX_TRUSTED_PROXIES entries.
 */
export function trustedProxiesFlag(values: string[] | undefined): string[] | null {
  if (values === undefined) return null;
  const items = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (items.length === 1 && items[0]!.toLowerCase() === 'none') return [];
  if (items.length === 0)
    throw new UsageError(
      '--trusted-proxy needs at least one address or CIDR',
      'e.g. --trusted-proxy 10.20.0.5 or --trusted-proxy 10.20.0.0/24 (or `none` to trust no proxy)',
    );
  const out: string[] = [];
  for (const item of items) {
    const m = /^([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?$/.exec(item);
    const family = m ? isIP(m[1]!) : 0;
    const max = family === 6 ? 128 : 32;
    const prefix = m?.[2] === undefined ? max : Number(m[2]);
    if (!m || family === 0 || prefix > max) {
      throw new UsageError(
        `--trusted-proxy: '${item}' is not an IP address or CIDR`,
        'give the address (10.20.0.5) or subnet (10.20.0.0/24, fd00::/64) of the hospital proxy in front of Carebox',
      );
    }
    if (prefix === 0)
      throw new UsageError(
        `--trusted-proxy ${item} would trust every address, so any client could forge its address`,
        'give only the addresses of the hospital proxy in front of Carebox',
      );
    const cidr = `${m[1]!.toLowerCase()}/${prefix}`;
    if (!out.includes(cidr)) out.push(cidr);
  }
  if (out.length > MAX_TRUSTED_PROXIES)
    throw new UsageError(
      `--trusted-proxy takes at most ${MAX_TRUSTED_PROXIES} addresses or subnets, got ${out.length}`,
      'give the subnet the proxies share instead of each address',
    );
  return out;
}

/** The summary of a finished install, for text and JSON output. */
export function installSummary(ctx: InstallContext): Record<string, unknown> {
  return {
    ok: true,
    url: ctx.prep.options.renderOnly ? null : ctx.url,
    root: ctx.prep.root,
    project: ctx.prep.project,
    tier: ctx.plan.tier,
    capacity: ctx.plan.capacity,
    files: ctx.changes,
    manifestWritten: ctx.manifestWritten,
    images: ctx.images,
    preflight: ctx.prep.preflight,
    // The one-time password appears here once (the run that created the account) and nowhere else.
    admin: ctx.admin,
  };
}

/**
 * Report a failed preflight as the CLI contract says, with every check listed: under `--json` one
 * document `{ ok: false, error, tier, intent, preflight: [every result] }` on stdout, so a script sees
 * what passed as well as what failed; the message and hint on stderr. Returns exit code 3.
 */
export function reportPreflightFailure(err: PreflightError, prep: InstallPreparation, out: Output): number {
  out.result({ ok: false, error: err.toJSON(), root: prep.root, tier: prep.plan?.tier ?? prep.intent.tier, intent: prep.intent, preflight: prep.preflight });
  out.log(`error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ''}`);
  return err.exitCode;
}

/**
 * `carebox install`: detect → plan → preflight → (confirm) → images → render → write → up →
 * migrate → healthy → manifest. On a TTY without --yes/--json an Ink UI asks for confirmation and
 * shows progress; without a TTY it never mounts the UI and needs --yes (else exit 2).
 */
export function registerInstall(program: Command, run: ActionRunner): void {
  const cmd = withIntentFlags(withCommon(program.command('install').description('detect this host, plan a tier, render the stack and bring it up')))
    .addOption(new Option('--yes', 'do not ask for confirmation (required without a TTY)').default(false))
    .addOption(new Option('--render-only', 'write the configuration files and manifest; start nothing').default(false))
    .addOption(new Option('--http-port <P>', 'host port nginx publishes (default 80, or the installed one)'))
    .addOption(new Option('--bind <ADDR>', 'host address nginx publishes on (default 0.0.0.0, or the installed one)'))
    .addOption(
      new Option(
        '--tls-cert <FILE>',
        'PEM certificate chain: nginx serves HTTPS on --https-port and keeps plain HTTP on 127.0.0.1 only (with --tls-key; kept on re-runs)',
      ),
    )
    .addOption(new Option('--tls-key <FILE>', 'PEM private key of --tls-cert, without a passphrase'))
    .addOption(new Option('--https-port <P>', 'host port of HTTPS with --tls-cert (default 443, or the installed one)'))
    .addOption(
      new Option(
        '--backup-at <HH:MM>',
        "daily backup time (UTC) of the stack's scheduler, or off (default 02:30; kept on re-runs; `carebox backup schedule` changes it)",
      ).env('CAREBOX_BACKUP_AT'),
    )
    .addOption(
      new Option(
        '--trusted-proxy <CIDR...>',
        "the hospital's reverse proxies in front of Carebox (addresses or CIDRs): nginx takes the client address from their X-Forwarded-For, and from no one else's (kept on re-runs; `none` clears)",
      ),
    )
    .addOption(
      new Option('--images <FILE>', 'JSON map overriding the pinned images (postgres, redis, nginx, pgbouncer, node; server: a prebuilt server image)'),
    )
    .addOption(
      new Option('--bundle <FILE>', 'offline bundle from `carebox bundle create`: load its images through the Docker API instead of building or pulling'),
    )
    .addOption(
      new Option(
        '--alerts <MODE>',
        'stack: run Prometheus and Alertmanager (default on a new install); external: render only the rules file for your own Prometheus; off: no alerts (kept on re-runs)',
      ).env('CAREBOX_ALERTS'),
    )
    .addOption(new Option('--alert-email <ADDR...>', 'who gets alert mail, through SMTP_URL in .env (kept on re-runs; `none` clears)'))
    .addOption(new Option('--alert-webhook <URL>', "a URL that receives Alertmanager's webhook JSON (kept on re-runs; `none` clears)"))
    .addOption(new Option('--timeout <S>', 'seconds to wait for the stack to become healthy (default 300)'));
  cmd.action(
    run(async (out: Output, raw) => {
      const options = installOptionsFrom(raw);
      const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !out.json;
      if (!raw.yes && !interactive) {
        throw new UsageError(
          out.json ? '--json needs --yes: there is nobody to confirm the install' : 'no TTY to ask for confirmation (stdin/stdout is not a terminal)',
          'rerun with --yes to install non-interactively from flags',
        );
      }
      const prep = await prepareInstall(options);
      if (interactive) {
        const { runInstallUi } = await loadInteractiveUi(() => import('../ui/install.ui.js'));
        return runInstallUi(prep, { autoConfirm: Boolean(raw.yes) });
      }
      for (const c of prep.preflight)
        out.log(`preflight ${c.status.padEnd(4)} ${c.title}: ${c.found}${c.status !== 'pass' && c.fix ? ` (fix: ${c.fix})` : ''}`);
      try {
        assertPreflight(prep);
      } catch (err) {
        if (!(err instanceof PreflightError)) throw err;
        return reportPreflightFailure(err, prep, out);
      }
      const ctx = newInstallContext(prep);
      out.log(`plan: tier ${ctx.plan.tier}; ${ctx.plan.reasons[0] ?? ''}`);
      await runInstallSteps(ctx, plainReporter(out));
      const summary = installSummary(ctx);
      out.result(summary);
      out.print(
        ctx.prep.options.renderOnly
          ? `Rendered tier ${ctx.plan.tier} into ${ctx.prep.root} (nothing started).`
          : `Carebox is up (tier ${ctx.plan.tier}): ${ctx.url}`,
      );
      out.print(capacityLine(ctx.plan));
      for (const l of firstAdminLines(ctx.admin)) out.print(l);
      return 0;
    }),
  );
}
