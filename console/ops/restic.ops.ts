/**
 * restic, run from its image as short-lived containers (console/docker/run.once.ts), so the host
 * needs only Docker. Every snapshot holds one verified Carebox backup under `/carebox/backup/`
 * (db.dump, files/, backup.json and its signature) and the install's `/carebox/backup.key`.
 *
 * Why the key travels inside the repository: a fresh server restoring from restic has only the
 * repository and its password. restic encrypts and authenticates everything it stores (AES-256 +
 * Poly1305 under keys derived from the password), so whoever can read or alter the key in the
 * repository already holds the password and could rewrite the whole backup anyway: the HMAC
 * signature then still proves the dump and the manifest belong together and were not edited after
 * the backup, while the repository password is the trust anchor off the host.
 *
 * REST and S3 credentials: read from the repository's credentials file (mode 0600) for each run and
 * handed to restic in its container's environment (installer/backup/offsite.config.ts), never in
 * argv; restic's output is masked (secrets, URL passwords) before it is returned or logged.
 *
 * The repository password: one per install, `<root>/secrets/restic-password` (0600), generated once
 * and never regenerated (exclusive create), printed once to the admin with the instruction to keep
 * a copy off the server.
 */
import { open, mkdir, chmod, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import { OperationError, UsageError } from '../../installer/errors.js';
import { INSTALL_FILES } from '../../installer/paths.js';
import { newSecret } from '../../installer/apply/secrets.store.js';
import { BACKUP_KEY_FILE } from '../../installer/apply/backup.key.js';
import {
  forgetArgs,
  maskSecrets,
  parseRepoCredentials,
  repoAccess,
  repoEnvironment,
  sftpCommand,
  SNAPSHOT_TAG,
  type OffsiteRepo,
  type RepoCredentials,
  type RepoKind,
  type Retention,
} from '../../installer/backup/offsite.config.js';
import { runOnce, type RunOnceResult } from '../docker/run.once.js';

const PW_IN = '/run/carebox/restic-password';
const KEY_IN = '/run/carebox/ssh/id';
const KNOWN_IN = '/run/carebox/ssh-known';

/** Where restic runs from and with which password. */
export interface ResticContext {
  docker: Docker;
  image: string;
  /** Host path of the repository password file (0600). */
  passwordFile: string;
  /** Host directory where SFTP host keys are pinned (known_hosts inside). */
  knownHostsDir: string;
}

/** The restic context of an install root. */
export function resticContext(docker: Docker, root: string, image: string): ResticContext {
  return { docker, image, passwordFile: join(root, INSTALL_FILES.resticPassword), knownHostsDir: dirname(join(root, INSTALL_FILES.resticKnownHosts)) };
}

/**
 * Create the repository password once (`<root>/secrets/restic-password`, 0600, exclusive create).
 * @returns the password when this call created it (show it once), else null.
 * @throws OperationError on I/O errors.
 */
export async function ensureResticPassword(root: string): Promise<string | null> {
  const file = join(root, INSTALL_FILES.resticPassword);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    const fh = await open(file, 'wx', 0o600);
    const pw = newSecret();
    try {
      await fh.writeFile(`${pw}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return pw;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw new OperationError(`cannot create ${file}: ${(err as Error).message}`, 'check that the install root is writable');
  }
}

/**
 * Check a password or key file given by the admin: it exists and only its owner can read it.
 * @throws UsageError naming the fix.
 */
export async function checkPrivateFile(path: string, what: string): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (!st || !st.isFile()) throw new UsageError(`${what} ${path} does not exist`);
  if ((st.mode & 0o077) !== 0) throw new UsageError(`${what} ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 600 ${path}`);
}

/**
 * Read a REST or S3 credentials file: mode 0600, `KEY=VALUE` lines or JSON with the keys of `kind`.
 * @throws UsageError when it is missing, readable by others, or has the wrong keys.
 */
export async function readRepoCredentials(file: string, kind: RepoKind): Promise<RepoCredentials> {
  await checkPrivateFile(file, 'credentials file');
  return parseRepoCredentials(await readFile(file, 'utf8'), kind, `credentials file ${file}`);
}

/** A repository as restic() takes it. */
export type RepoRef = Pick<OffsiteRepo, 'url' | 'sshKey'> & { credentialsFile?: string | null };

/**
 * Run restic against one repository. Output is returned with secrets masked; a non-zero exit is
 * not thrown here.
 * @throws UsageError for a bad URL, a missing SSH key (SFTP) or credentials (S3), or a bad credentials file.
 */
export async function restic(
  ctx: ResticContext,
  repo: RepoRef,
  args: string[],
  extra: { binds?: string[]; timeoutMs?: number; onStderr?: (l: string) => void } = {},
): Promise<RunOnceResult> {
  const access = repoAccess(repo.url);
  // REST may carry its user and password in the URL (`restore --from-restic rest:http://u:p@…`).
  const creds = repo.credentialsFile ? await readRepoCredentials(repo.credentialsFile, access.kind) : access.urlCredentials;
  const { repositoryArg, env, secrets } = repoEnvironment(access, creds);
  const binds = [`${ctx.passwordFile}:${PW_IN}:ro`, ...access.sameBinds.map((p) => `${p}:${p}`), ...(extra.binds ?? [])];
  const opts: string[] = [];
  if (access.sftp) {
    if (!repo.sshKey) throw new UsageError(`repository ${repo.url} needs an SSH key (--ssh-key FILE)`);
    await mkdir(ctx.knownHostsDir, { recursive: true, mode: 0o700 });
    binds.push(`${repo.sshKey}:${KEY_IN}:ro`, `${ctx.knownHostsDir}:${KNOWN_IN}`);
    opts.push('-o', `sftp.command=${sftpCommand(access.sftp, KEY_IN, `${KNOWN_IN}/known_hosts`)}`);
  }
  const onStderr = extra.onStderr;
  const r = await runOnce(ctx.docker, {
    image: ctx.image,
    cmd: ['--no-cache', ...(repositoryArg ? ['-r', repositoryArg] : []), ...opts, ...args],
    env: [`RESTIC_PASSWORD_FILE=${PW_IN}`, ...env],
    binds,
    // SFTP, REST and S3 servers are reached like from the host (its routes, its loopback); a local repository needs no network.
    network: access.network,
    timeoutMs: extra.timeoutMs ?? 6 * 60 * 60_000,
    onStderr: onStderr ? (l) => onStderr(maskSecrets(l, secrets)) : undefined,
  });
  return { code: r.code, stdout: maskSecrets(r.stdout, secrets), stderr: maskSecrets(r.stderr, secrets) };
}

function fail(what: string, repo: Pick<OffsiteRepo, 'url'>, r: RunOnceResult, hint?: string): never {
  // r's output is masked already (restic()); the URL as stored carries no password.
  throw new OperationError(
    `restic ${what} on ${maskSecrets(repo.url, [])} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ').slice(0, 400)}`,
    hint ?? 'check the repository path or server (SFTP, REST, S3), the SSH key or credentials file, and the repository password',
  );
}

/**
 * Initialise the repository unless it exists (`restic cat config` succeeds on an existing one).
 * @returns true when it was created now.
 * @throws OperationError when it neither exists nor can be created (wrong password, unreachable).
 */
export async function ensureRepository(ctx: ResticContext, repo: RepoRef): Promise<boolean> {
  const probe = await restic(ctx, repo, ['cat', 'config'], { timeoutMs: 120_000 });
  if (probe.code === 0) return false;
  if (/wrong password|no key found/i.test(probe.stderr)) fail('open', repo, probe, 'the repository exists but was made with another password');
  const r = await restic(ctx, repo, ['init'], { timeoutMs: 300_000 });
  if (r.code !== 0) fail('init', repo, r);
  return true;
}

/** A snapshot as `restic snapshots --json` lists it. */
export interface Snapshot {
  id: string;
  short_id: string;
  time: string;
  tags?: string[];
}

/** The stamp tag of a snapshot (`stamp=20261207T020000Z`), or null. Pure. */
export function snapshotStamp(s: Snapshot): string | null {
  return s.tags?.find((t) => t.startsWith('stamp='))?.slice(6) ?? null;
}

/**
 * Copy one backup directory (and the install's backup.key) into the repository as a snapshot.
 * @returns the snapshot id.
 * @throws OperationError when restic fails.
 */
export async function copyBackup(ctx: ResticContext, repo: OffsiteRepo, root: string, backupDir: string, stamp: string, installId: string): Promise<string> {
  const r = await restic(
    ctx,
    repo,
    ['backup', '--json', '--tag', SNAPSHOT_TAG, '--tag', `stamp=${stamp}`, '--host', `carebox-${installId.slice(0, 8)}`, '/carebox'],
    {
      binds: [`${backupDir}:/carebox/backup:ro`, `${join(root, BACKUP_KEY_FILE)}:/carebox/${BACKUP_KEY_FILE}:ro`],
    },
  );
  if (r.code !== 0) fail('backup', repo, r);
  for (const line of r.stdout.split('\n').reverse()) {
    try {
      const j = JSON.parse(line) as { message_type?: string; snapshot_id?: string };
      if (j.message_type === 'summary' && j.snapshot_id) return j.snapshot_id;
    } catch {
      /* progress lines */
    }
  }
  throw new OperationError(`restic backup on ${repo.url} printed no snapshot id`);
}

/** Carebox snapshots in the repository, oldest first. @throws OperationError when restic fails. */
export async function listSnapshots(ctx: ResticContext, repo: RepoRef): Promise<Snapshot[]> {
  const r = await restic(ctx, repo, ['snapshots', '--json', '--tag', SNAPSHOT_TAG], { timeoutMs: 300_000 });
  if (r.code !== 0) fail('snapshots', repo, r);
  return (JSON.parse(r.stdout.trim() || '[]') as Snapshot[]).sort((a, b) => a.time.localeCompare(b.time));
}

/**
 * Apply the retention policy (restic decides which snapshots it keeps) and prune unreferenced data.
 * Call only after a new backup was copied and verified.
 * @throws OperationError when restic fails.
 */
export async function applyRetention(ctx: ResticContext, repo: OffsiteRepo, retention?: Retention): Promise<void> {
  const r = await restic(ctx, repo, forgetArgs(retention));
  if (r.code !== 0) fail('forget --prune', repo, r);
}

/**
 * Restore one snapshot (id, or `latest`) into `target` (created 0700). The backup lands in
 * `<target>/carebox/backup/`, the key in `<target>/carebox/backup.key`.
 * @throws OperationError when restic fails.
 */
export async function restoreSnapshot(ctx: ResticContext, repo: RepoRef, snapshot: string, target: string, onStderr?: (l: string) => void): Promise<void> {
  await mkdir(target, { recursive: true, mode: 0o700 });
  await chmod(target, 0o700);
  const args = snapshot === 'latest' ? ['restore', 'latest', '--tag', SNAPSHOT_TAG, '--target', '/restore'] : ['restore', snapshot, '--target', '/restore'];
  const r = await restic(ctx, repo, args, { binds: [`${target}:/restore`], onStderr });
  if (r.code !== 0) fail('restore', repo, r);
}

/** The password file's text (for a check that it is non-empty). */
export async function readResticPassword(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).trim();
}
