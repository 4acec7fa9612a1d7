/**
 * `carebox restore --from-restic REPO`: restore a backup from a restic repository onto this install,
 * typically a freshly installed server that has only the repository, its password and an SSH key
 * (SFTP) or a credentials file (REST, S3). The snapshot is restored into `backups/.restic-<stamp>/`, its backup directory is moved
 * to `backups/<backup stamp>/` (a local backup from then on), and the ordinary restore runs on it,
 * verified with the backup.key that travelled in the same snapshot (see restic.ops.ts for why that
 * key is trusted: only the repository password opens or alters the repository).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { utcStamp } from '../../installer/apply/fs.atomic.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { redactUrl, repoAccess } from '../../installer/backup/offsite.config.js';
import { OperationError, UsageError } from '../../installer/errors.js';
import { INSTALL_FILES } from '../../installer/paths.js';
import { resticImage } from '../../installer/render/images.map.js';
import { BACKUP_MANIFEST, restoreBackup, STAMP_RE, type RestoreOptions, type RestoreResult } from './backup.ops.js';
import { checkPrivateFile, readRepoCredentials, restoreSnapshot } from './restic.ops.js';
import { step, type Stack } from './stack.js';

/** Where the backup comes from. */
export interface ResticSource {
  /** Repository URL (local path, sftp://…, rest:… or s3:…). */
  url: string;
  /** File holding the repository password (mode 0600). */
  passwordFile: string;
  /** SFTP: the private key file (mode 0600). */
  sshKey: string | null;
  /** REST or S3: the credentials file (mode 0600; installer/backup/offsite.config.ts); REST may carry them in the URL instead. */
  credentialsFile?: string | null;
  /** Snapshot id, or `latest` (the newest Carebox snapshot). */
  snapshot: string;
}

/**
 * Restore from a restic repository (see the module doc).
 * @throws UsageError for a bad URL or a password/key file readable by others; OperationError when
 *   restic fails or the snapshot holds no Carebox backup; anything restoreBackup throws.
 */
export async function restoreFromRestic(
  stack: Stack,
  src: ResticSource,
  opts: Omit<RestoreOptions, 'fromPath' | 'backupKeyFile' | 'fromOtherInstall' | 'sameInstall'>,
  reporter: StepReporter,
): Promise<RestoreResult & { snapshot: string; stamp: string }> {
  const access = repoAccess(src.url);
  await checkPrivateFile(src.passwordFile, 'repository password file');
  if (access.kind === 'sftp') {
    if (!src.sshKey) throw new UsageError(`repository ${src.url} is SFTP: give the private key with --ssh-key FILE`);
    await checkPrivateFile(src.sshKey, 'SSH key');
  } else if (src.sshKey) throw new UsageError('--ssh-key is for SFTP repositories only');
  const credentialsFile = src.credentialsFile ?? null;
  if (credentialsFile) {
    if (access.kind !== 'rest' && access.kind !== 's3') throw new UsageError('--credentials-file is for REST and S3 repositories only');
    if (access.urlCredentials) throw new UsageError('give the REST user and password either in the URL or in --credentials-file, not both');
    await readRepoCredentials(credentialsFile, access.kind);
  } else if (access.kind === 's3') throw new UsageError(`repository ${src.url} is S3: give its keys with --credentials-file FILE`);
  const backups = join(stack.root, INSTALL_FILES.backups);
  await fs.mkdir(backups, { recursive: true, mode: 0o700 });
  const staging = join(backups, `.restic-${utcStamp()}`);
  try {
    const ctx = { docker: stack.docker, image: resticImage(stack.manifest.images), passwordFile: src.passwordFile, knownHostsDir: join(stack.root, 'restic') };
    await step(
      reporter,
      'fetch',
      `Restore snapshot ${src.snapshot} from ${redactUrl(src.url)} (restic)`,
      (progress) => restoreSnapshot(ctx, { url: src.url, sshKey: src.sshKey, credentialsFile }, src.snapshot, staging, (l) => progress(l.slice(0, 200))),
      () => 'restored',
    );
    const fetched = join(staging, 'carebox', 'backup');
    const keyFile = join(staging, 'carebox', 'backup.key');
    const raw = await fs.readFile(join(fetched, BACKUP_MANIFEST), 'utf8').catch(() => null);
    if (!raw)
      throw new OperationError(
        `snapshot ${src.snapshot} of ${redactUrl(src.url)} holds no Carebox backup (no carebox/backup/${BACKUP_MANIFEST})`,
        'list the snapshots with restic, or pick another with --snapshot ID',
      );
    const bm = JSON.parse(raw) as { stamp?: string; installId?: string };
    if (!bm.stamp || !STAMP_RE.test(bm.stamp)) throw new OperationError(`snapshot ${src.snapshot}: backup.json has no valid stamp`);
    await fs.chmod(keyFile, 0o600).catch(() => undefined);
    const dest = join(backups, bm.stamp);
    if (
      !(await fs.access(dest).then(
        () => true,
        () => false,
      ))
    )
      await fs.rename(fetched, dest);
    // A backup of this very install (same id) restores as one; any other install's is a move to this server.
    const foreign = !bm.installId || bm.installId !== stack.manifest.installId;
    const r = await restoreBackup(
      stack,
      bm.stamp,
      { ...opts, backupKeyFile: keyFile, fromOtherInstall: foreign && Boolean(bm.installId), sameInstall: !bm.installId },
      reporter,
    );
    return { ...r, snapshot: src.snapshot, stamp: bm.stamp };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
