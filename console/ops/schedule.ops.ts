/**
 * `carebox backup schedule` and `carebox backup offsite …`: change what the stack's scheduler does.
 * Settings live in carebox.json; the running scheduler re-reads it every few seconds, so a change
 * needs no restart. The first schedule on an install without a scheduler service adds the service:
 * the CLI image it runs is the release's (the launcher passes CAREBOX_CLI_IMAGE; carebox.json's
 * `cli.image`), or, from a source checkout, one built from this package like `npm run release` does.
 */
import { newSchedule, type BackupSchedule } from '../../installer/backup/backup.schedule.js';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { offsiteRepoSchema, repoAccess, type OffsiteRepo, type RepoCredentials } from '../../installer/backup/offsite.config.js';
import { writeRenderedFiles } from '../../installer/apply/files.write.js';
import { utcStamp, writeFileAtomic } from '../../installer/apply/fs.atomic.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { UsageError } from '../../installer/errors.js';
import { readManifest, writeManifest, type Manifest } from '../../installer/manifest/manifest.js';
import { packageRoot } from '../../installer/paths.js';
import { resticImage } from '../../installer/render/images.map.js';
import { CAREBOX_VERSION } from '../../installer/version.js';
import { cliBaseImages, ensureCliImage } from '../../installer/apply/cli.image.js';
import { writeBackupMetrics } from './backup.metrics.js';
import { checkPrivateFile, ensureRepository, ensureResticPassword, readRepoCredentials, resticContext } from './restic.ops.js';
import { fileChecksums, renderForStack } from './stack.render.js';
import { step, withStackLock, type Stack } from './stack.js';

async function saveManifest(stack: Stack, next: Manifest): Promise<void> {
  await writeManifest(stack.root, next, utcStamp());
  stack.manifest = next;
  await writeBackupMetrics(stack.root, next);
}

/**
 * Make sure the stack runs its `scheduler` service: pick or build the CLI image, re-render
 * compose.yml with it, and `compose up -d scheduler`. Idempotent.
 * @returns the CLI image the scheduler runs.
 */
export async function ensureSchedulerService(stack: Stack, reporter: StepReporter, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const m = stack.manifest;
  let image = m.images.scheduler ?? env.CAREBOX_CLI_IMAGE ?? m.cli?.image ?? null;
  if (!image) {
    image = await step(
      reporter,
      'cli-image',
      'Build the Carebox CLI image the scheduler runs (from this package)',
      (progress) =>
        ensureCliImage(stack.docker, { packageRoot: packageRoot(), version: CAREBOX_VERSION, base: cliBaseImages(m.images, env), onProgress: progress }),
      (t) => t,
    );
  }
  const images = { ...m.images, scheduler: image };
  const files = await renderForStack(stack.root, m, m.plan, images);
  await step(reporter, 'scheduler', 'Add the scheduler service to compose.yml and start it', async () => {
    await writeRenderedFiles(stack.root, files, utcStamp());
    await saveManifest(stack, { ...stack.manifest, images, files: fileChecksums(files) });
    await stack.compose.run(['up', '-d', '--no-deps', 'scheduler'], { timeoutMs: 5 * 60_000 });
    return image!;
  });
  return image;
}

/**
 * Set the schedule (or turn it off) in carebox.json, and make sure the scheduler service runs.
 * @throws UsageError for a bad time or cron expression.
 */
export async function setSchedule(
  stack: Stack,
  opts: { at?: string; cron?: string; timezone?: string; off?: boolean },
  reporter: StepReporter,
): Promise<BackupSchedule> {
  const schedule = await withStackLock(stack.root, 'backup schedule', async () => {
    const m = (await readManifest(stack.root)) ?? stack.manifest;
    if (!opts.off && m.plan.intent.backups === 'manual') {
      throw new UsageError(
        'this install runs backups manually: its plan sets no memory aside for the scheduler and its restore drill (install --backup-at off, or a host too small for them)',
        "schedule them with `carebox install --backup-at HH:MM` (re-plans: PostgreSQL restarts once; refused when the host is too small), or run `carebox backup` from the host's cron",
      );
    }
    const prev = m.backups?.schedule ?? null;
    const s: BackupSchedule = opts.off
      ? { ...(prev ?? newSchedule({}, new Date())), enabled: false }
      : newSchedule({ at: opts.at, cron: opts.cron, timezone: opts.timezone }, new Date());
    stack.manifest = m;
    await saveManifest(stack, { ...m, backups: { keep: m.backups?.keep ?? 7, last: m.backups?.last ?? null, ...(m.backups ?? {}), schedule: s } });
    if (!opts.off) await ensureSchedulerService(stack, reporter);
    return s;
  });
  return schedule;
}

/** Where `offsite add` keeps a REST or S3 repository's credentials: `secrets/restic-<name>.credentials` (0600). Pure. */
export function credentialsPath(root: string, name: string): string {
  return join(root, 'secrets', `restic-${name}.credentials`);
}

