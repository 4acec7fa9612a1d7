/**
 * What the backup side last did, kept in carebox.json (`backups.status`) so that a restarted
 * scheduler, `carebox backup schedule` and the metrics file all read one record. Times are ISO-8601
 * UTC; null = never happened.
 */

/**
 * Why a restore drill failed, as a class small enough for a metric label (the text is in `why`):
 * the scratch PostgreSQL did not start, pg_restore failed, the restored rows or checksums differ
 * from backup.json, the restored database lacks migrations the running server has, or anything else.
 */
export const DRILL_FAILURE_REASONS = ['scratch_failed', 'restore_failed', 'data_mismatch', 'migrations_missing', 'error'] as const;
export type DrillFailureReason = (typeof DRILL_FAILURE_REASONS)[number];

/** One restore drill (console/ops/restore.drill.ts). */
export interface DrillRecord {
  /** When it started. */
  at: string;
  /** Backup stamp it restored. */
  stamp: string;
  durationMs: number;
  ok: boolean;
  /** Why it failed (first mismatches, or the error), null when it passed. */
  why: string | null;
  /** The class of `why` (null when it passed; absent in records written before it existed). */
  reason?: DrillFailureReason | null;
  /** Tables compared (row count and checksum each). */
  tables: number;
}

/** One repository's last copy. */
export interface OffsiteRecord {
  lastAttemptAt: string;
  ok: boolean;
  why: string | null;
  /** Last copy that succeeded, null = never. */
  lastSuccessAt: string | null;
  /** restic snapshot id of the last successful copy. */
  snapshot: string | null;
}

/** backups.status in carebox.json. */
export interface BackupStatus {
  lastAttemptAt: string | null;
  lastAttemptOk: boolean | null;
  lastAttemptWhy: string | null;
  /** Last backup written and verified (signature and sha256 of every file read back). */
  lastSuccessAt: string | null;
  /** Last backup refused before it started (not enough free disk). */
  refusedAt: string | null;
  /** Set when a start found a missed scheduled run; cleared by the next successful backup. */
  scheduleMissedAt: string | null;
  drill: DrillRecord | null;
  drillLastSuccessAt: string | null;
  offsite: Record<string, OffsiteRecord>;
}

/** An empty status (nothing happened yet). */
export function emptyStatus(): BackupStatus {
  return {
    lastAttemptAt: null,
    lastAttemptOk: null,
    lastAttemptWhy: null,
    lastSuccessAt: null,
    refusedAt: null,
    scheduleMissedAt: null,
    drill: null,
    drillLastSuccessAt: null,
    offsite: {},
  };
}
