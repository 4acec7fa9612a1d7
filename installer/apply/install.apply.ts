import { existsSync } from 'node:fs';
import { mkdtemp, rm, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { detectHost } from '../detect/host.detect.js';
import type { HostFacts } from '../detect/host-facts.js';
import { CareboxError, OperationError, PreflightError, UsageError } from '../errors.js';
import { readManifest, renderManifest, type HistoryEntry, type Manifest, type ScaleOverride } from '../manifest/manifest.js';
import { INSTALL_FILES, packageRoot } from '../paths.js';
import type { Intent, Plan } from '../plan/plan.types.js';
import type { BackupMode } from '../plan/scheduler.sizing.js';
import { planCarebox, planWithDefaults } from '../plan/tier.plan.js';
import { expectedReplicas } from '../plan/stack.services.js';
import { withMeasuredFrom } from '../plan/capacity.estimate.js';
import { stablePlanHost } from '../plan/host.stability.js';
import { preflightPassed, runPreflight, type CheckResult } from '../preflight/preflight.checks.js';
import type { AlertMode } from '../plan/monitoring.sizing.js';
import { MONITORING_FILES, type AlertSettings } from '../render/monitoring.render.js';
import { ensureBackupMetrics } from '../backup/backup.metrics.js';
import { BACKUP_AT_OFF, DEFAULT_BACKUP_AT, newSchedule, type BackupSchedule } from '../backup/backup.schedule.js';
import { cliBaseImages, ensureCliImage } from './cli.image.js';
import { DEFAULT_IMAGES, MONITORING_IMAGES, type BaseImageName, type BaseImages, type ImagesMap, type StackImages } from '../render/images.map.js';
import { checksum, renderStack, type RenderedFile } from '../render/render.js';
import { loadTemplates, type Templates } from '../render/templates.load.js';
import { budgetHostOf, resizeReplicas } from '../plan/scale.resize.js';
import { loadBundle, readBundleIndex } from './bundle.load.js';
import { runningCli, writeCliImageFile } from '../manifest/cli.record.js';
import { CAREBOX_VERSION } from '../version.js';
import { ComposeCli } from '../runtime/compose.cli.js';
import { connectDocker } from '../runtime/docker.connect.js';
import { readIfExists, writeFileAtomic, utcStamp } from './fs.atomic.js';
import { writeRenderedFiles, type FileChange } from './files.write.js';
import { waitHealthy } from '../runtime/health.wait.js';
import { waitForHttp200 } from '../runtime/url.poll.js';
import { reloadNginxOrRevert } from '../runtime/nginx.reload.js';
import { ensureBaseImages, ensureServerImage, imageExists, loadImagesMap } from './images.ensure.js';
import { assertNginxImage } from './nginx.version.js';
import { MIN_NGINX_VERSION } from '../plan/sizing.constants.js';
import { projectNameFor } from './project.name.js';
import { loadSecrets, type EnvFile } from './secrets.store.js';
import { runSteps, type Step, type StepReporter } from './steps.js';
import { withStackLock } from '../runtime/stack.lock.js';
import { checkEdgeTls, edgePorts, edgeUrls, readTlsPair, tlsRecord, TLS_CERT_FILE, TLS_KEY_FILE, type TlsPair, type TlsRecord } from './edge.tls.js';
import { verifyLimits } from './limits.verify.js';
import { applyDbRoles, runMigrations } from './db.roles.js';
import { DIRECT_DB_ENV, serverCommand } from '../runtime/server.cli.js';
import { ensureBackupKey } from './backup.key.js';
import { installIdFor } from '../manifest/install.id.js';

/** What the operator asked `carebox install` for, after flag validation. */
export interface InstallOptions {
  root: string;
  /** null: keep the manifest's intent on a re-run, else plan automatically. */
  intent: Intent | null;
  /** null: keep the manifest's port on a re-run, else 80. */
  httpPort: number | null;
  /** null: keep the manifest's address on a re-run, else 0.0.0.0. */
  bindAddress: string | null;
  /** PEM certificate chain and key for TLS at the edge (both or neither); null keeps what the manifest recorded. */
  tlsCertFile?: string | null;
  tlsKeyFile?: string | null;
  /** HTTPS host port; null keeps the recorded one, else 443. Only with TLS. */
  httpsPort?: number | null;
  /** The hospital's proxies in front of nginx (CIDRs, validated); null keeps the recorded ones, else none. */
  trustedProxies?: string[] | null;
  imagesFile: string | null;
  /** An offline bundle (`carebox bundle create`): its images are loaded and used instead of building or pulling. */
  bundleFile?: string | null;
  renderOnly: boolean;
  /** `--alerts stack|external|off`; null keeps the recorded mode on a re-run, else `stack`. */
  alerts?: AlertMode | null;
  /** `--alert-email` (null keeps the recorded recipients) and `--alert-webhook` (null keeps, '' clears). */
  alertEmail?: string[] | null;
  alertWebhook?: string | null;
  /** Test-only (CAREBOX_TEST_ALERT_FOR_SCALE): shortens every rule's `for:`; null in production. */
  alertForScale?: number | null;
  /** Health wait, ms. */
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  /**
   * Daily backup time HH:MM (UTC) for the stack's scheduler, or `off` (no scheduled backups; manual
   * `carebox backup` still works); null keeps the recorded schedule, else daily at 02:30.
   */
  backupAt?: string | null;
}

/** Everything decided before anything is changed: shown to the operator for confirmation. */
export interface InstallPreparation {
  options: InstallOptions;
  root: string;
  project: string;
  httpPort: number;
  bindAddress: string;
  /** TLS at the edge (recorded in carebox.json), or null for plain HTTP. */
  tls: TlsRecord | null;
  /** A new certificate and key to write; null keeps the files in place (or there is no TLS). */
  tlsPair: TlsPair | null;
  /** Proxies whose X-Forwarded-For nginx believes (CIDRs), recorded in carebox.json; absent or empty for none. */
  trustedProxies?: string[];
  facts: HostFacts;
  intent: Intent;
  plan: Plan | null;
  planError: CareboxError | null;
  preflight: CheckResult[];
  previous: Manifest | null;
  /** Replica counts recorded by `carebox scale` that this plan keeps (same tier, budgets still fit), or null. */
  scale?: ScaleOverride | null;
  /** Where alerts go (recorded in carebox.json). */
  alerts?: AlertSettings;
}

const EMPTY_INTENT: Intent = { tier: null, users: null, usersSource: null, nodes: null };

/**
 * Detect the host, plan, and run preflight for an install. Changes nothing.
 * A re-run without intent/port flags keeps what the manifest recorded, so it plans the same stack.
 */
export async function prepareInstall(options: InstallOptions): Promise<InstallPreparation> {
  const root = resolve(options.root);
  const previous = await readManifest(root);
  const project = previous?.project ?? projectNameFor(root);
  const httpPort = options.httpPort ?? previous?.http.port ?? 80;
  const bindAddress = options.bindAddress ?? previous?.http.bindAddress ?? '0.0.0.0';
  const baseIntent = options.intent ?? previous?.intent ?? EMPTY_INTENT;
  // A first install runs alerts in the stack unless told otherwise; a re-run keeps the recorded
  // mode (an install from before alerts reads as `off`: turning them on changes PostgreSQL's share).
  const alertMode: AlertMode = options.alerts ?? previous?.intent.alerts ?? (previous ? 'off' : 'stack');
  // Backups likewise: `--backup-at off` is manual, a time is scheduled; else the recorded mode (an
  // install from before the mode has none: its plan keeps PostgreSQL's share, and a scheduler it
  // runs stays outside the budget, as it was).
  const backupMode: BackupMode | undefined =
    options.backupAt === BACKUP_AT_OFF ? 'manual' : options.backupAt ? 'scheduled' : previous ? previous.intent.backups : 'scheduled';
  let intent: Intent = { ...baseIntent, alerts: alertMode, backups: backupMode };
  const alerts = alertSettingsFor(options, previous);
  const trustedProxies = options.trustedProxies ?? previous?.http.trustedProxies ?? [];
  const { tls, tlsPair } = await edgeTlsFor(options, root, previous, httpPort);
  const ports = edgePorts({ port: httpPort, bindAddress, tls }).map(({ port, bindAddress: address }) => ({ port, bindAddress: address }));
  const facts = await detectHost({ installRoot: root, ports, env: options.env, composeProject: project });
  // A re-run on an unchanged host plans with the recorded figures, so memory noise never changes limits.
  const { host } = stablePlanHost(previous?.facts ?? null, facts);
  let plan: Plan | null = null;
  let planError: CareboxError | null = null;
  try {
    // A first install without --alerts runs monitoring in the stack where it fits, else renders the
    // rules only; without --backup-at it schedules backups where the scheduler fits, else manual.
    const p = planWithDefaults(host, intent, { alerts: options.alerts == null && !previous, backups: options.backupAt == null && !previous });
    intent = { ...intent, alerts: p.intent.alerts, backups: p.intent.backups };
    plan = p;
  } catch (err) {
    if (!(err instanceof CareboxError)) throw err;
    planError = err;
  }
  // Keep counts an admin set with `carebox scale` while the tier stays and they still fit.
  let scale: ScaleOverride | null = null;
  if (plan && previous?.scale && previous.scale.tier === plan.tier) {
    const check = resizeReplicas(plan, previous.scale.replicas, budgetHostOf(host), { overcommit: previous.scale.overcommit });
    if (check.blocking.length === 0) {
      plan = check.plan;
      scale = previous.scale;
    }
  }
  const preflight = runPreflight({
    facts,
    tier: intent.tier,
    plan,
    planError: planError?.message ?? null,
    planHint: planError?.hint ?? null,
    project,
    httpsPort: tls?.httpsPort ?? null,
  });
  return { options, root, project, httpPort, bindAddress, tls, tlsPair, trustedProxies, facts, intent, plan, planError, preflight, previous, scale, alerts };
}

/** Alert delivery for this install: the flags given, else what carebox.json recorded. */
export function alertSettingsFor(options: Pick<InstallOptions, 'alertEmail' | 'alertWebhook' | 'alertForScale'>, previous: Manifest | null): AlertSettings {
  const prev = previous?.alerts;
  const webhook =
    options.alertWebhook === undefined || options.alertWebhook === null
      ? (prev?.webhookUrl ?? null)
      : options.alertWebhook === ''
        ? null
        : options.alertWebhook;
  const out: AlertSettings = { email: options.alertEmail ?? prev?.email ?? [], webhookUrl: webhook };
  const scale = options.alertForScale ?? prev?.forScale;
  if (scale !== undefined && scale !== null && scale !== 1) out.forScale = scale;
  return out;
}

/**
 * TLS for this install: new files from --tls-cert/--tls-key (checked), else what the manifest
 * recorded (its files must still be in the install root), else none.
 * @throws UsageError for half the pair, --https-port without TLS, equal HTTP and HTTPS ports, bad
 *   or expired files, or recorded TLS whose files are gone.
 */
async function edgeTlsFor(
  options: InstallOptions,
  root: string,
  previous: Manifest | null,
  httpPort: number,
): Promise<{ tls: TlsRecord | null; tlsPair: TlsPair | null }> {
  const cert = options.tlsCertFile ?? null;
  const key = options.tlsKeyFile ?? null;
  if ((cert === null) !== (key === null))
    throw new UsageError('--tls-cert and --tls-key go together', 'give both PEM files (the certificate chain and its private key)');
  const recorded = previous?.http.tls ?? null;
  let tls: TlsRecord | null = null;
  let tlsPair: TlsPair | null = null;
  if (cert !== null && key !== null) {
    tlsPair = await readTlsPair(cert, key);
    tls = tlsRecord(tlsPair, options.httpsPort ?? recorded?.httpsPort ?? 443);
  } else if (recorded) {
    if (!existsSync(join(root, TLS_CERT_FILE)) || !existsSync(join(root, TLS_KEY_FILE))) {
      throw new UsageError(
        `carebox.json records TLS at the edge, but ${TLS_CERT_FILE} or ${TLS_KEY_FILE} is missing in ${root}`,
        'rerun with --tls-cert FILE --tls-key FILE',
      );
    }
    tls = { ...recorded, httpsPort: options.httpsPort ?? recorded.httpsPort };
  } else if (options.httpsPort != null) {
    throw new UsageError('--https-port needs --tls-cert and --tls-key', 'give the certificate and key nginx should serve, or leave --https-port out');
  }
  if (tls && tls.httpsPort === httpPort)
    throw new UsageError(`--https-port and --http-port are both ${httpPort}`, 'HTTPS and the local HTTP port need different ports (e.g. 443 and 8080)');
  return { tls, tlsPair };
}

/**
 * Throw the preflight failure (exit 3) when any check failed; `--render-only` only needs a plan.
 * @throws PreflightError listing each failed check with its fix.
 */
export function assertPreflight(prep: InstallPreparation): void {
  const checks = prep.options.renderOnly ? prep.preflight.filter((c) => c.id === 'tier-resources') : prep.preflight;
  if (preflightPassed(checks)) return;
  const failed = checks.filter((c) => c.status === 'fail');
  throw new PreflightError(
    `preflight failed:\n${failed.map((c) => `  ✗ ${c.title}: found ${c.found}; needs ${c.needs}${c.fix ? `\n    fix: ${c.fix}` : ''}`).join('\n')}`,
    prep.planError?.hint ?? 'fix the failed checks and rerun; `carebox plan` shows what each tier needs',
    { preflight: prep.preflight },
  );
}

/** State the install steps share. */
export interface InstallContext {
  prep: InstallPreparation;
  plan: Plan;
  docker: Docker | null;
  compose: ComposeCli | null;
  baseImages: BaseImages | null;
  images: StackImages | null;
  env: EnvFile | null;
  files: RenderedFile[];
  changes: FileChange[];
  stamp: string;
  /** What people open: HTTPS when TLS is on. */
  url: string;
  /** Plain HTTP reachable from this host, for the smoke test. */
  internalUrl: string;
  manifestWritten: boolean;
  /** Templates to render from: a bundle's when one is given, else the package's. */
  templates: Templates | null;
  /** The first admin account: its one-time password is set only on the run that created it. */
  admin: FirstAdmin | null;
}

/** Result of the first-admin step. The password is shown once and never stored or logged. */
export interface FirstAdmin {
  username: string;
  created: boolean;
  /** Present only when this run created the account; it must be changed at first sign-in. */
  oneTimePassword: string | null;
}

/** The lines telling the operator how to sign in; the one-time password only when just created. */
export function firstAdminLines(a: FirstAdmin | null): string[] {
  if (!a) return [];
  if (!a.created || !a.oneTimePassword) return [`Sign in as '${a.username}' with the password you set.`];
  return [
    `First admin: ${a.username}`,
    `One-time password: ${a.oneTimePassword}`,
    'It is shown only now and stored nowhere: sign in and change it (every other action is refused until you do).',
  ];
}

/**
 * The base images a previous install recorded (postgres, redis, nginx, pgbouncer, node), so a re-run
 * without --images or --bundle keeps them instead of switching to the pinned defaults (which an
 * air-gapped host cannot pull). The server and scheduler images are left out: they are rebuilt from
 * this package when the package changed, and found as is when it did not. Null on a first install.
 */
export function recordedBaseImages(previous: Manifest | null): ImagesMap | null {
  if (!previous) return null;
  // The scheduler's CLI image is chosen again too (withScheduler), after the server's.
  const { server: _server, scheduler: _scheduler, ...base } = previous.images;
  return { ...DEFAULT_IMAGES, ...base };
}

/**
 * Parse create-admin.js's stdout: exactly one JSON line `{"created":bool,"username":"…","password"?:"…"}`.
 * @throws OperationError when the output is not that (a server/installer version mismatch).
 */
export function parseCreateAdmin(stdout: string): FirstAdmin {
  const line = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  let json: { created?: unknown; username?: unknown; password?: unknown } | null = null;
  try {
    json = line ? JSON.parse(line) : null;
  } catch {
    json = null;
  }
  if (!json || typeof json.created !== 'boolean' || typeof json.username !== 'string') {
    throw new OperationError(
      'the first-admin step printed no result',
      'rerun `carebox install`; if it repeats, the server image does not match this Carebox version',
    );
  }
  const password = json.created && typeof json.password === 'string' ? json.password : null;
  return { username: json.username, created: json.created, oneTimePassword: password };
}

/** A new context for the install steps. @throws PreflightError when there is no plan. */
export function newInstallContext(prep: InstallPreparation): InstallContext {
  if (!prep.plan) throw prep.planError ?? new PreflightError('no plan');
  const urls = edgeUrls({ port: prep.httpPort, bindAddress: prep.bindAddress, tls: prep.tls });
  return {
    prep,
    plan: prep.plan,
    docker: null,
    compose: null,
    baseImages: null,
    images: null,
    env: null,
    files: [],
    changes: [],
    stamp: utcStamp(),
    url: urls.public,
    internalUrl: urls.internal,
    manifestWritten: false,
    admin: null,
    templates: null,
  };
}

function baseImagesNeeded(plan: Plan): BaseImageName[] {
  const base: BaseImageName[] = plan.sizing.pgbouncer ? ['postgres', 'redis', 'nginx', 'pgbouncer', 'node'] : ['postgres', 'redis', 'nginx', 'node'];
  return plan.sizing.monitoring ? [...base, ...MONITORING_IMAGES] : base;
}

/** Render with the context's inputs (shared by validate and write). */
function render(ctx: InstallContext): RenderedFile[] {
  return renderStack({
    plan: ctx.plan,
    env: ctx.env!,
    images: ctx.images!,
    options: {
      project: ctx.prep.project,
      httpPort: ctx.prep.httpPort,
      bindAddress: ctx.prep.bindAddress,
      httpsPort: ctx.prep.tls?.httpsPort ?? null,
      trustedProxies: ctx.prep.trustedProxies ?? [],
      version: CAREBOX_VERSION,
      dockerRoot: ctx.prep.facts.docker.dataRoot,
      alerts: ctx.prep.alerts ?? null,
      installRoot: ctx.prep.root,
    },
    templates: ctx.templates ?? loadTemplates(),
    tlsFiles: ctx.prep.tlsPair ? { certPem: ctx.prep.tlsPair.certPem, keyPem: ctx.prep.tlsPair.keyPem } : null,
  });
}

/** The manifest this install would write. History grows only when the stack's shape changed. */
function nextManifest(ctx: InstallContext, now: string): Manifest {
  const prev = ctx.prep.previous;
  const files = Object.fromEntries(ctx.files.map((f) => [f.path, checksum(f.content)]));
  const history: HistoryEntry[] = [...(prev?.history ?? [])];
  if (!prev) history.push({ appliedAt: now, action: 'install', tier: ctx.plan.tier, summary: `installed tier ${ctx.plan.tier}` });
  else if (prev.plan.tier !== ctx.plan.tier)
    history.push({ appliedAt: now, action: 'retier', tier: ctx.plan.tier, summary: `${prev.plan.tier} → ${ctx.plan.tier} (install)` });
  return {
    schemaVersion: 1,
    carebox: { version: CAREBOX_VERSION },
    installId: installIdFor(prev),
    project: ctx.prep.project,
    installRoot: ctx.prep.root,
    http: {
      port: ctx.prep.httpPort,
      bindAddress: ctx.prep.bindAddress,
      ...(ctx.prep.tls ? { tls: ctx.prep.tls } : {}),
      ...(ctx.prep.trustedProxies?.length ? { trustedProxies: ctx.prep.trustedProxies } : {}),
    },
    installedAt: prev?.installedAt ?? now,
    appliedAt: now,
    facts: ctx.prep.facts,
    intent: ctx.prep.intent,
    // A measured capacity (carebox loadtest) is kept only while the stack keeps the shape it was measured on.
    plan: withMeasuredFrom(ctx.plan, prev?.plan),
    images: ctx.images!,
    files,
    history,
    ...(ctx.prep.scale ? { scale: ctx.prep.scale } : {}),
    backups: { keep: prev?.backups?.keep ?? 7, last: prev?.backups?.last ?? null, ...(prev?.backups ?? {}), schedule: recordedSchedule(ctx, new Date(now)) },
    ...(ctx.prep.alerts && (ctx.prep.alerts.email.length > 0 || ctx.prep.alerts.webhookUrl || ctx.prep.alerts.forScale) ? { alerts: ctx.prep.alerts } : {}),
    cli: runningCli(ctx.prep.options.env),
  };
}

/**
 * The backup schedule an install records: `--backup-at HH:MM` when given (`off`: the recorded or
 * default schedule, disabled), else the recorded one, else daily at 02:30 UTC. Pure.
 * @throws UsageError for a bad time.
 */
export function installSchedule(backupAt: string | null, recorded: BackupSchedule | null, now: Date): BackupSchedule {
  if (backupAt === BACKUP_AT_OFF) return { ...(recorded ?? newSchedule({ at: DEFAULT_BACKUP_AT }, now)), enabled: false };
  if (backupAt) return newSchedule({ at: backupAt }, now);
  return recorded ?? newSchedule({ at: DEFAULT_BACKUP_AT }, now);
}

/** The schedule carebox.json records: {@link installSchedule}, disabled when the plan's backups are manual. */
function recordedSchedule(ctx: InstallContext, now: Date): BackupSchedule {
  const s = installSchedule(ctx.prep.options.backupAt ?? null, ctx.prep.previous?.backups?.schedule ?? null, now);
  return ctx.plan.intent.backups === 'manual' ? { ...s, enabled: false } : s;
}

/**
 * The images with the scheduler's: a release's CLI image (the launcher passes CAREBOX_CLI_IMAGE)
 * runs the stack's `scheduler` service. A source install with scheduled backups on (the default)
 * builds the CLI image from this package (installer/apply/cli.image.ts; named by a content hash, so
 * an unchanged package reuses it); with them off it keeps the image a previous run recorded. A
 * bundle install from the source CLI builds nothing (air-gapped): it keeps the recorded one.
 * @throws OperationError / ExternalCommandError when the CLI image cannot be built (a base image missing).
 */
async function withScheduler(images: StackImages, ctx: InstallContext, opts: { build: boolean; progress: (msg: string) => void }): Promise<StackImages> {
  const prev = ctx.prep.previous;
  // Manual backups (--backup-at off, or a host too small for the scheduler): no scheduler service.
  if (ctx.plan.intent.backups === 'manual') return images;
  let scheduler = runningCli(ctx.prep.options.env).image;
  const scheduled =
    ctx.plan.intent.backups === 'scheduled' && installSchedule(ctx.prep.options.backupAt ?? null, prev?.backups?.schedule ?? null, new Date()).enabled;
  if (!scheduler && opts.build && scheduled) {
    const base = cliBaseImages(images, ctx.prep.options.env);
    await ensureBaseImages(ctx.docker!, { ...images, dockerCli: base.dockerCli }, ['dockerCli'], opts.progress);
    scheduler = await ensureCliImage(ctx.docker!, { packageRoot: packageRoot(), version: CAREBOX_VERSION, base, onProgress: opts.progress });
  }
  scheduler ??= prev?.images.scheduler ?? null;
  return scheduler ? { ...images, scheduler } : images;
}

/** Whether the manifest's meaningful content (plan, images, files, port) differs from `next`. */
function manifestChanged(prev: Manifest | null, next: Manifest): boolean {
  if (!prev) return true;
  const key = (m: Manifest) =>
    JSON.stringify([m.plan.sizing, m.plan.tier, m.images, m.files, m.http, m.intent, m.carebox.version, m.installId, m.cli ?? null, m.alerts ?? null]);
  return key(prev) !== key(next);
}

/**
 * Run the install steps holding the install root's operation lock when the root already exists (a
 * re-run on a live stack), so an install never recreates containers under a running restart,
 * scale, re-tier, restore or upgrade, nor they under it.
 * @throws OperationError when another operation holds the lock; whatever a step throws.
 */
export async function runInstallSteps(ctx: InstallContext, reporter: StepReporter): Promise<void> {
  if (!existsSync(ctx.prep.root)) return runSteps(installSteps(), ctx, reporter);
  return withStackLock(ctx.prep.root, 'install', () => runSteps(installSteps(), ctx, reporter));
}

/**
 * The install steps, in order: connect to Docker, images, render + validate with the real Compose,
 * write files (atomically, old versions backed up; backup.key created once), start data services,
 * create or update the database roles, migrate as the owner role, start the rest,
 * wait healthy, verify limits, write the manifest, smoke-test through nginx.
 * `--render-only` stops after writing files and the manifest.
 */
export function installSteps(): Step<InstallContext>[] {
  const renderOnly = (ctx: InstallContext) => (ctx.prep.options.renderOnly ? '--render-only' : null);
  return [
    {
      id: 'secrets',
      title: 'Load or create secrets',
      run: async (ctx) => {
        ctx.env = await loadSecrets(ctx.prep.root);
        return ctx.env.generated.length > 0 ? `generated ${ctx.env.generated.join(', ')}` : 'kept the existing secrets';
      },
    },
    {
      id: 'docker',
      title: 'Connect to Docker',
      skipIf: renderOnly,
      run: async (ctx) => {
        const conn = await connectDocker(ctx.prep.options.env, ctx.prep.facts.docker);
        ctx.docker = conn.docker;
        ctx.compose = new ComposeCli(ctx.prep.facts.compose, ctx.prep.project, ctx.prep.root, ctx.prep.options.env);
        return `engine ${conn.fact.engineVersion} (API ${conn.fact.negotiatedApiVersion}), ${ctx.prep.facts.compose.flavour} ${ctx.prep.facts.compose.version}`;
      },
    },
    {
      id: 'images',
      title: 'Make sure the images exist',
      run: async (ctx, progress) => {
        const opts = ctx.prep.options;
        if (opts.bundleFile && opts.imagesFile) throw new UsageError('give --bundle or --images, not both', 'a bundle carries every image the stack needs');
        if (opts.bundleFile) {
          if (opts.renderOnly) {
            const index = await readBundleIndex(opts.bundleFile);
            ctx.images = { ...(await loadImagesMap(null)), ...index.images } as StackImages;
            return `image references from ${opts.bundleFile} (--render-only: nothing loaded)`;
          }
          // Air-gapped: images and templates come from the bundle, through the Docker API; nothing is built or pulled.
          const bundle = await loadBundle(ctx.docker!, opts.bundleFile, progress);
          ctx.templates = bundle.templates;
          ctx.images = await withScheduler(bundle.images, ctx, { build: false, progress });
          ctx.baseImages = bundle.images;
          await ensureBaseImages(
            ctx.docker!,
            bundle.images,
            baseImagesNeeded(ctx.plan).filter((n) => n !== 'node'),
            progress,
          );
          await assertNginxImage(bundle.images.nginx, ctx.plan.sizing.nginx.minVersion ?? MIN_NGINX_VERSION, 'preflight');
          return `loaded from bundle: server ${bundle.images.server}; postgres ${bundle.images.postgres}; redis ${bundle.images.redis}; nginx ${bundle.images.nginx}`;
        }
        const base = opts.imagesFile ? await loadImagesMap(opts.imagesFile) : (recordedBaseImages(ctx.prep.previous) ?? (await loadImagesMap(null)));
        if (opts.renderOnly) {
          // Render-only never touches Docker: the server tag is the one given or recorded, or a placeholder.
          ctx.images = { ...base, server: base.server ?? ctx.prep.previous?.images.server ?? `carebox/server:${CAREBOX_VERSION}` };
          return 'image references only (--render-only)';
        }
        const docker = ctx.docker!;
        await ensureBaseImages(
          docker,
          base,
          baseImagesNeeded(ctx.plan).filter((n) => n !== 'node' || !base.server),
          progress,
        );
        // Before anything is written: an nginx without `resolve` in `upstream` cannot load the edge config.
        await assertNginxImage(base.nginx, ctx.plan.sizing.nginx.minVersion ?? MIN_NGINX_VERSION, 'preflight');
        let server: string;
        if (base.server) {
          // A prebuilt server image named in --images (an upgrade to a given tag): used as is.
          if (!(await imageExists(docker, base.server)))
            throw new OperationError(
              `server image ${base.server} (from --images) does not exist locally`,
              'load it first (docker load, or --bundle) or build it',
            );
          server = base.server;
        } else {
          server = await ensureServerImage(docker, { packageRoot: packageRoot(), version: CAREBOX_VERSION, nodeImage: base.node, onProgress: progress });
        }
        ctx.baseImages = base;
        ctx.images = await withScheduler({ ...base, server }, ctx, { build: true, progress });
        return `server ${server}; postgres ${base.postgres}; redis ${base.redis}; nginx ${base.nginx}${ctx.images.scheduler ? `; scheduler ${ctx.images.scheduler}` : ''}`;
      },
    },
    {
      id: 'render',
      title: 'Render and validate the configuration',
      run: async (ctx) => {
        ctx.files = render(ctx);
        if (ctx.prep.options.renderOnly || !ctx.compose) return `${ctx.files.length} files rendered`;
        // Validate with the real Compose in a scratch copy before anything in the root changes.
        const scratch = await mkdtemp(join(tmpdir(), 'carebox-validate-'));
        try {
          for (const f of ctx.files) await writeFileAtomic(join(scratch, f.path), f.content, f.mode);
          await new ComposeCli(ctx.prep.facts.compose, ctx.prep.project, scratch, ctx.prep.options.env).validate();
        } finally {
          await rm(scratch, { recursive: true, force: true });
        }
        return `${ctx.files.length} files rendered; docker compose config accepts them`;
      },
    },
    {
      id: 'write',
      title: 'Write files',
      run: async (ctx) => {
        await mkdir(ctx.prep.root, { recursive: true, mode: 0o750 });
        await chmod(ctx.prep.root, 0o750);
        ctx.changes = await writeRenderedFiles(ctx.prep.root, ctx.files, ctx.stamp);
        if (await ensureBackupKey(ctx.prep.root)) ctx.changes.push({ path: 'backup.key', status: 'created', backup: null });
        const changed = ctx.changes.filter((c) => c.status !== 'unchanged');
        if (ctx.prep.options.renderOnly) await writeManifestIfChanged(ctx);
        return changed.length === 0 ? 'nothing changed' : changed.map((c) => `${c.status} ${c.path}`).join(', ');
      },
    },
    {
      id: 'data',
      title: 'Start PostgreSQL and Redis',
      skipIf: renderOnly,
      run: async (ctx, progress) => {
        const data = ctx.plan.sizing.pgbouncer ? ['db', 'redis', 'pgbouncer'] : ['db', 'redis'];
        await ctx.compose!.up(data, {}, { onOutput: lineProgress(progress) });
        const expected = Object.fromEntries(data.map((s) => [s, 1]));
        await waitHealthy(ctx.docker!, ctx.prep.project, expected, { timeoutMs: ctx.prep.options.timeoutMs, onProgress: progress });
        return data.join(', ') + ' healthy';
      },
    },
    {
      id: 'roles',
      title: 'Create the database roles (owner, application)',
      skipIf: renderOnly,
      run: async (ctx) => {
        await applyDbRoles(ctx.compose!, ctx.env!.secrets);
        return 'carebox_owner owns the schema; the app logs in as carebox_app (no superuser, no DDL)';
      },
    },
    {
      id: 'migrate',
      title: 'Run database migrations',
      skipIf: renderOnly,
      run: async (ctx, progress) => {
        // As the owner role, straight to PostgreSQL, never through PgBouncer: migrations take
        // session-level locks. The migration CLI then grants the app role its privileges.
        const r = await runMigrations(ctx.compose!, ctx.env!.secrets, progress);
        const applied = /applied (\d+)/i.exec(r.stdout + r.stderr)?.[1];
        return applied !== undefined ? `${applied} migration(s) applied` : 'migrations up to date';
      },
    },
    {
      id: 'admin',
      title: 'Create the first admin account',
      skipIf: renderOnly,
      run: async (ctx) => {
        // stdout carries the one-time password: never passed to the progress log.
        const r = await ctx.compose!.runOnce('backend', serverCommand('createAdmin'), { ...DIRECT_DB_ENV });
        ctx.admin = parseCreateAdmin(r.stdout);
        return ctx.admin.created ? `created '${ctx.admin.username}' with a one-time password (shown at the end)` : `'${ctx.admin.username}' already exists`;
      },
    },
    {
      id: 'up',
      title: 'Start the backends, queue workers and nginx',
      skipIf: renderOnly,
      run: async (ctx, progress) => {
        const s = ctx.plan.sizing;
        await ctx.compose!.up([], { backend: s.backend.replicas, worker: s.queue.replicas }, { onOutput: lineProgress(progress) });
        await waitHealthy(ctx.docker!, ctx.prep.project, expectedReplicas(ctx.plan, ctx.images), {
          timeoutMs: ctx.prep.options.timeoutMs,
          onProgress: progress,
        });
        return (
          Object.entries(expectedReplicas(ctx.plan, ctx.images))
            .map(([k, v]) => `${k}×${v}`)
            .join(' ') + ' healthy'
        );
      },
    },
    {
      id: 'reload',
      title: 'Apply changed configuration to running services',
      skipIf: (ctx) => renderOnly(ctx) ?? (ctx.prep.previous ? null : 'first install'),
      run: async (ctx, progress) => {
        // Files mounted into running containers: Compose recreates nothing for a changed file, so
        // nginx (its config, a renewed certificate) reloads gracefully after `nginx -t` in the
        // container, and PostgreSQL re-reads postgresql.conf (settings that need a restart are
        // named in its log and applied at its next restart).
        const changed = new Set(ctx.changes.filter((c) => c.status !== 'unchanged').map((c) => c.path));
        const done: string[] = [];
        if ([INSTALL_FILES.nginx, TLS_CERT_FILE, TLS_KEY_FILE].some((p) => changed.has(p))) {
          await reloadNginxOrRevert(ctx.docker!, { root: ctx.prep.root, project: ctx.prep.project }, ctx.changes, progress);
          done.push('nginx reloaded');
        }
        if (changed.has(INSTALL_FILES.postgres)) {
          await ctx.compose!.run(['exec', '-T', 'db', 'psql', '-X', '-q', '-U', 'carebox', '-d', 'carebox', '-c', 'SELECT pg_reload_conf()'], {
            timeoutMs: 60_000,
          });
          done.push('PostgreSQL settings reloaded');
        }
        if (ctx.plan.sizing.monitoring) {
          // Prometheus and the blackbox exporter re-read their directory-mounted files on SIGHUP.
          // Alertmanager's configuration is a Compose secret (a single-file bind mount, which keeps
          // showing the replaced file's old inode): a restart mounts the new one.
          if (changed.has(MONITORING_FILES.prometheus) || changed.has(MONITORING_FILES.rules)) {
            await ctx.compose!.run(['kill', '-s', 'SIGHUP', 'prometheus'], { timeoutMs: 60_000 });
            done.push('Prometheus reloaded');
          }
          if (changed.has(MONITORING_FILES.blackbox)) {
            await ctx.compose!.run(['kill', '-s', 'SIGHUP', 'blackbox-exporter'], { timeoutMs: 60_000 });
            done.push('blackbox exporter reloaded');
          }
          if (changed.has(MONITORING_FILES.alertmanager)) {
            await ctx.compose!.run(['restart', 'alertmanager'], { timeoutMs: 120_000 });
            done.push('Alertmanager restarted with its new configuration');
          }
        }
        return done.length > 0 ? done.join(', ') : 'no mounted configuration changed';
      },
    },
    {
      id: 'limits',
      title: 'Verify container limits',
      skipIf: renderOnly,
      run: async (ctx) => {
        const n = await verifyLimits(ctx.docker!, ctx.prep.project, ctx.plan);
        return `${n} containers run with the planned CPU and memory limits`;
      },
    },
    {
      id: 'manifest',
      title: 'Record the install (carebox.json)',
      skipIf: renderOnly,
      run: async (ctx) => ((await writeManifestIfChanged(ctx)) ? 'carebox.json updated' : 'carebox.json unchanged'),
    },
    {
      id: 'smoke',
      title: 'Check readiness through nginx',
      skipIf: renderOnly,
      run: async (ctx) => {
        const url = new URL('ready', ctx.internalUrl).toString();
        await waitForHttp200(url, { what: `${url} through nginx`, hint: 'check `carebox logs nginx` and `carebox logs backend`' });
        // With TLS, HTTPS must answer too, with the certificate just installed (a renewal nginx missed fails here).
        return ctx.prep.tls
          ? `${url} → 200; ${await checkEdgeTls({ port: ctx.prep.httpPort, bindAddress: ctx.prep.bindAddress, tls: ctx.prep.tls })}`
          : `${url} → 200`;
      },
    },
  ];
}

async function writeManifestIfChanged(ctx: InstallContext): Promise<boolean> {
  const next = nextManifest(ctx, new Date().toISOString());
  // The launcher runs the CLI image named here for this root from now on.
  await writeCliImageFile(ctx.prep.root, next.cli!);
  // The backup metrics file exists from the install on (Prometheus's textfile collector reads it).
  if (!ctx.prep.options.renderOnly) await ensureBackupMetrics(ctx.prep.root, ctx.prep.previous ?? next);
  if (!manifestChanged(ctx.prep.previous, next)) return false;
  if (ctx.prep.previous) {
    // Keep the previous manifest with the files it described.
    const old = await readIfExists(join(ctx.prep.root, INSTALL_FILES.manifest));
    if (old !== null) await writeFileAtomic(join(ctx.prep.root, 'backups', `config-${ctx.stamp}`, INSTALL_FILES.manifest), old, 0o640);
  }
  await writeFileAtomic(join(ctx.prep.root, INSTALL_FILES.manifest), renderManifest(next), 0o640);
  ctx.manifestWritten = true;
  return true;
}

/** Turn Compose's chunked output into one progress line per non-empty line. */
function lineProgress(progress: (m: string) => void): (chunk: string) => void {
  return (chunk) =>
    chunk
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .forEach((l) => progress(l));
}
