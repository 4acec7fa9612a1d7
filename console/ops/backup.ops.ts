/**
 * `carebox backup` and `carebox restore DIR`.
 *
 * A backup is a directory `backups/<UTC stamp>/` (mode 0700) holding:
 *   db.dump       `pg_dump -Fc` through the db container (docker exec, streamed to the host), 0600
 *   files/…       the rendered files, `.env` (0600) and carebox.json as they were
 *   backup.json   the backup manifest: the install id, sha256 of every file, exact row counts per
 *                 table (counted in the *same snapshot* pg_dump used), image versions, PostgreSQL version
 *   backup.json.sig  HMAC-SHA256 of backup.json's bytes with the install's backup.key (0600, kept in
 *                 the install root and never in a backup; backup.manifest.sign.ts)
 * It is written under `backups/.partial-<stamp>/` and renamed when complete, so a crash never
 * leaves a directory that looks like a backup. The newest `keep` backups are kept (default 7,
 * recorded in carebox.json); older ones are removed.
 *
 * Restore first checks what it is given (backup.verify.ts: inside backups/ unless --from-path, a
 * valid signature, the dump copied and checked byte for byte), measures and states what it would
 * lose (restore.loss.ts) and asks the caller to confirm, then puts nginx in full maintenance (503 +
 * Retry-After + message), brings the app (backend, worker) down cleanly, restores as the owner role (not the superuser) into a fresh database and swaps
 * it in (the previous database is kept under another name until the restored one is verified),
 * checks the row counts against backup.json, carries over the audit events written since the backup
 * (the trail is append-only; see restore.audit.ts), runs pending migrations, and brings the app up.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { sha256File } from '../../installer/apply/bundle.load.js';
import { BACKUP_KEY_FILE, ensureBackupKey, readBackupKey } from '../../installer/apply/backup.key.js';
import { applyDbRoles, DB_OWNER_ROLE, runMigrations } from '../../installer/apply/db.roles.js';
import { loadSecrets } from '../../installer/apply/secrets.store.js';
import { installIdFor } from '../../installer/manifest/install.id.js';
import { utcStamp } from '../../installer/apply/fs.atomic.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { OperationError, PreflightError, UnhealthyError, UsageError } from '../../installer/errors.js';
import { writeManifest, type Manifest } from '../../installer/manifest/manifest.js';
import { INSTALL_FILES } from '../../installer/paths.js';
import { TLS_CERT_FILE, TLS_KEY_FILE } from '../../installer/apply/edge.tls.js';
import type { StackImages } from '../../installer/render/images.map.js';
import { CAREBOX_VERSION } from '../../installer/version.js';
import { execIn } from '../../installer/runtime/container.exec.js';
import {
  CANONICAL_TEXT_SQL,
  DB_NAME,
  DB_USER,
  parseChecksums,
  parseRowCounts,
  pgMajor,
  psqlRows,
  PsqlSession,
  ROW_COUNTS_SQL,
  serverVersionNum,
  TABLE_CHECKSUMS_SQL,
} from '../../installer/runtime/psql.js';
import { backupFits, reserveOverride } from '../../installer/backup/backup.fit.js';
import { updateBackupStatus } from './backup.metrics.js';
import { carryOverAuditTrail, type AuditCarryOver } from './restore.audit.js';
import { measureRestoreLoss, type RestoreLoss } from './restore.loss.js';
import { withMaintenance } from './maintenance.ops.js';
import { signManifest, SIGNATURE_FILE } from './backup.manifest.sign.js';
import { resolveBackupDir, stageDump, verifyBackupManifest, type VerifiedManifest } from './backup.verify.js';
import { startApp, stopApp } from '../../installer/runtime/rolling.js';
import { serviceContainers, step, withStackLock, type Stack } from './stack.js';

/** Default number of full backups kept. */
export const DEFAULT_KEEP = 7;
export const BACKUP_MANIFEST = 'backup.json';
export const DUMP_FILE = 'db.dump';

