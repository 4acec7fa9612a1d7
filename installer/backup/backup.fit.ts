/**
 * Whether a backup fits on the disk that holds backups/, decided before it starts. Pure.
 *
 * Estimate: the database's on-disk size (`pg_database_size`) bounds the custom-format dump from
 * above (a dump holds no indexes, dead tuples or free space, and pg_dump -Fc compresses), plus the
 * configuration files. The disk must keep a reserve after the backup: backups share the disk with
 * PostgreSQL and the logs, and a full disk stops PostgreSQL (PANIC on a failed WAL write).
 */

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

/** Decide from the database size and the filesystem's free and total bytes. */
export function backupFits(dbBytes: number, freeBytes: number, totalBytes: number): BackupFit {
  const estimateBytes = Math.max(0, dbBytes) + BACKUP_FILES_BYTES;
  const reserveBytes = Math.max(RESERVE_MIN_BYTES, Math.ceil(totalBytes * RESERVE_FRACTION));
  const needBytes = estimateBytes + reserveBytes;
  return { ok: freeBytes >= needBytes, estimateBytes, reserveBytes, freeBytes, needBytes };
}
