/**
 * Whether a backup fits on the disk that holds backups/, decided before it starts. Pure.
 *
 * Estimate: the database's on-disk size (`pg_database_size`) bounds the custom-format dump from
 * above (a dump holds no indexes, dead tuples or free space, and pg_dump -Fc compresses), plus the
 * configuration files. The disk must keep a reserve after the backup: backups share the disk with
 * PostgreSQL and the logs, and a full disk stops PostgreSQL (PANIC on a failed WAL write).
 */
import { UsageError } from '../errors.js';

/** Configuration files, backup.json and slack, bytes. */
export const BACKUP_FILES_BYTES = 16 * 1024 * 1024;
/** Free space that must remain after a backup: 5 % of the filesystem, at least 512 MiB. */
export const RESERVE_FRACTION = 0.05;
export const RESERVE_MIN_BYTES = 512 * 1024 * 1024;

/** The verdict, with the numbers behind it (bytes). */
export interface BackupFit {
  ok: boolean;
  /** Estimated size of the backup. */
  estimateBytes: number;
  /** Free space that must remain afterwards. */
  reserveBytes: number;
  freeBytes: number;
  /** estimate + reserve. */
  needBytes: number;
}

/**
 * Decide from the database size and the filesystem's free and total bytes.
 * @param reserveOverrideBytes a reserve set by the admin (`CAREBOX_BACKUP_RESERVE_BYTES`, see
 *   {@link reserveOverride}) instead of 5 % / 512 MiB.
 */
export function backupFits(dbBytes: number, freeBytes: number, totalBytes: number, reserveOverrideBytes: number | null = null): BackupFit {
  const estimateBytes = Math.max(0, dbBytes) + BACKUP_FILES_BYTES;
  const reserveBytes = reserveOverrideBytes ?? Math.max(RESERVE_MIN_BYTES, Math.ceil(totalBytes * RESERVE_FRACTION));
  const needBytes = estimateBytes + reserveBytes;
  return { ok: freeBytes >= needBytes, estimateBytes, reserveBytes, freeBytes, needBytes };
}

/**
 * The reserve from `CAREBOX_BACKUP_RESERVE_BYTES` (whole bytes), or null when unset. For a disk
 * whose free space an admin manages otherwise, and for tests that make a backup not fit.
 * @throws UsageError for anything but a whole number.
 */
export function reserveOverride(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = env.CAREBOX_BACKUP_RESERVE_BYTES?.trim();
  if (!v) return null;
  if (!/^\d{1,16}$/.test(v)) throw new UsageError(`CAREBOX_BACKUP_RESERVE_BYTES=${v}: expected a whole number of bytes`);
  return Number(v);
}