/** One file copied into a backup. */
export interface BackupFileEntry {
  /** Path relative to the backup directory (`files/.env`, `db.dump`). */
  path: string;
  sha256: string;
  bytes: number;
  /** File mode, e.g. 0o600 for .env and the dump. */
  mode: number;
}

/** backup.json. */
export interface BackupManifest {
  schemaVersion: 1;
  kind: 'carebox-backup';
  /** ISO-8601 UTC. */
  createdAt: string;
  /** Directory name: UTC stamp `20261129T081530Z`. */
  stamp: string;
  carebox: { version: string };
  /** carebox.json's installId at the backup: restore decides "another install" by it. */
  installId: string;
  /** Compose project name (informational: every install at the default root is `carebox`). */
  project: string;
  tier: string;
  images: StackImages;
  postgres: { version: string; versionNum: number; major: string; database: string };
  /** The custom-format dump. */
  dump: BackupFileEntry;
  /** Exact row count per table (`schema.table`), in the dump's snapshot. */
  tables: Record<string, number>;
  /**
   * Per-table checksum (psql.ts TABLE_CHECKSUMS_SQL: sum of 60-bit md5 prefixes of every row's
   * text, decimal), in the dump's snapshot; the restore drill compares it. Absent in older backups.
   */
  checksums?: Record<string, string>;
  /** Rendered files, .env and carebox.json. */
  files: BackupFileEntry[];
}

/**
 * The install root's files a backup keeps (pgbouncer.ini and the TLS pair only when present). The
 * TLS key keeps its 0600 mode inside the 0700 backup directory, like .env.
 */
const BACKED_UP_FILES = [
  INSTALL_FILES.compose,
  INSTALL_FILES.env,
  INSTALL_FILES.nginx,
  INSTALL_FILES.postgres,
  INSTALL_FILES.redis,
  INSTALL_FILES.pgbouncerIni,
  TLS_CERT_FILE,
  TLS_KEY_FILE,
  INSTALL_FILES.manifest,
];

/** A stamp-named backup directory: `20261129T081530Z`. */
export const STAMP_RE = /^\d{8}T\d{6}Z$/;

/**
 * Which backups to delete so that the newest `keep` stay. Names sort chronologically (UTC stamps).
 * Pure. @returns the names to delete, oldest first.
 */
export function backupsToPrune(names: string[], keep: number): string[] {
  const sorted = names.filter((n) => STAMP_RE.test(n)).sort();
  return sorted.slice(0, Math.max(0, sorted.length - keep));
}

/** Compare row counts: every table of `expected` with its count, and tables `actual` has extra. Pure. */
export function compareRowCounts(expected: Record<string, number>, actual: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [t, n] of Object.entries(expected)) {
    if (actual[t] === undefined) out.push(`${t}: missing (backup has ${n} rows)`);
    else if (actual[t] !== n) out.push(`${t}: ${actual[t]} rows, backup has ${n}`);
  }
  for (const t of Object.keys(actual)) if (expected[t] === undefined) out.push(`${t}: not in the backup (${actual[t]} rows)`);
  return out;
}

async function fileEntry(dir: string, path: string): Promise<BackupFileEntry> {
  const st = await fs.stat(join(dir, path));
  return { path, sha256: await sha256File(join(dir, path)), bytes: st.size, mode: st.mode & 0o777 };
}

async function runningDb(stack: Stack): Promise<string> {
  const [db] = (await serviceContainers(stack, 'db')).filter((c) => c.state === 'running');
  if (!db) throw new OperationError('db is not running', 'run `carebox status`; `carebox install` starts it');
  return db.id;
}

/** Full backups under the install root, newest last. */
export async function listBackups(root: string): Promise<string[]> {
  const dir = join(root, INSTALL_FILES.backups);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names.filter((x) => STAMP_RE.test(x)).sort()) {
    if (
      await fs.access(join(dir, n, BACKUP_MANIFEST)).then(
        () => true,
        () => false,
      )
    )
      out.push(n);
  }
  return out;
}

/** What a backup did. */
export interface BackupResult {
  dir: string;
  manifest: BackupManifest;
  /** Backups removed by retention. */
  pruned: string[];
  keep: number;
  tookMs: number;
}

