/**
 * Moving PostgreSQL's data to another image by dump and restore (`upgrade --pg-major-dump-restore`),
 * the only safe route across a major version: a data directory cannot be opened by another major.
 *
 * 1. the app (backend, worker) stops cleanly, so nothing writes during the dump;
 * 2. a backup is taken (`pg_dump -Fc` by the *old* server, row counts in the same snapshot);
 * 3. the db container stops; its data volume is copied to a preserved volume
 *    (`<project>_db-data-pg<old>-<UTC>`, labelled with the project so `uninstall --purge` removes
 *    it), then removed, so Compose creates an empty one;
 * 4. the new image starts on the empty volume (initdb), and the backup is restored into it, row
 *    counts verified, migrations run, the app started (restoreBackup);
 * 5. on any failure the preserved copy goes back into the volume and the old image starts on it.
 * The app is down from step 1 until step 4 ends: this is a maintenance window, and it says so:
 * the caller (upgrade) holds nginx in full maintenance mode meanwhile (maintenance.ops.ts), so
 * clients get a 503 with Retry-After and a message rather than a bare gateway error.
 */
import type { StackContainer } from '../../installer/runtime/stack.containers.js';
import { exec } from '../../installer/apply/exec.js';
import { utcStamp } from '../../installer/apply/fs.atomic.js';
import { LABEL_PROJECT } from '../../installer/runtime/stack.containers.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { OperationError } from '../../installer/errors.js';
import { createBackup, restoreBackup, type BackupResult } from './backup.ops.js';
import { startApp, stopAndRemove, stopApp, stopGraceSeconds, waitContainersHealthy } from '../../installer/runtime/rolling.js';
import { serviceContainers, silentReporter, step, type Stack } from './stack.js';

/** Where the postgres images keep their data (the compose template mounts `db-data` there). */
export const PG_DATA_MOUNT = '/var/lib/postgresql/data';

/** Name of the volume that keeps the old data directory. Pure. */
export function preservedVolumeName(project: string, oldMajor: string, stamp: string): string {
  return `${project}_db-data-pg${oldMajor.replace('.', '')}-${stamp.toLowerCase()}`;
}

/** The data volume of the db container (by its mount point, not by name). */
async function dataVolume(stack: Stack, db: StackContainer): Promise<string> {
  const info = await stack.docker.getContainer(db.id).inspect();
  const m = info.Mounts.find((x) => x.Destination === PG_DATA_MOUNT && x.Type === 'volume');
  if (!m?.Name) throw new OperationError(`the db container has no data volume at ${PG_DATA_MOUNT}`, 'this stack was not created by `carebox install`');
  return m.Name;
}

/** Copy one volume's content into another with a throwaway container of `image` (cp -a keeps owners and modes). */
async function copyVolume(stack: Stack, image: string, from: string, to: string): Promise<void> {
  await exec(
    ['docker', 'run', '--rm', '--network', 'none', '--entrypoint', 'sh', '-v', `${from}:/from:ro`, '-v', `${to}:/to`, image, '-c', 'cp -a /from/. /to/'],
    { env: stack.env, timeoutMs: 6 * 60 * 60_000, hint: `free disk space in Docker's data root; the data is still in ${from}` },
  );
}

/** What a dump/restore move did. */
export interface PgMoveResult {
  backup: BackupResult;
  /** The volume holding the previous data directory (kept; remove it once satisfied). */
  preservedVolume: string;
  appDownS: number;
}

/**
 * Move the database to the postgres image in the compose.yml that `writeNewFiles` writes.
 * @param writeNewFiles writes the files for the new images (called after the dump, before the new db starts).
 * @param restoreOldFiles puts the previous files back (rollback).
 * @throws OperationError after a successful rollback (the old image serves the old data again);
 *   the rollback's own failure is thrown as is, naming the preserved volume.
 */
