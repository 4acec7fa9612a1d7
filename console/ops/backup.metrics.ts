/**
 * The backup status record in carebox.json and its metrics file (installer/backup/backup.metrics.ts
 * writes the file; this module updates the record and refreshes the file).
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../installer/apply/fs.atomic.js';
import { writeBackupMetrics } from '../../installer/backup/backup.metrics.js';
import { emptyStatus, type BackupStatus } from '../../installer/backup/backup.status.js';
import { OperationError } from '../../installer/errors.js';
import { readManifest, renderManifest, type Manifest } from '../../installer/manifest/manifest.js';
import { INSTALL_FILES } from '../../installer/paths.js';

export { BACKUP_METRICS_FILE, backupMetricsText, writeBackupMetrics } from '../../installer/backup/backup.metrics.js';

/**
 * Apply `patch` to carebox.json's `backups.status` (read fresh from disk), write it back and
 * refresh the metrics file. A status record is not configuration: no `backups/config-*` copy is
 * made. Callers hold the stack lock, or accept that a concurrent writer of the same field wins.
 * @returns the manifest written.
 * @throws OperationError when carebox.json is missing.
 */
export async function updateBackupStatus(root: string, patch: (s: BackupStatus) => BackupStatus): Promise<Manifest> {
  const m = await readManifest(root);
  if (!m) throw new OperationError(`no carebox.json in ${root}`);
  const backups = m.backups ?? { keep: 7, last: null };
  const next: Manifest = { ...m, backups: { ...backups, status: patch({ ...emptyStatus(), ...(backups.status ?? {}) }) } };
  await writeFileAtomic(join(root, INSTALL_FILES.manifest), renderManifest(next), 0o640);
  await writeBackupMetrics(root, next);
  return next;
}