/**
 * Retention: remove all but the newest `keep` backups. Called only after a backup verified itself
 * (createBackup) or after an operation that might have needed the older ones succeeded (upgrade).
 * @returns the names removed, oldest first.
 */
export async function pruneBackups(root: string, keep: number, reporter: StepReporter): Promise<string[]> {
  return step(
    reporter,
    'retention',
    `Keep the newest ${keep} backups`,
    async () => {
      const remove = backupsToPrune(await listBackups(root), keep);
      for (const n of remove) await fs.rm(join(root, INSTALL_FILES.backups, n), { recursive: true, force: true });
      return remove;
    },
    (r) => (r.length ? `removed ${r.join(', ')}` : 'nothing to remove'),
  );
}

/**
 * Take a full backup of the running stack (see the module doc).
 * @param opts.keep backups to keep (default: carebox.json's, else 7); recorded in carebox.json.
 * @param opts.prune false: keep every older backup for now (an operation that may still need them
 *   prunes with {@link pruneBackups} once it succeeded).
 * Before anything is written, the backup must fit (installer/backup/backup.fit.ts: database size
 * plus a reserve against the free space of backups/); a refusal is recorded in carebox.json and the
 * metrics file (`carebox_backup_refused_timestamp_seconds`). After the rename the backup is read
 * back and verified (signature, sha256 of the dump and every file) before retention may remove
 * anything; the attempt and, when verified, the success are recorded the same way.
 * @throws PreflightError (exit 3) when it would not fit; OperationError when db is not running,
 *   pg_dump fails or the written backup does not verify (the partial directory is removed).
 */
