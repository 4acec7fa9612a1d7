/**
 * What a restore on a live system throws away, stated before it starts: per table, the rows now,
 * the rows in the backup, and the rows written or changed since the backup started (from the
 * tables' own timestamp columns: created_at, updated_at, occurred_at…). The audit trail is the
 * exception: its events since the backup are carried over (restore.audit.ts), so nothing of it is
 * lost.
 */
import type Docker from 'dockerode';
import { parseRowCounts, psqlRows, tableRowCounts } from '../../installer/runtime/psql.js';

/** Timestamp columns that say when a row was written or last changed. */
const WRITE_TIME_COLUMNS = ['created_at', 'updated_at', 'occurred_at', 'generated_at', 'completed_at', 'sent_at'];
/** Tables whose rows since the backup survive a restore (carried over). */
const CARRIED_OVER = new Set(['public.audit_events']);

/** One table's loss. */
export interface TableLoss {
  /** `schema.table`. */
  table: string;
  rowsNow: number;
  /** Rows in the backup (0 when the table is not in it). */
  rowsInBackup: number;
  /**
   * Rows whose write-time columns are later than the backup's start: written or changed since, and
   * lost by the restore. Null when the table has no such column (only the count difference is known).
   */
  changedSince: number | null;
  /** The rows since the backup are kept (audit trail). */
  carriedOver: boolean;
}

/** What a restore would lose. */
export interface RestoreLoss {
  /** The backup's stamp and when it started (ISO-8601). */
  backup: { stamp: string; startedAt: string };
  tables: TableLoss[];
  /** Rows lost, summed over tables (changedSince where known, else the count difference when positive). */
  totalLost: number;
}

/** `20261129T081530Z` → `2026-11-29T08:15:30.000Z`. Pure. @throws Error for another shape. */
export function stampToIso(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) throw new Error(`not a backup stamp: ${stamp}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)).toISOString();
}

/** SQL (psql `\gexec`) counting, per table with a write-time column, the rows written after `iso`. Pure. */
export function changedSinceSql(iso: string): string {
  const ts = new Date(iso).toISOString(); // normalised: nothing but digits, -, :, ., T, Z reaches the SQL
  const cols = WRITE_TIME_COLUMNS.map((c) => `'${c}'`).join(', ');
  return (
    `SELECT format('SELECT %L, count(*) FROM %I.%I WHERE greatest(%s) > %L::timestamptz', table_schema || '.' || table_name, table_schema, table_name, string_agg(quote_ident(column_name), ', '), '${ts}') ` +
    `FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND column_name IN (${cols}) AND data_type LIKE 'timestamp%' ` +
    'GROUP BY table_schema, table_name ORDER BY 1 \\gexec'
  );
}

/** Combine the counts into a RestoreLoss. Pure. */
export function restoreLoss(
  backup: { stamp: string; tables: Record<string, number> },
  now: Record<string, number>,
  changed: Record<string, number>,
): RestoreLoss {
  const names = [...new Set([...Object.keys(now), ...Object.keys(backup.tables)])].sort();
  const tables = names.map(
    (table): TableLoss => ({
      table,
      rowsNow: now[table] ?? 0,
      rowsInBackup: backup.tables[table] ?? 0,
      changedSince: changed[table] ?? null,
      carriedOver: CARRIED_OVER.has(table),
    }),
  );
  const totalLost = tables.filter((t) => !t.carriedOver).reduce((s, t) => s + (t.changedSince ?? Math.max(0, t.rowsNow - t.rowsInBackup)), 0);
  return { backup: { stamp: backup.stamp, startedAt: stampToIso(backup.stamp) }, tables, totalLost };
}

/** Measure what restoring `backup` would lose on the running database. */
export async function measureRestoreLoss(docker: Docker, dbId: string, backup: { stamp: string; tables: Record<string, number> }): Promise<RestoreLoss> {
  const now = await tableRowCounts(docker, dbId);
  const changed = parseRowCounts(await psqlRows(docker, dbId, changedSinceSql(stampToIso(backup.stamp)), { timeoutMs: 30 * 60_000 }));
  return restoreLoss(backup, now, changed);
}

/** The statement shown before a restore (and in the refusal without --yes). Pure. */
export function formatRestoreLoss(loss: RestoreLoss): string {
  const lines = [`Restoring backup ${loss.backup.stamp} (started ${loss.backup.startedAt}) replaces ALL current data with the backup's.`];
  const changed = loss.tables.filter((t) => t.rowsNow !== t.rowsInBackup || (t.changedSince ?? 0) > 0);
  if (changed.every((t) => t.carriedOver))
    lines.push("No write since the backup was found: every table has the backup's row count and no row written or changed since.");
  else lines.push(`Lost: ${loss.totalLost} row(s) written or changed since the backup. Per table:`);
  for (const t of changed) {
    const counts = `${t.rowsNow} rows now, ${t.rowsInBackup} in the backup`;
    if (t.carriedOver) lines.push(`  ${t.table}: ${counts}; kept: the audit trail since the backup is carried over`);
    else if (t.changedSince === null)
      lines.push(`  ${t.table}: ${counts}; no timestamp column, so only the difference (${t.rowsNow - t.rowsInBackup}) is known`);
    else lines.push(`  ${t.table}: ${counts}; ${t.changedSince} written or changed since the backup: LOST`);
  }
  return lines.join('\n');
}
