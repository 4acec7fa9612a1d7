/**
 * `carebox upgrade [--bundle FILE | --images FILE]`: preflight → backup → load images → (PostgreSQL
 * major check) → render with the new images → run migrations → rolling restart gated on health →
 * smoke request through nginx (`/ready` 200) → manifest.
 *
 * Migrations are expand/contract (migration.plan.ts). Additive ones (the normal case) run while
 * the old containers keep serving reads and writes; on any later failure the previous files go
 * back and the app rolls back to the previous images (the same rolling replace, new before old)
 * on the expanded schema: nothing is restored, so no acknowledged write can be lost. A contract
 * step needs `maintenanceWindow`: writes are answered 503 + Retry-After at nginx from before the
 * backup until the new version is healthy, and a failure restores that backup (which then holds
 * every acknowledged write). Backups are pruned only after success.
 *
 * A PostgreSQL major-version change (the running server_version_num vs the new image's
 * `postgres --version`) is refused: its data directory cannot be opened by another major. With
 * `pgMajorDumpRestore` the database moves by dump and restore instead (pgmajor.ops.ts; the app is
 * down meanwhile, and the old data directory is kept in a volume).
 */
import { cliBaseImages, ensureCliImage } from '../../installer/apply/cli.image.js';
import { readFile, statfs } from 'node:fs/promises';
import { exec } from '../../installer/apply/exec.js';
import { loadBundle, readBundleIndex } from '../../installer/apply/bundle.load.js';
import { writeRenderedFiles, type FileChange } from '../../installer/apply/files.write.js';
import { waitForHttp200 } from '../../installer/runtime/url.poll.js';
import { utcStamp } from '../../installer/apply/fs.atomic.js';
import { ensureBaseImages, ensureServerImage, imageExists, loadImagesMap } from '../../installer/apply/images.ensure.js';
import { expectedReplicas } from '../../installer/plan/stack.services.js';
import { listStackContainers } from '../../installer/runtime/stack.containers.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { summarize } from '../../installer/runtime/health.wait.js';
import { CareboxError, OperationError, PreflightError, UnhealthyError, UsageError } from '../../installer/errors.js';
import { writeManifest, type CliRecord, type Manifest } from '../../installer/manifest/manifest.js';
import { runningCli, writeCliImageFile } from '../../installer/manifest/cli.record.js';
import { INSTALL_FILES, packageRoot } from '../../installer/paths.js';
import { applyDbRoles, DB_APP_ROLE, DB_OWNER_ROLE, runMigrations } from '../../installer/apply/db.roles.js';
import { loadSecrets } from '../../installer/apply/secrets.store.js';
import { installIdFor } from '../../installer/manifest/install.id.js';
import { imagesFileSchema, type BaseImageName, type StackImages } from '../../installer/render/images.map.js';
import type { RenderedFile } from '../../installer/render/render.js';
import { loadTemplates, type Templates } from '../../installer/render/templates.load.js';
import { CAREBOX_VERSION } from '../../installer/version.js';
import { reloadNginx } from '../../installer/runtime/nginx.reload.js';
import { pgMajor, pgMajorFromVersionText, psqlRows, serverVersionNum } from '../../installer/runtime/psql.js';
import { createBackup, DEFAULT_KEEP, pruneBackups, restoreBackup, type BackupResult } from './backup.ops.js';
import { openMaintenanceWindow, withMaintenance } from './maintenance.ops.js';
import { describeContract, planMigrations, type PendingMigration } from './migration.plan.js';
import { movePostgresByDumpRestore } from './pgmajor.ops.js';
import { configHashes } from '../../installer/runtime/compose.drift.js';
import { rollingReplace, waitContainersHealthy } from '../../installer/runtime/rolling.js';
import { currentContents, fileChecksums, putBackFiles, renderForStack } from './stack.render.js';
import { serviceContainers, silentReporter, step, withStackLock, type Stack } from './stack.js';
import { checkEdgeTls, edgeUrls } from '../../installer/apply/edge.tls.js';
import { assertNginxImage } from '../../installer/apply/nginx.version.js';
import { MIN_NGINX_VERSION } from '../../installer/plan/sizing.constants.js';