export async function createBackup(stack: Stack, opts: { keep?: number; prune?: boolean }, reporter: StepReporter): Promise<BackupResult> {
  const run = async (): Promise<BackupResult> => {
    const t0 = Date.now();
    // An install from before install ids and backup keys gets both with its first backup.
    const m: Manifest = { ...stack.manifest, installId: installIdFor(stack.manifest) };
    await ensureBackupKey(stack.root);
    const key = await readBackupKey(join(stack.root, BACKUP_KEY_FILE));
    const keep = opts.keep ?? m.backups?.keep ?? DEFAULT_KEEP;
    const stamp = utcStamp();
    const backups = join(stack.root, INSTALL_FILES.backups);
    const final = join(backups, stamp);
    if (
      await fs.access(final).then(
        () => true,
        () => false,
      )
    )
      throw new OperationError(`backup ${final} exists already`, 'wait a second and retry');
    const partial = join(backups, `.partial-${stamp}`);
    await fs.mkdir(partial, { recursive: true, mode: 0o700 });
    await fs.chmod(partial, 0o700);
    const attemptAt = new Date().toISOString();
    try {
      const dbId = await runningDb(stack);
      await step(
        reporter,
        'fit',
        'Check that the backup fits on the disk',
        async () => {
          const size = Number((await psqlRows(stack.docker, dbId, `SELECT pg_database_size('${DB_NAME}');`))[0]?.[0] ?? NaN);
          const st = await fs.statfs(backups);
          const fit = backupFits(Number.isFinite(size) ? size : 0, st.bavail * st.bsize, st.blocks * st.bsize, reserveOverride(stack.env));
          const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
          if (!fit.ok) {
            await updateBackupStatus(stack.root, (s) => ({ ...s, refusedAt: new Date().toISOString() })).catch(() => undefined);
            throw new PreflightError(
              `backup refused before it started: it needs about ${mib(fit.estimateBytes)} plus ${mib(fit.reserveBytes)} that must stay free, but ${join(stack.root, INSTALL_FILES.backups)} has ${mib(fit.freeBytes)} free`,
              'free disk space (older backups can be removed with `carebox backup --keep N`, logs are capped by the plan) or mount a larger disk at backups/; nothing was written',
            );
          }
          return fit;
        },
        (f) => `needs ~${(f.needBytes / 1024 / 1024).toFixed(0)} MiB with the reserve, ${(f.freeBytes / 1024 / 1024).toFixed(0)} MiB free`,
      );
      const versionNum = await serverVersionNum(stack.docker, dbId);
      const version = (await psqlRows(stack.docker, dbId, 'SHOW server_version;'))[0]?.[0] ?? String(versionNum);
      const { tables, checksums, bytes } = await step(
        reporter,
        'dump',
        'Dump the database (pg_dump -Fc through the db container)',
        async (progress) => {
          // One snapshot for the dump and the row counts: exported by this session, used by pg_dump.
          const session = await PsqlSession.open(stack.docker, dbId);
          try {
            await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;');
            const snapshot = (await session.query('SELECT pg_export_snapshot();'))[0]?.[0];
            if (!snapshot) throw new OperationError('PostgreSQL did not export a snapshot');
            const out = createWriteStream(join(partial, DUMP_FILE), { mode: 0o600 });
            const r = await execIn(stack.docker, dbId, ['pg_dump', '-Fc', `--snapshot=${snapshot}`, '-U', DB_USER, '-d', DB_NAME], {
              stdout: out,
              timeoutMs: 6 * 60 * 60_000,
            });
            out.end();
            await once(out, 'finish');
            if (r.code !== 0)
              throw new OperationError(
                `pg_dump failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-4).join(' ')}`,
                'check `carebox logs db` and free disk space at the install root',
              );
            const counted = parseRowCounts(await session.query(ROW_COUNTS_SQL));
            await session.query(CANONICAL_TEXT_SQL);
            const checksums = parseChecksums(await session.query(TABLE_CHECKSUMS_SQL));
            await session.query('COMMIT;');
            const size = (await fs.stat(join(partial, DUMP_FILE))).size;
            progress(`${Object.keys(counted).length} tables, ${size} bytes`);
            return { tables: counted, checksums, bytes: size };
          } finally {
            await session.close();
          }
        },
        (r) => `${Object.keys(r.tables).length} tables, ${(r.bytes / 1024 / 1024).toFixed(1)} MiB`,
      );
      const files = await step(
        reporter,
        'files',
        'Copy the configuration and .env',
        async () => {
          const entries: BackupFileEntry[] = [];
          for (const f of BACKED_UP_FILES) {
            const src = join(stack.root, f);
            const st = await fs.stat(src).catch(() => null);
            if (!st) continue;
            const rel = join('files', f);
            await fs.mkdir(join(partial, rel, '..'), { recursive: true, mode: 0o700 });
            await fs.copyFile(src, join(partial, rel));
            await fs.chmod(join(partial, rel), f === INSTALL_FILES.env || f === TLS_KEY_FILE ? 0o600 : st.mode & 0o777);
            entries.push(await fileEntry(partial, rel));
          }
          return entries;
        },
        (e) => `${e.length} files`,
      );
      const manifest: BackupManifest = {
        schemaVersion: 1,
        kind: 'carebox-backup',
        createdAt: new Date().toISOString(),
        stamp,
        carebox: { version: CAREBOX_VERSION },
        installId: m.installId!,
        project: m.project,
        tier: m.plan.tier,
        images: m.images,
        postgres: { version, versionNum, major: pgMajor(versionNum), database: DB_NAME },
        dump: await fileEntry(partial, DUMP_FILE),
        tables,
        checksums,
        files,
      };
      const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
      await fs.writeFile(join(partial, BACKUP_MANIFEST), manifestBytes, { mode: 0o600 });
      await fs.writeFile(join(partial, SIGNATURE_FILE), signManifest(manifestBytes, key), { mode: 0o600 });
      await fs.rename(partial, final);
      await step(
        reporter,
        'verify',
        'Read the backup back and verify it (signature, sha256 of every file)',
        async () => {
          try {
            await verifyBackupManifest(final, key);
            if ((await sha256File(join(final, DUMP_FILE))) !== manifest.dump.sha256) throw new OperationError('the dump does not match its sha256');
          } catch (err) {
            // Never leave an unverified backup that looks complete.
            await fs.rename(final, join(backups, `.failed-${stamp}`)).catch(() => undefined);
            throw new OperationError(
              `backup ${stamp} did not verify after writing: ${(err as Error).message}`,
              `kept as backups/.failed-${stamp} for inspection; check the disk (dmesg) and retry`,
            );
          }
          return 'ok';
        },
        () => 'signature and sha256 of every file match',
      );
      const pruned = opts.prune === false ? [] : await pruneBackups(stack.root, keep, reporter);
      const next: Manifest = { ...m, backups: { ...(m.backups ?? {}), keep, last: stamp } };
      await writeManifest(stack.root, next, stamp);
      const now = new Date().toISOString();
      stack.manifest = await updateBackupStatus(stack.root, (s) => ({
        ...s,
        lastAttemptAt: attemptAt,
        lastAttemptOk: true,
        lastAttemptWhy: null,
        lastSuccessAt: now,
        scheduleMissedAt: null,
      }));
      return { dir: final, manifest, pruned, keep, tookMs: Date.now() - t0 };
    } catch (err) {
      await fs.rm(partial, { recursive: true, force: true });
      if (!(err instanceof PreflightError)) {
        await updateBackupStatus(stack.root, (s) => ({
          ...s,
          lastAttemptAt: attemptAt,
          lastAttemptOk: false,
          lastAttemptWhy: (err as Error).message.slice(0, 300),
        })).catch(() => undefined);
      }
      throw err;
    }
  };
  // Under the caller's lock when it holds one (an upgrade's safety backup): stack.lock.ts.
  return withStackLock(stack.root, 'backup', run);
}

