/**
 * The audit trail across a restore. A restore puts back the database as it was at the backup, but
 * the audit trail is append-only and must not lose history: events written between the backup and
 * the restore (reads, changes, sign-ins) are carried over from the previous database, the id
 * sequence continues past every id ever issued (no id is reused), and the restore itself is
 * recorded as an event.
 */
import type Docker from 'dockerode';
import { execIn } from '../../installer/runtime/container.exec.js';
import { DB_NAME, psqlRows as psqlRowsAs } from '../../installer/runtime/psql.js';

/** What the carry-over did. */
export interface AuditCarryOver {
  /** Events copied from the previous database (written after the backup). */
  carried: number;
  /** Id of the event that records the restore, or null when the restored database has no audit table. */
  restoreEventId: number | null;
}

const ident = /^[a-z_][a-z0-9_]*$/;

/**
 * Copy the audit events with ids above the restored table's highest id (mode 'since-backup'), or
 * all of them with new ids (mode 'all', another install's backup), from database `previous` (the
 * pre-restore database, still present) into the restored one, advance the id sequence past
 * both, and append one `system.restore` event (actor `carebox-cli`, resource the backup's stamp).
 * Columns are those both tables have, so a backup from before a later audit migration still works.
 * Runs inside the db container (psql `\copy` through a temporary file in the container).
 * @param previous name of the pre-restore database (an identifier: lower case, digits, `_`)
 * @param backupStamp the backup's UTC stamp, recorded as the event's resource id
 * @param user the role psql connects as (the owner role in a restore); default the superuser
 * @throws OperationError when psql fails (the caller keeps the previous database for inspection)
 */
export async function carryOverAuditTrail(
  docker: Docker,
  dbId: string,
  previous: string,
  backupStamp: string,
  mode: 'since-backup' | 'all' = 'since-backup',
  user?: string,
): Promise<AuditCarryOver> {
  if (!ident.test(previous)) throw new Error(`not a database name: ${previous}`);
  const psqlRows = (d: Docker, id: string, sql: string, opts: { timeoutMs?: number; database?: string } = {}) => psqlRowsAs(d, id, sql, { ...opts, user });
  const columnsSql =
    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'audit_events' ORDER BY ordinal_position;";
  const restoredCols = (await psqlRows(docker, dbId, columnsSql)).map((r) => r[0]!);
  if (restoredCols.length === 0) return { carried: 0, restoreEventId: null };
  const previousCols = new Set((await psqlRows(docker, dbId, columnsSql, { database: previous })).map((r) => r[0]!));
  const cols = restoredCols.filter((c) => previousCols.has(c) && ident.test(c));
  const maxId = Number((await psqlRows(docker, dbId, 'SELECT coalesce(max(id), 0) FROM audit_events;'))[0]?.[0] ?? 0);
  let carried = 0;
  let previousMax = 0;
  if (previousCols.size > 0) {
    previousMax = Number((await psqlRows(docker, dbId, 'SELECT coalesce(max(id), 0) FROM audit_events;', { database: previous }))[0]?.[0] ?? 0);
    // 'since-backup' (the same install): the events after the backup, with their own ids.
    // 'all' (another install's backup): every event of this install, appended with new ids after
    // the backup's, since both trails started at id 1.
    const since = mode === 'all' ? 0 : maxId;
    const list = (mode === 'all' ? cols.filter((c) => c !== 'id') : cols).join(', ');
    if (previousMax > since) {
      if (mode === 'all') await psqlRows(docker, dbId, `SELECT setval(pg_get_serial_sequence('audit_events', 'id'), ${maxId} + 1, false);`);
      const file = `/tmp/carebox-audit-carry-${process.pid}-${Date.now()}.copy`;
      try {
        await psqlRows(docker, dbId, `\\copy (SELECT ${list} FROM audit_events WHERE id > ${since} ORDER BY id) TO '${file}'`, {
          database: previous,
          timeoutMs: 60 * 60_000,
        });
        await psqlRows(docker, dbId, `\\copy audit_events (${list}) FROM '${file}'`, { timeoutMs: 60 * 60_000 });
      } finally {
        await execIn(docker, dbId, ['rm', '-f', file]).catch(() => undefined);
      }
      carried = Number((await psqlRows(docker, dbId, `SELECT count(*) FROM audit_events WHERE id > ${maxId};`))[0]?.[0] ?? 0);
    }
  }
  const rows = await psqlRows(
    docker,
    dbId,
    `SELECT setval(pg_get_serial_sequence('audit_events', 'id'), greatest(${maxId}, ${mode === 'all' ? 0 : previousMax}, (SELECT coalesce(max(id), 0) FROM audit_events)) + 1, false);
INSERT INTO audit_events (actor_username, action, resource_type, resource_id, outcome, details)
  VALUES ('carebox-cli', 'system.restore', 'database', '${backupStamp.replace(/[^0-9A-Za-z_-]/g, '')}', 'success', '{"carriedOver": ${carried}, "fromOtherInstall": ${mode === 'all'}}'::jsonb) RETURNING id;`,
    { database: DB_NAME },
  );
  return { carried, restoreEventId: Number(rows.at(-1)?.[0]) };
}