/** What to upgrade to. */
export interface UpgradeRequest {
  /** Offline bundle: images and templates. */
  bundleFile: string | null;
  /** JSON images map (base images and/or a prebuilt `server`). */
  imagesFile: string | null;
  /** Health wait per rolling step, ms. */
  timeoutMs: number;
  /**
   * Move the database to the new postgres image by dump and restore (required across a PostgreSQL
   * major version; the app is down meanwhile). Needs a postgres image change.
   */
  pgMajorDumpRestore?: boolean;
  /**
   * Confirms a maintenance window for a contract migration: writes are answered 503 from the backup
   * until the new version is healthy, and a failure restores the backup. Without it such an upgrade
   * is refused (exit 2); additive upgrades never need it.
   */
  maintenanceWindow?: boolean;
}

/** What an upgrade did. */
export interface UpgradeResult {
  from: StackImages;
  to: StackImages;
  backup: string;
  migrationsApplied: number;
  files: FileChange[];
  manifest: Manifest;
  /** Set when the database moved by dump and restore: the volume keeping the previous data directory. */
  preservedVolume: string | null;
  /** The migrations the upgrade ran, with their expand/contract phase (null: a PostgreSQL move, or the image could not tell). */
  migrations: PendingMigration[] | null;
  /** Backups removed by retention, after the new version was healthy. */
  pruned: string[];
  tookMs: number;
}

/** Image roles whose reference changes between two maps. Pure. */
export function changedImages(from: StackImages, to: StackImages): (keyof StackImages)[] {
  return (Object.keys(to) as (keyof StackImages)[]).filter((k) => from[k] !== to[k]);
}

/** The PostgreSQL major of an image, from `postgres --version` run in a throwaway container. */
export async function imagePgMajor(image: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const r = await exec(['docker', 'run', '--rm', '--network', 'none', '--entrypoint', 'postgres', image, '--version'], {
    env,
    timeoutMs: 120_000,
    allowFailure: true,
  });
  const major = pgMajorFromVersionText(r.stdout + r.stderr);
  if (!major)
    throw new OperationError(
      `cannot tell the PostgreSQL version of ${image}: \`postgres --version\` printed ${JSON.stringify((r.stdout + r.stderr).trim().slice(0, 200))}`,
      'the postgres image must have `postgres` on PATH (the official image does)',
    );
  return major;
}

/**
 * Refuse a PostgreSQL major change. Pure.
 * @throws PreflightError (exit 3) naming both majors and the manual path.
 */
export function assertSamePgMajor(runningMajor: string, imageMajor: string, image: string): void {
  if (runningMajor === imageMajor) return;
  throw new PreflightError(
    `the new postgres image ${image} is PostgreSQL ${imageMajor}, the database runs ${runningMajor}: a major-version change cannot open the existing data directory`,
    `rerun with --pg-major-dump-restore to move the data by dump and restore (the app is down meanwhile; the old data directory is kept in a volume), or keep the postgres image at PostgreSQL ${runningMajor} (override it in --images)`,
  );
}

function stackUrl(m: Manifest): string {
  // Plain HTTP on this host (with TLS on, the edge keeps it on 127.0.0.1 for exactly this).
  return new URL('ready', edgeUrls(m.http).internal).toString();
}

async function migrationCount(stack: Stack): Promise<number> {
  const [db] = (await serviceContainers(stack, 'db')).filter((c) => c.state === 'running');
  if (!db) throw new OperationError('db is not running');
  const rows = await psqlRows(
    stack.docker,
    db.id,
    "SELECT CASE WHEN to_regclass('public.knex_migrations') IS NULL THEN 0 ELSE (SELECT count(*) FROM knex_migrations) END;",
  );
  return Number(rows[0]?.[0] ?? 0);
}

/**
 * Bring every service to the files now on disk: singletons recreated when their config changed,
 * backend/worker rolled. nginx is reloaded only when `nginxConfChanged` (a reload closes idle
 * client keep-alive connections, and a request a client sends at that instant is reset); the
 * rolling replace itself needs no reload (see rolling.ts's edge settle).
 */