export { resolveBackupDir };

/** What a restore did. */
export interface RestoreResult {
  dir: string;
  tables: Record<string, number>;
  /** Migrations applied after the restore (the backup predated them). */
  migrated: boolean;
  /** Seconds the app (backend, worker) was down. */
  appDownS: number;
  /** Audit events written since the backup that were kept, and the event recording the restore. */
  audit: AuditCarryOver;
  /** Whether backup.json's signature was verified (false only with --allow-unsigned). */
  signed: boolean;
  /** What the restore replaced, measured before it started. */
  loss: RestoreLoss;
  tookMs: number;
}

/** How restore treats where a backup comes from. */
export interface RestoreOptions {
  timeoutMs: number;
  /** Accept a backup of another install (moving to a new server): its installId differs from carebox.json's. */
  fromOtherInstall?: boolean;
  /** A backup without an install id (made before ids existed) is of this install: carry over only newer audit events. */
  sameInstall?: boolean;
  /** DIR may be outside the install's backups/ folder. */
  fromPath?: boolean;
  /** The key that signed the backup (another install's backup.key); default the install's own. */
  backupKeyFile?: string | null;
  /** Accept a backup without backup.json.sig (made before backups were signed). */
  allowUnsigned?: boolean;
  /**
   * Shown what the restore would lose (rows written or changed since the backup, per table) before
   * anything changes; false cancels (OperationError, nothing changed). Without it the restore
   * proceeds (`--yes`, or an upgrade's rollback inside its maintenance window).
   */
  confirm?: (loss: RestoreLoss) => Promise<boolean>;
}

/**
 * Whether a backup is another install's, by install id (never by project name: every install at the
 * default root is called `carebox`). A backup without an id (made before ids existed) cannot be told
 * apart, so the operator must say which it is. Pure.
 * @returns 'same' | 'other'
 * @throws UsageError when the backup has no id and neither `sameInstall` nor `fromOtherInstall` is given,
 *   or another install's backup without `fromOtherInstall`.
 */