/**
 * Add (or replace, by name) a restic repository: checks the SSH key (SFTP) or the credentials
 * (REST: `--credentials-file` or the URL's user part; S3: `--credentials-file`), keeps the
 * credentials in `secrets/restic-<name>.credentials` (0600) and the URL without them in
 * carebox.json, creates the repository password once, and initialises the repository unless it exists.
 * @returns the password when it was created now (the caller shows it once), else null; the URL as stored.
 * @throws UsageError for a bad name, URL, key or credentials file; OperationError when restic cannot reach or create the repository.
 */
export async function addOffsite(
  stack: Stack,
  repo: { name: string; url: string; sshKey?: string | null; credentialsFile?: string | null },
  reporter: StepReporter,
): Promise<{ password: string | null; created: boolean; url: string; urlHadCredentials: boolean }> {
  const parsed = offsiteRepoSchema.safeParse({ name: repo.name, url: repo.url, sshKey: repo.sshKey ?? null, credentialsFile: null });
  if (!parsed.success)
    throw new UsageError(
      `repository ${repo.name}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.path[0] === 'url' ? 'too long or empty' : i.message}`).join('; ')}`,
      'a name is lower-case letters, digits, - and _ (e.g. usb, dr-site)',
    );
  const access = repoAccess(parsed.data.url);
  if (access.kind === 'sftp') {
    if (!parsed.data.sshKey) throw new UsageError(`repository ${parsed.data.url} is SFTP: give the private key with --ssh-key FILE`);
    await checkPrivateFile(parsed.data.sshKey, 'SSH key');
  } else if (parsed.data.sshKey) throw new UsageError('--ssh-key is for SFTP repositories only');
  const given = repo.credentialsFile ?? null;
  if (given && access.kind !== 'rest' && access.kind !== 's3') throw new UsageError('--credentials-file is for REST and S3 repositories only');
  if (given && access.urlCredentials) throw new UsageError('give the REST user and password either in the URL or in --credentials-file, not both');
  const creds: RepoCredentials | null = given ? await readRepoCredentials(given, access.kind) : access.urlCredentials;
  if (access.kind === 's3' && !creds)
    throw new UsageError(
      `repository ${parsed.data.url} is S3: give its keys with --credentials-file FILE`,
      'a file (mode 0600) with AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines',
    );
  // REST: the URL is stored without its user part; the credentials live in the secrets directory only.
  const url = access.kind === 'rest' ? access.repository : parsed.data.url;
  const final = creds ? credentialsPath(stack.root, parsed.data.name) : null;
  return withStackLock(stack.root, 'backup offsite', async () => {
    const password = await ensureResticPassword(stack.root);
    // The new credentials are tried from a file beside the final one; they replace it only once restic opened the repository.
    const trial = final ? `${final}.new` : null;
    if (trial) await writeFileAtomic(trial, `${JSON.stringify(creds)}\n`, 0o600);
    try {
      const r: OffsiteRepo = { ...parsed.data, url, credentialsFile: trial };
      const created = await step(
        reporter,
        'repository',
        `Open or create the restic repository ${url}`,
        () => ensureRepository(resticContext(stack.docker, stack.root, resticImage(stack.manifest.images)), r),
        (c) => (c ? 'created' : 'exists; reused'),
      );
      if (trial && final) await fs.rename(trial, final);
      else await fs.rm(credentialsPath(stack.root, parsed.data.name), { force: true });
      const m = (await readManifest(stack.root)) ?? stack.manifest;
      const offsite = [...(m.backups?.offsite ?? []).filter((x) => x.name !== r.name), { ...r, credentialsFile: final }].sort((a, b) =>
        a.name.localeCompare(b.name),
      );
      stack.manifest = m;
      await saveManifest(stack, { ...m, backups: { keep: 7, last: null, ...(m.backups ?? {}), offsite } });
      return { password, created, url, urlHadCredentials: Boolean(access.urlCredentials) };
    } finally {
      if (trial) await fs.rm(trial, { force: true });
    }
  });
}

/**
 * Remove a repository from carebox.json (its data stays where it is) and the credentials file
 * `offsite add` kept for it. @throws UsageError when unknown.
 */
export async function removeOffsite(stack: Stack, name: string): Promise<void> {
  await withStackLock(stack.root, 'backup offsite', async () => {
    const m = (await readManifest(stack.root)) ?? stack.manifest;
    const list = m.backups?.offsite ?? [];
    if (!list.some((r) => r.name === name))
      throw new UsageError(`no repository named ${name}`, `repositories: ${list.map((r) => r.name).join(', ') || 'none'}`);
    stack.manifest = m;
    await saveManifest(stack, { ...m, backups: { keep: 7, last: null, ...(m.backups ?? {}), offsite: list.filter((r) => r.name !== name) } });
    await fs.rm(credentialsPath(stack.root, name), { force: true });
  });
}