async function converge(
  stack: Stack,
  m: Manifest,
  images: { before: StackImages; after: StackImages },
  nginxConfChanged: boolean,
  timeoutMs: number,
  progress: (msg: string) => void,
): Promise<void> {
  const hashes = await configHashes(stack.compose);
  const containers = await listStackContainers(stack.docker, m.project);
  const stale = (svc: string) => containers.some((c) => c.service === svc && c.configHash !== hashes[svc]);
  // Singletons first (db and redis restart briefly when their image changes); no --no-deps for
  // services with depends_on (it changes their config hash).
  for (const svc of ['db', 'redis', 'pgbouncer']) {
    if (!hashes[svc] || !stale(svc)) continue;
    progress(`${svc}: recreating with ${images.after[svc === 'db' ? 'postgres' : (svc as 'redis' | 'pgbouncer')]}`);
    await stack.compose.run(['up', '-d', ...(svc === 'pgbouncer' ? [] : ['--no-deps']), svc], { timeoutMs: 10 * 60_000 });
    await waitContainersHealthy(
      stack.docker,
      (await serviceContainers(stack, svc)).map((c) => c.id),
      { timeoutMs, what: svc, onProgress: progress },
    );
  }
  const s = m.plan.sizing;
  // No nginx reload for the backends themselves: it re-resolves `backend` in the background
  // (`resolve` in its upstream), and skips a draining replica after its first refused connection.
  await rollingReplace(stack, 'backend', { target: s.backend.replicas, timeoutMs, onProgress: progress });
  await rollingReplace(stack, 'worker', { target: s.queue.replicas, timeoutMs, onProgress: progress });
  if (stale('nginx')) {
    await stack.compose.run(['up', '-d', '--no-deps', 'nginx'], { timeoutMs: 10 * 60_000 });
    await waitContainersHealthy(
      stack.docker,
      (await serviceContainers(stack, 'nginx')).map((c) => c.id),
      { timeoutMs, what: 'nginx', onProgress: progress },
    );
  } else if (nginxConfChanged) {
    await reloadNginx(stack.docker, m.project, progress);
  }
  // The backup scheduler follows the new CLI image; the upgrade ends with every service healthy.
  if (hashes.scheduler && stale('scheduler')) {
    progress(`scheduler: recreating with ${images.after.scheduler ?? '(its image)'}`);
    await stack.compose.run(['up', '-d', '--no-deps', 'scheduler'], { timeoutMs: 10 * 60_000 });
    await waitContainersHealthy(
      stack.docker,
      (await serviceContainers(stack, 'scheduler')).map((c) => c.id),
      { timeoutMs, what: 'scheduler', onProgress: progress },
    );
  }
}

/**
 * Upgrade the stack's images (and templates) with backup and automatic rollback.
 * @throws UsageError for bad flags; PreflightError (exit 3) when the stack is not healthy, disk is
 *   short, or the PostgreSQL major would change; OperationError (exit 1) when the upgrade failed
 *   and was rolled back (the message says what failed and what was restored); UnhealthyError
 *   (exit 4) when even the rollback did not bring the stack back.
 */
