/**
 * The backup side's state for Prometheus, through node_exporter's textfile collector (the pattern
 * Prometheus documents for batch jobs): `<root>/metrics/carebox_backup.prom`, written atomically
 * (temp file + rename) from prom-client's `Registry.metrics()`, every time the status changes.
 * The status itself lives in carebox.json (`backups.status`), so a restarted scheduler, `carebox
 * backup schedule` and this file read one record. Gauges (timestamps are Unix seconds; 0 = never):
 *   carebox_backup_last_success_timestamp_seconds, carebox_backup_last_attempt_timestamp_seconds,
 *   carebox_backup_last_attempt_success, carebox_backup_offsite_last_success_timestamp_seconds{repository},
 *   carebox_restore_drill_last_success_timestamp_seconds, carebox_restore_drill_last_attempt_timestamp_seconds,
 *   carebox_restore_drill_last_attempt_success{reason} (the reason label only on a failed drill),
 *   carebox_backup_refused_timestamp_seconds, carebox_backup_schedule_missed,
 *   carebox_install_timestamp_seconds: when the stack was first installed (carebox.json
 *   `installedAt`). The backup and drill age rules count from it until the first backup and drill,
 *   so a fresh install does not alert before its first scheduled run could have happened.
 */
import { access, chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { writeFileAtomic } from '../apply/fs.atomic.js';
import { emptyStatus, type BackupStatus, type DrillRecord } from './backup.status.js';
import type { Manifest } from '../manifest/manifest.js';
import { INSTALL_FILES } from '../paths.js';

/** File name in the metrics directory. */
export const BACKUP_METRICS_FILE = 'carebox_backup.prom';

const secs = (iso: string | null | undefined): number => (iso ? Math.floor(Date.parse(iso) / 1000) : 0);

/** The reason label of a failed drill (records from before reasons existed read `error`). */
function drillReason(d: DrillRecord): string {
  return d.reason ?? 'error';
}

/**
 * The exposition text of a status (prom-client's format). `offsiteNames` lists every configured
 * repository, so one that never succeeded shows 0 instead of being absent. `installedAt` (ISO-8601,
 * carebox.json `installedAt`) becomes carebox_install_timestamp_seconds; null leaves it out (the
 * age rules then count from the last success alone). Pure apart from prom-client's registry (a
 * fresh one per call).
 */
export async function backupMetricsText(s: BackupStatus, offsiteNames: string[], installedAt: string | null = null): Promise<string> {
  const reg = new Registry();
  const g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [reg] });
  g('carebox_backup_last_success_timestamp_seconds', 'Last backup written and verified (Unix s; 0 = never).').set(secs(s.lastSuccessAt));
  g('carebox_backup_last_attempt_timestamp_seconds', 'Last backup attempt (Unix s; 0 = never).').set(secs(s.lastAttemptAt));
  g('carebox_backup_last_attempt_success', 'Whether the last backup attempt succeeded (1) or failed (0).').set(s.lastAttemptOk ? 1 : 0);
  const off = g('carebox_backup_offsite_last_success_timestamp_seconds', 'Last restic copy that succeeded, per repository (Unix s; 0 = never).', [
    'repository',
  ]);
  for (const name of [...new Set([...offsiteNames, ...Object.keys(s.offsite)])].sort()) off.set({ repository: name }, secs(s.offsite[name]?.lastSuccessAt));
  g('carebox_restore_drill_last_success_timestamp_seconds', 'Last restore drill that passed (Unix s; 0 = never).').set(secs(s.drillLastSuccessAt));
  g('carebox_restore_drill_last_attempt_timestamp_seconds', 'Last restore drill attempt (Unix s; 0 = never).').set(secs(s.drill?.at));
  const drillOk = g(
    'carebox_restore_drill_last_attempt_success',
    'Whether the last restore drill passed (1) or failed (0; reason: scratch_failed, restore_failed, data_mismatch, migrations_missing, error). 0 without a reason before the first drill.',
    ['reason'],
  );
  if (s.drill && !s.drill.ok) drillOk.set({ reason: drillReason(s.drill) }, 0);
  else drillOk.set(s.drill?.ok ? 1 : 0);
  g('carebox_backup_refused_timestamp_seconds', 'Last backup refused before it started for lack of disk space (Unix s; 0 = never).').set(secs(s.refusedAt));
  g('carebox_backup_schedule_missed', '1 while the last start found a missed scheduled backup and none has succeeded since.').set(s.scheduleMissedAt ? 1 : 0);
  if (installedAt)
    g(
      'carebox_install_timestamp_seconds',
      'When this stack was first installed (Unix s): the backup and drill age alerts count from here until the first ones.',
    ).set(secs(installedAt));
  return reg.metrics();
}

/** Write `<root>/metrics/carebox_backup.prom` (directory 0755, file 0644) atomically. */
export async function writeBackupMetrics(root: string, m: Manifest): Promise<void> {
  const dir = join(root, INSTALL_FILES.metricsDir);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  const text = await backupMetricsText(
    m.backups?.status ?? emptyStatus(),
    (m.backups?.offsite ?? []).map((r) => r.name),
    m.installedAt ?? null,
  );
  await writeFileAtomic(join(dir, BACKUP_METRICS_FILE), text, 0o644);
}

/** Write the metrics file unless it exists (an install: the scheduler keeps it current afterwards). */
export async function ensureBackupMetrics(root: string, m: Manifest): Promise<void> {
  const exists = await access(join(root, INSTALL_FILES.metricsDir, BACKUP_METRICS_FILE)).then(
    () => true,
    () => false,
  );
  if (!exists) await writeBackupMetrics(root, m);
}