export function backupOrigin(
  bm: Pick<VerifiedManifest, 'installId' | 'stamp'>,
  installId: string | undefined,
  opts: Pick<RestoreOptions, 'fromOtherInstall' | 'sameInstall'>,
): 'same' | 'other' {
  if (opts.fromOtherInstall && opts.sameInstall) throw new UsageError('--from-other-install and --same-install exclude each other');
  if (!bm.installId) {
    if (opts.sameInstall) return 'same';
    if (opts.fromOtherInstall) return 'other';
    throw new UsageError(
      `backup ${bm.stamp} records no install id (it was made before Carebox recorded one), so it cannot tell whether it is this install's`,
      "rerun with --same-install if it is a backup of this install (audit events since it are carried over), or --from-other-install if it is another's (this install's whole audit trail is appended after the backup's)",
    );
  }
  if (bm.installId === installId) {
    if (opts.fromOtherInstall)
      throw new UsageError(`backup ${bm.stamp} is of this install (install id ${bm.installId}), not of another`, 'rerun without --from-other-install');
    return 'same';
  }
  if (!opts.fromOtherInstall) {
    throw new UsageError(
      `backup ${bm.stamp} was taken of another install (install id ${bm.installId}), not of this one (${installId ?? 'no id yet'})`,
      "to move that install's records here (a new server), rerun with --from-other-install: this install's records are replaced, its audit trail is kept and appended after the backup's",
    );
  }
  return 'other';
}

/**
 * Restore a backup's database into the running stack.
 * @param opts see {@link RestoreOptions}
 * @throws UsageError (exit 2) for a directory that is not a backup or is outside backups/ without
 *   fromPath, or another install's backup without opts.fromOtherInstall; UntrustedBackupError
 *   (exit 5) for a missing or wrong signature; OperationError for a corrupt backup, a
 *   failed pg_restore (the previous database is put back and the app started on it again) or row counts that do not match (the
 *   restored database is kept, the previous one is kept as `carebox_pre_restore_<stamp>`, and the
 *   app stays down); PreflightError when the backup is from a newer PostgreSQL major;
 *   UnhealthyError when the app does not come back healthy.
 */