export async function upgradeStack(stack: Stack, req: UpgradeRequest, reporter: StepReporter): Promise<UpgradeResult> {
  if (req.bundleFile && req.imagesFile) throw new UsageError('give --bundle or --images, not both');
  return withStackLock(stack.root, 'upgrade', async () => {
    const t0 = Date.now();
    const m = stack.manifest;
    const from = m.images;

    await step(reporter, 'preflight', 'Preflight: healthy stack, disk for the backup, inputs', async () => {
      const containers = await listStackContainers(stack.docker, m.project);
      const health = summarize(containers, expectedReplicas(m.plan, m.images));
      if (!health.ready)
        throw new PreflightError(
          `the stack is not healthy (${health.lines.join(', ')}); an upgrade needs a healthy stack to compare against and to roll back to`,
          'fix it first (`carebox status`, `carebox logs SERVICE`), then upgrade',
        );
      const [db] = containers.filter((c) => c.service === 'db' && c.state === 'running');
      const dbBytes = Number((await psqlRows(stack.docker, db!.id, 'SELECT pg_database_size(current_database());'))[0]?.[0] ?? 0);
      const fs = await statfs(stack.root);
      const free = fs.bavail * fs.bsize;
      const need = dbBytes * 2 + 512 * 1024 * 1024;
      if (free < need)
        throw new PreflightError(
          `not enough free disk at ${stack.root} for the backup: ${Math.round(free / 1024 / 1024)} MiB free, ${Math.round(need / 1024 / 1024)} MiB needed`,
          'free disk space or prune old backups (`carebox backup --keep N`)',
        );
      if (req.bundleFile) await readBundleIndex(req.bundleFile);
      if (req.imagesFile) await loadImagesMap(req.imagesFile);
      return `healthy; ${Math.round(free / 1024 / 1024 / 1024)} GiB free for a ${Math.round(dbBytes / 1024 / 1024)} MiB database`;
    });

    // Images load before the backup: the path (in place, or dump and restore) is known before
    // anything stops, and a bundle that fails to load costs no backup.
    let templates: Templates = loadTemplates();
    // A release bundle carries its CLI: the launcher runs that one for this root once the stack runs
    // the release's images (the root's cli-image file is written with the manifest).
    let cli: CliRecord = runningCli(stack.env);
    let version = CAREBOX_VERSION;
    const to = await step(
      reporter,
      'images',
      'Load the new images',
      async (progress): Promise<StackImages> => {
        if (req.bundleFile) {
          const b = await loadBundle(stack.docker, req.bundleFile, progress);
          templates = b.templates;
          if (b.cli) {
            cli = b.cli;
            version = b.cli.version;
          }
          const { cli: _cli, ...roles } = b.index.images;
          // The scheduler service runs the CLI: it moves to the release's CLI with the stack.
          return { ...from, ...roles, ...(from.scheduler && b.cli?.image ? { scheduler: b.cli.image } : {}) } as StackImages;
        }
        // Only the roles the file names change; the others keep what the stack runs.
        const given = req.imagesFile ? await imagesOverrides(req.imagesFile) : {};
        const { server: _server, ...baseGiven } = given;
        const base = { ...from, ...baseGiven } as StackImages;
        const needed: BaseImageName[] = ['postgres', 'redis', 'nginx', ...(m.plan.sizing.pgbouncer ? (['pgbouncer'] as const) : [])];
        await ensureBaseImages(stack.docker, base, needed, progress);
        let server: string;
        if (given.server) {
          if (!(await imageExists(stack.docker, given.server)))
            throw new OperationError(`server image ${given.server} does not exist locally`, 'load it first (docker load, or --bundle)');
          server = given.server;
        } else {
          server = await ensureServerImage(stack.docker, { packageRoot: packageRoot(), version: CAREBOX_VERSION, nodeImage: base.node, onProgress: progress });
        }
        // The scheduler runs the CLI that upgrades: the launcher's image, or one built from this
        // package (named by its content: an unchanged package reuses it).
        let scheduler = base.scheduler;
        if (scheduler) {
          scheduler =
            runningCli(stack.env).image ??
            (await ensureCliImage(stack.docker, {
              packageRoot: packageRoot(),
              version: CAREBOX_VERSION,
              base: cliBaseImages(base, stack.env),
              onProgress: progress,
            }));
        }
        return { ...base, server, ...(scheduler ? { scheduler } : {}) };
      },
      (t) =>
        changedImages(from, t)
          .map((k) => `${k} ${from[k]} → ${t[k]}`)
          .join('; ') || 'no image changes',
    );

    // This version's nginx.conf needs `resolve` in `upstream`: refuse an older nginx before anything
    // is backed up or written (also when the nginx image itself does not change).
    await step(
      reporter,
      'nginx-version',
      'Check the nginx version',
      async () => assertNginxImage(to.nginx, MIN_NGINX_VERSION, 'operation', stack.env),
      (v) => `nginx ${v} (needs ≥ ${MIN_NGINX_VERSION})`,
    );
    if (req.pgMajorDumpRestore && to.postgres === from.postgres) {
      throw new UsageError(
        '--pg-major-dump-restore moves the database to a new postgres image, but the postgres image does not change',
        'name the new postgres image in --images FILE or in the bundle',
      );
    }
    let majors: { old: string; next: string } | null = null;
    if (to.postgres !== from.postgres) {
      majors = await step(
        reporter,
        'pg-major',
        'Check the PostgreSQL major version',
        async () => {
          const [db] = (await serviceContainers(stack, 'db')).filter((c) => c.state === 'running');
          const old = pgMajor(await serverVersionNum(stack.docker, db!.id));
          const next = await imagePgMajor(to.postgres, stack.env);
          if (!req.pgMajorDumpRestore) assertSamePgMajor(old, next, to.postgres);
          return { old, next };
        },
        (r) => (r.old === r.next ? `PostgreSQL ${r.old} in both` : `PostgreSQL ${r.old} → ${r.next}: by dump and restore`),
      );
    }
    const move = req.pgMajorDumpRestore && majors ? majors : null;

    // Expand or contract: additive migrations leave a schema the previous version runs on, so a
    // failed roll goes back to the old images and keeps the data (no restore, nothing lost, writes
    // never paused). A contract step needs the maintenance window: writes answered 503 from the
    // backup until the new version is healthy, so the restore that undoes it loses no acknowledged write.
    const plan = move
      ? null
      : await step(
          reporter,
          'migration-plan',
          'Classify the new migrations (expand or contract)',
          () => planMigrations(stack, to.server),
          (p) =>
            p.pending === null
              ? `cannot tell (${p.unknownReason})`
              : p.pending.length === 0
                ? 'no pending migrations'
                : `${p.pending.length} pending: ${p.pending.map((x) => `${x.name} (${x.phase})`).join(', ')}`,
        );
    const contract = plan !== null && !plan.additive;
    if (contract && !req.maintenanceWindow) {
      throw new UsageError(
        `this upgrade runs a contract migration, one the running version may not work on: ${describeContract(plan)}`,
        'rerun with --maintenance-window: writes are refused (503 + Retry-After) from the backup until the new version is healthy, and a failure restores that backup, so no acknowledged write is lost; reads stay served except while a restore runs',
      );
    }
    const stamp = utcStamp();
    let success: { backup: BackupResult; changes: FileChange[]; migrationsApplied: number; preservedVolume: string | null; files: RenderedFile[] } | null =
      null;
    let keepWindow = false;
    const closeWindow = contract
      ? await step(
          reporter,
          'maintenance',
          'Pause writes at nginx for the maintenance window (503 + Retry-After; reads served)',
          (progress) => openMaintenanceWindow(stack, { mode: 'writes', by: 'upgrade', onProgress: progress }),
          () => 'writes paused until the upgrade ends',
        )
      : async () => undefined;
    try {
      // In place, a live backup (the app keeps serving; retention waits for success); a
      // dump-and-restore move takes its own with the app stopped.
      let backup = move ? null : await createBackup(stack, { prune: false }, reporter);
      let preservedVolume: string | null = null;

      const files: RenderedFile[] = await renderForStack(stack.root, m, m.plan, to, templates, version, { newRoleSecrets: true });
      const previous = await currentContents(stack.root, files);
      const before = await migrationCount(stack);
      let changes: FileChange[] = [];
      let migrationsApplied = 0;
      let rollbackFiles = previous;
      const nginxConfChanged = files.find((f) => f.path === INSTALL_FILES.nginx)?.content !== previous.get(INSTALL_FILES.nginx);
      const writeNew = async () => {
        changes = await step(
          reporter,
          'write',
          'Write the configuration for the new images',
          async () => writeRenderedFiles(stack.root, files, stamp),
          (c) =>
            c
              .filter((x) => x.status !== 'unchanged')
              .map((x) => `${x.status} ${x.path}`)
              .join(', ') || 'nothing changed',
        );
      };
      // .env stays: the new one holds the same secrets plus the database roles' passwords, which a
      // restore in the rollback (as the owner role) needs.
      const putBack = (contents: Map<string, string | null>) => putBackFiles(stack.root, contents, files, [INSTALL_FILES.env]);
      if (move) {
        try {
          // The app is down for the whole move: every request gets the maintenance 503 meanwhile.
          const moved = await withMaintenance(stack, { mode: 'full', by: 'pg-major' }, () =>
            movePostgresByDumpRestore(
              stack,
              {
                oldImage: from.postgres,
                oldMajor: move.old,
                newMajor: move.next,
                timeoutMs: req.timeoutMs,
                writeNewFiles: writeNew,
                restoreOldFiles: () => putBack(previous),
              },
              reporter,
            ),
          );
          backup = moved.backup;
          preservedVolume = moved.preservedVolume;
          migrationsApplied = (await migrationCount(stack)) - before;
          // The data now lives in the new major: a later rollback keeps the new postgres image.
          const keepPg = await renderForStack(stack.root, m, m.plan, { ...from, postgres: to.postgres }, templates, version);
          rollbackFiles = new Map(keepPg.map((f) => [f.path, f.content]));
        } catch (err) {
          throw new OperationError(
            `upgrade failed and was rolled back: PostgreSQL ${move.old} serves the previous data again: ${(err as Error).message.split('\n').slice(0, 6).join('\n')}`,
            err instanceof CareboxError && err.hint ? err.hint : 'check `carebox logs db`',
            err,
          );
        }
      }
      try {
        if (!move) await writeNew();
        // An install from before the owner and application roles gets them here (.env now holds their passwords).
        const secrets = (await loadSecrets(stack.root)).secrets;
        if (!move)
          await step(reporter, 'roles', 'Create or update the database roles (owner, application)', async () => {
            await applyDbRoles(stack.compose, secrets);
            return `${DB_OWNER_ROLE} migrates; the app logs in as ${DB_APP_ROLE}`;
          });
        if (!move)
          await step(
            reporter,
            'migrate',
            'Run database migrations (new image, one transaction)',
            async (progress) => {
              try {
                await runMigrations(stack.compose, secrets, progress);
              } finally {
                migrationsApplied = (await migrationCount(stack)) - before;
              }
              return migrationsApplied;
            },
            (n) => (n > 0 ? `${n} migration(s) applied` : 'schema up to date'),
          );
        await step(
          reporter,
          'roll',
          'Rolling restart onto the new images (gated on health)',
          (progress) => converge(stack, m, { before: from, after: to }, nginxConfChanged, req.timeoutMs, progress),
          () => 'every service runs the new images and is healthy',
        );
        await step(reporter, 'smoke', 'Smoke request through nginx', async () => {
          await waitForHttp200(stackUrl(m), { what: 'the smoke request', hint: 'check `carebox logs backend` and `carebox logs nginx`' });
          return m.http.tls ? `${stackUrl(m)} → 200; ${await checkEdgeTls(m.http)}` : `${stackUrl(m)} → 200`;
        });
      } catch (err) {
        const reason = err instanceof Error ? err.message.split('\n').slice(0, 6).join('\n') : String(err);
        const bk = backup!;
        const migrated = !move && (migrationsApplied > 0 || (await migrationCount(stack).catch(() => before)) !== before);
        const rolled = await step(
          reporter,
          'rollback',
          contract
            ? 'Roll back to the previous images (and the backup, taken while writes were paused)'
            : 'Roll back to the previous images (code only: the data stays)',
          async (progress) => {
            await putBack(rollbackFiles);
            let restored = false;
            if (migrated && contract) {
              // Writes were refused since before the backup: the restore loses no acknowledged write.
              progress(`contract migrations ran (${migrationsApplied}); restoring backup ${bk.manifest.stamp}`);
              await restoreBackup(stack, bk.dir, { timeoutMs: req.timeoutMs }, silentReporter);
              restored = true;
            } else if (migrated) {
              progress(`${migrationsApplied} additive migration(s) stay; the previous version runs on the expanded schema, nothing is restored`);
            }
            await converge(stack, m, { before: to, after: from }, nginxConfChanged, req.timeoutMs, progress);
            await waitForHttp200(stackUrl(m), { what: 'the smoke request', hint: 'check `carebox logs backend` and `carebox logs nginx`' });
            return restored;
          },
        ).catch((rollbackErr: unknown) => {
          // In a contract window the way back may be `carebox restore`: keep writes paused until
          // the operator has brought the stack back, so no write is acknowledged that it would drop.
          keepWindow = contract;
          throw new UnhealthyError(
            `upgrade failed (${reason}) and the rollback failed too: ${(rollbackErr as Error).message.split('\n')[0]}`,
            contract
              ? `writes stay paused (maintenance on); the backup of this upgrade is ${bk.dir} (taken while writes were paused); \`carebox restore ${bk.manifest.stamp} --yes\` and \`carebox install --yes\` bring back the previous state, then \`carebox maintenance off\``
              : `the data is intact (only additive migrations ran; do not restore, that would drop writes made since ${bk.manifest.stamp}); \`carebox install --yes\` brings back the previous images`,
          );
        });
        throw new OperationError(
          `upgrade failed and was rolled back to the previous images${move ? ` (the database stays on PostgreSQL ${move.next}; the ${move.old} data directory is kept in ${preservedVolume})` : ''}${rolled ? ` (database restored from backup ${bk.manifest.stamp}, taken while writes were paused, because contract migrations had run)` : migrated ? ` (the ${migrationsApplied} additive migration(s) stay, the previous version runs on them; no data was restored or lost)` : ''}: ${reason}`,
          err instanceof CareboxError && err.hint ? err.hint : 'check `carebox logs backend` for why the new version did not start',
          err,
        );
      }
      success = { backup: backup!, changes, migrationsApplied, preservedVolume, files };
    } finally {
      if (!keepWindow) await closeWindow();
    }
    const { backup, changes, migrationsApplied, preservedVolume, files } = success!;
    const manifest = await step(
      reporter,
      'manifest',
      'Record the upgrade (carebox.json)',
      async () => {
        const now = new Date().toISOString();
        const diff = changedImages(from, to);
        const next: Manifest = {
          ...stack.manifest,
          carebox: { version },
          cli,
          installId: installIdFor(stack.manifest),
          appliedAt: now,
          images: to,
          files: fileChecksums(files),
          history: [
            ...stack.manifest.history,
            {
              appliedAt: now,
              action: 'upgrade',
              tier: m.plan.tier,
              summary: `${diff.length ? diff.map((k) => `${k} ${from[k]} → ${to[k]}`).join('; ') : `re-rendered for Carebox ${version}`}${move ? `; PostgreSQL ${move.old} → ${move.next} by dump and restore (previous data directory kept in volume ${preservedVolume})` : ''}`,
            },
          ],
        };
        await writeManifest(stack.root, next, stamp);
        await writeCliImageFile(stack.root, cli);
        stack.manifest = next;
        return next;
      },
      () => `carebox.json updated${cli.image ? `; the launcher runs ${cli.image} from now on` : ''}`,
    );
    // Retention only now: until the new version was healthy, every older backup might have been needed.
    const pruned = await pruneBackups(stack.root, stack.manifest.backups?.keep ?? DEFAULT_KEEP, reporter);
    return {
      from,
      to,
      backup: backup.dir,
      migrationsApplied,
      files: changes,
      manifest,
      preservedVolume,
      migrations: plan?.pending ?? null,
      pruned,
      tookMs: Date.now() - t0,
    };
  });
}

/**
 * The roles an `--images FILE` names, and only those (validated like install's --images).
 * @throws UsageError for a missing, malformed or unpinned file.
 */
export async function imagesOverrides(file: string): Promise<Partial<StackImages>> {
  await loadImagesMap(file);
  return imagesFileSchema.parse(JSON.parse(await readFile(file, 'utf8'))) as Partial<StackImages>;
}