export async function movePostgresByDumpRestore(
  stack: Stack,
  opts: { oldImage: string; oldMajor: string; newMajor: string; timeoutMs: number; writeNewFiles: () => Promise<void>; restoreOldFiles: () => Promise<void> },
  reporter: StepReporter,
): Promise<PgMoveResult> {
  const m = stack.manifest;
  const t0 = Date.now();
  await step(
    reporter,
    'app-down',
    'Stop the app for the dump (maintenance window starts)',
    async (progress) => `${await stopApp(stack, progress)} container(s) stopped; nginx answers the maintenance 503 meanwhile`,
  );
  const backup = await createBackup(stack, { prune: false }, reporter); // retention after success (upgrade)
  const [db] = (await serviceContainers(stack, 'db')).filter((c) => c.state === 'running');
  if (!db) throw new OperationError('db is not running');
  const volume = await dataVolume(stack, db);
  const preserved = preservedVolumeName(m.project, opts.oldMajor, utcStamp());
  await step(reporter, 'preserve', `Keep the PostgreSQL ${opts.oldMajor} data directory in volume ${preserved}`, async (progress) => {
    await stopAndRemove(stack.docker, db.id, stopGraceSeconds(stack.root, 'db'));
    await stack.docker.createVolume({
      Name: preserved,
      Labels: { [LABEL_PROJECT]: m.project, 'com.carebox.preserved': `postgres-${opts.oldMajor}`, 'com.carebox.backup': backup.manifest.stamp },
    });
    progress(`copying ${volume} → ${preserved}`);
    await copyVolume(stack, opts.oldImage, volume, preserved);
    await stack.docker.getVolume(volume).remove();
    return `${volume} emptied; the old data stays in ${preserved}`;
  });
  try {
    await step(reporter, 'new-db', `Start PostgreSQL ${opts.newMajor} on an empty data directory`, async (progress) => {
      await opts.writeNewFiles();
      await stack.compose.run(['up', '-d', '--no-deps', 'db'], { timeoutMs: 10 * 60_000 });
      await waitContainersHealthy(
        stack.docker,
        (await serviceContainers(stack, 'db')).map((c) => c.id),
        { timeoutMs: opts.timeoutMs, what: 'db (new image)', onProgress: progress },
      );
      return 'initialised and healthy';
    });
    await step(
      reporter,
      'restore',
      `Restore the dump into PostgreSQL ${opts.newMajor} and start the app`,
      async () => restoreBackup(stack, backup.dir, { timeoutMs: opts.timeoutMs }, silentReporter),
      (r) => `${Object.keys(r.tables).length} tables verified`,
    );
  } catch (err) {
    await step(reporter, 'pg-rollback', `Put the PostgreSQL ${opts.oldMajor} data directory back`, async (progress) => {
      await opts.restoreOldFiles();
      for (const c of await serviceContainers(stack, 'db')) await stopAndRemove(stack.docker, c.id, 10);
      await stack.docker
        .getVolume(volume)
        .remove()
        .catch(() => undefined);
      // `compose create` makes the volume (with Compose's labels) and the container, without starting it.
      await stack.compose.run(['create', 'db'], { timeoutMs: 10 * 60_000 });
      progress(`copying ${preserved} → ${volume}`);
      await copyVolume(stack, opts.oldImage, preserved, volume);
      await stack.compose.run(['up', '-d', '--no-deps', 'db'], { timeoutMs: 10 * 60_000 });
      await waitContainersHealthy(
        stack.docker,
        (await serviceContainers(stack, 'db')).map((c) => c.id),
        { timeoutMs: opts.timeoutMs, what: 'db (previous image)', onProgress: progress },
      );
      await startApp(stack, opts.timeoutMs, progress);
      return `PostgreSQL ${opts.oldMajor} serves the previous data again (also kept in ${preserved})`;
    }).catch((rollbackErr: unknown) => {
      throw new OperationError(
        `moving the database to PostgreSQL ${opts.newMajor} failed (${(err as Error).message.split('\n')[0]}), and putting the old data back failed too: ${(rollbackErr as Error).message.split('\n')[0]}`,
        `the previous data directory is intact in volume ${preserved} and the dump in ${backup.dir}; contact support with \`carebox support-bundle\``,
      );
    });
    throw err;
  }
  return { backup, preservedVolume: preserved, appDownS: (Date.now() - t0) / 1000 };
}