export async function restoreBackup(stack: Stack, dirArg: string, opts: RestoreOptions, reporter: StepReporter): Promise<RestoreResult> {
  const dir = await resolveBackupDir(stack.root, dirArg, { fromPath: opts.fromPath });
  // Without a key file (an install that never took a backup with this version) only an unsigned
  // backup can be restored, and only with --allow-unsigned.
  const keyFile = opts.backupKeyFile ?? join(stack.root, BACKUP_KEY_FILE);
  const key = opts.allowUnsigned && !opts.backupKeyFile ? await readBackupKey(keyFile).catch(() => null) : await readBackupKey(keyFile);
  const run = async (): Promise<RestoreResult> => {
    const t0 = Date.now();
    const staging = await fs.mkdtemp(join(stack.root, INSTALL_FILES.backups, '.restore-'));
    try {
      return await restoreVerified(stack, dir, key, staging, t0, opts, reporter);
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
  };
  return withStackLock(stack.root, 'restore', run);
}

async function restoreVerified(
  stack: Stack,
  dir: string,
  key: Buffer | null,
  staging: string,
  t0: number,
  opts: RestoreOptions,
  reporter: StepReporter,
): Promise<RestoreResult> {
  {
    const { manifest: bm, signed } = await step(
      reporter,
      'verify',
      'Check the backup (signature, sha256 of every file)',
      async () => verifyBackupManifest(dir, key, { allowUnsigned: opts.allowUnsigned }),
      (b) =>
        `backup ${b.manifest.stamp}${b.signed ? ' (signature valid)' : ' (UNSIGNED, accepted with --allow-unsigned)'}: ${Object.keys(b.manifest.tables).length} tables, PostgreSQL ${b.manifest.postgres.version}`,
    );
    const foreign = backupOrigin(bm, stack.manifest.installId, opts) === 'other';
    const dump = await step(
      reporter,
      'stage',
      'Copy the dump aside and check it byte for byte',
      async () => stageDump(dir, bm.dump, staging),
      () => `${(bm.dump.bytes / 1024 / 1024).toFixed(1)} MiB, sha256 matches`,
    );
    const env = await loadSecrets(stack.root);
    const secrets = env.secrets;
    const dbId = await runningDb(stack);
    const running = await serverVersionNum(stack.docker, dbId);
    if (Number(bm.postgres.major) > Number(pgMajor(running))) {
      throw new PreflightError(
        `the backup is from PostgreSQL ${bm.postgres.version}, newer than the running ${pgMajor(running)}`,
        'restore it into a stack that runs the same or a newer PostgreSQL major',
      );
    }
    // What this restore throws away, said before anything changes; the caller confirms it (or --yes).
    const loss = await step(
      reporter,
      'loss',
      'Measure what the restore replaces (writes since the backup)',
      () => measureRestoreLoss(stack.docker, dbId, bm),
      (l) => (l.totalLost > 0 ? `${l.totalLost} row(s) written or changed since the backup will be lost` : 'no write since the backup found'),
    );
    if (opts.confirm && !(await opts.confirm(loss))) throw new OperationError('restore cancelled: nothing was changed');
    await step(reporter, 'roles', 'Check the database roles (owner, application)', async () => {
      if (env.generated.some((k) => k === 'POSTGRES_OWNER_PASSWORD' || k === 'POSTGRES_APP_PASSWORD')) {
        throw new OperationError(
          'this install has no owner and application database roles yet (.env lacks their passwords)',
          'run `carebox upgrade` (or `carebox install --yes` again) first: it creates them without touching the data',
        );
      }
      await applyDbRoles(stack.compose, secrets);
      return `${DB_OWNER_ROLE} restores and migrates`;
    });
    // Every request gets the maintenance 503 (with Retry-After) while the database is swapped; it
    // stays on when the app is left stopped on purpose (the restored data must be inspected first).
    let keepClosed = false;
    const { tables, audit, migrated, appDownS } = await withMaintenance(
      stack,
      { mode: 'full', by: 'restore', keepOn: () => keepClosed, onProgress: (msg) => reporter.progress('loss', msg) },
      async () => {
        const downAt = Date.now();
        await step(
          reporter,
          'app-down',
          'Stop the app (backend, worker) cleanly',
          async (progress) => `${await stopApp(stack, progress)} container(s) stopped; nginx answers 503 meanwhile`,
        );
        const aside = `${DB_NAME}_pre_restore_${utcStamp().toLowerCase()}`;
        await step(reporter, 'restore', 'Restore into a fresh database and swap it in', async (progress) => {
          // Everything still connected (console sessions, a stray psql) must let go of the database.
          const terminate = `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${DB_NAME}' AND pid <> pg_backend_pid();`;
          await psqlRows(stack.docker, dbId, terminate, { database: 'postgres' });
          // The superuser only renames and creates the database; the owner role restores into it.
          await psqlRows(
            stack.docker,
            dbId,
            `ALTER DATABASE "${DB_NAME}" RENAME TO "${aside}";\nCREATE DATABASE "${DB_NAME}" OWNER "${DB_OWNER_ROLE}";\nREVOKE TEMPORARY ON DATABASE "${DB_NAME}" FROM PUBLIC;`,
            { database: 'postgres' },
          );
          progress(`previous database kept as ${aside} until the restore is verified`);
          // As the owner, without the dump's owners and grants (a backup from before the roles has the
          // superuser in them): the migrate step below grants the app role its privileges again.
          const r = await execIn(
            stack.docker,
            dbId,
            ['pg_restore', '--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', '-U', DB_OWNER_ROLE, '-d', DB_NAME],
            {
              stdin: createReadStream(dump),
              timeoutMs: 6 * 60 * 60_000,
            },
          );
          if (r.code !== 0) {
            await psqlRows(stack.docker, dbId, `${terminate}\nDROP DATABASE IF EXISTS "${DB_NAME}";\nALTER DATABASE "${aside}" RENAME TO "${DB_NAME}";`, {
              database: 'postgres',
            }).catch(() => undefined);
            throw new OperationError(`pg_restore failed (exit ${r.code}); the previous database is back:\n${r.stderr.trim().split('\n').slice(-6).join('\n')}`);
          }
          return 'restored';
        }).catch(async (err: unknown) => {
          // Serve the previous data again before failing, but only once it is certainly back in place
          // (never moved, or renamed back): never start the app on a half-restored database.
          const stillAside = await psqlRows(stack.docker, dbId, `SELECT 1 FROM pg_database WHERE datname = '${aside}';`, { database: 'postgres' }).then(
            (r) => r.length > 0,
            () => true,
          );
          const back = stillAside
            ? `the app stays stopped: the previous database is still kept as ${aside} (rename it back to ${DB_NAME} with psql in the db container, then \`carebox restart backend\`)`
            : await startApp(stack, opts.timeoutMs).then(
                () => 'the app is serving the previous data again',
                (e: Error) => `the app did not come back (${e.message}); \`carebox restart backend\` and \`carebox restart worker\` retry`,
              );
          if (err instanceof OperationError) throw new OperationError(err.message, `${back}; nothing was restored`, err);
          throw err;
        });
        const tables = await step(
          reporter,
          'counts',
          'Verify row counts against backup.json',
          async () => {
            const got = parseRowCounts(await psqlRows(stack.docker, dbId, ROW_COUNTS_SQL, { timeoutMs: 60 * 60_000 }));
            const diff = compareRowCounts(bm.tables, got);
            if (diff.length > 0) {
              keepClosed = true;
              throw new OperationError(
                `the restored database does not match the backup: ${diff.join('; ')}`,
                `the app stays stopped and maintenance on (\`carebox maintenance off\` once resolved) so nothing writes to it; the previous database is kept as ${aside}; inspect with psql in the db container`,
              );
            }
            return got;
          },
          (t) => `${Object.keys(t).length} tables match (${Object.values(t).reduce((a, b) => a + b, 0)} rows)`,
        );
        const audit = await step(
          reporter,
          'audit',
          'Carry over the audit trail written since the backup, and record the restore',
          async () => {
            const a = await carryOverAuditTrail(stack.docker, dbId, aside, bm.stamp, foreign ? 'all' : 'since-backup', DB_OWNER_ROLE);
            await psqlRows(stack.docker, dbId, `DROP DATABASE IF EXISTS "${aside}";`, { database: 'postgres' });
            return a;
          },
          (a) =>
            a.restoreEventId === null
              ? 'the backup has no audit trail'
              : `${a.carried} event(s) since the backup kept; restore recorded as event ${a.restoreEventId}`,
        );
        // A backup older than the running server image lacks its newest migrations.
        const migrated = await step(
          reporter,
          'migrate',
          'Run pending migrations',
          async (progress) => {
            const before = (await psqlRows(stack.docker, dbId, 'SELECT count(*) FROM knex_migrations;').catch(() => [['0']]))[0]?.[0];
            // Always run: as the owner, it also grants the app role its privileges on the restored tables.
            await runMigrations(stack.compose, secrets, progress);
            const after = (await psqlRows(stack.docker, dbId, 'SELECT count(*) FROM knex_migrations;'))[0]?.[0];
            return before !== after;
          },
          (m) => (m ? 'applied migrations newer than the backup' : 'up to date'),
        );
        const appDownS = await step(
          reporter,
          'app-up',
          'Start the app and wait until it is healthy',
          async (progress) => {
            try {
              await startApp(stack, opts.timeoutMs, progress);
            } catch (err) {
              throw new UnhealthyError(
                `the database was restored, but the app did not become healthy: ${(err as Error).message}`,
                'check `carebox logs backend`',
              );
            }
            return (Date.now() - downAt) / 1000;
          },
          (s) => `app back after ${s.toFixed(1)} s`,
        );
        return { tables, audit, migrated, appDownS };
      },
    );
    const now = new Date().toISOString();
    const next: Manifest = {
      ...stack.manifest,
      installId: installIdFor(stack.manifest),
      history: [
        ...stack.manifest.history,
        { appliedAt: now, action: 'restore', tier: stack.manifest.plan.tier, summary: `database restored from backup ${bm.stamp}` },
      ],
    };
    await writeManifest(stack.root, next, utcStamp());
    stack.manifest = next;
    return { dir, tables, migrated, appDownS, audit, signed, loss, tookMs: Date.now() - t0 };
  }
}
