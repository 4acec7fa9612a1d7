/**
 * Reads and appends `audit_events`. Appends only: the table rejects UPDATE and DELETE.
 */
import type { Knex } from 'knex';
import type { AuditActor, AuditEvent, AuditEventInput, AuditOrigin, AuditOutcome } from './audit.types.js';

/** Filters of the audit query (all optional, combined with AND). */
export interface AuditFilter {
  patientId?: string;
  actorUserId?: string;
  action?: string;
  outcome?: AuditOutcome;
  /** Events at or after this instant. */
  from?: Date;
  /** Events before this instant. */
  to?: Date;
  /** Only events with an id below this (keyset cursor; newest first). */
  beforeId?: string;
}

/**
 * PostgreSQL text cannot hold NUL, and a failed audit insert fails the request it records: strip
 * control characters and bound the length of anything that may come from a request.
 */
function clean(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200);
}

/** One `audit_events` row as inserted (the id and `occurred_at` come from the database). */
export interface AuditRow {
  actor_user_id: string | null;
  actor_username: string;
  actor_role: string | null;
  action: string;
  resource_type: string;
  resource_id: string | null;
  patient_id: string | null;
  outcome: AuditOutcome;
  client_ip: string | null;
  request_id: string | null;
  /** JSON text, or null. */
  details: string | null;
}

/** One `audit_events` row as read back: the inserted columns plus the id and time the database set; details parsed (jsonb). */
type StoredAuditRow = Omit<AuditRow, 'details'> & { id: string; occurred_at: Date; details: Record<string, unknown> | null };

/** The row recording `event` by `actor` from `origin` (strings cleaned and bounded). Pure. */
export function toAuditRow(actor: AuditActor, origin: AuditOrigin, e: AuditEventInput): AuditRow {
  return {
    actor_user_id: actor.userId,
    actor_username: clean(actor.username),
    actor_role: actor.role,
    action: e.action,
    resource_type: e.resourceType,
    resource_id: e.resourceId === undefined || e.resourceId === null ? null : clean(e.resourceId),
    patient_id: e.patientId ?? null,
    outcome: e.outcome,
    client_ip: origin.ip === null ? null : clean(origin.ip),
    request_id: origin.requestId === null ? null : clean(origin.requestId),
    details: e.details === undefined || e.details === null ? null : JSON.stringify(e.details),
  };
}

/**
 * Any number of rows in one statement with one parameter per column (arrays unnested), so the SQL
 * text is the same for every batch size and building it costs nothing per row. Rows go in in array
 * order, so their ids ascend in the order the events happened.
 */
const INSERT_ROWS_SQL = `insert into audit_events
  (actor_user_id, actor_username, actor_role, action, resource_type, resource_id, patient_id, outcome, client_ip, request_id, details)
  select u, n, r, a, t, ri, p, o, ip, rq, d
    from unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::uuid[], ?::text[], ?::text[], ?::text[], ?::jsonb[])
         with ordinality as x(u, n, r, a, t, ri, p, o, ip, rq, d, i)
   order by i`;

/** Data access for the audit trail. */
export class AuditRepository {
  constructor(private readonly db: Knex) {}

  /**
   * Appends events, in `trx` when given (so they commit or roll back with the change they record).
   * @throws the driver error when the insert fails (callers turn it into AUDIT_UNAVAILABLE).
   */
  async append(actor: AuditActor, origin: AuditOrigin, events: readonly AuditEventInput[], trx?: Knex.Transaction): Promise<void> {
    if (events.length === 0) return;
    await this.insertRows(
      events.map((e) => toAuditRow(actor, origin, e)),
      trx,
    );
  }

  /**
   * Inserts rows made by {@link toAuditRow} in one statement, in their order (ids ascend with it).
   * @throws the driver error when the insert fails.
   */
  async insertRows(rows: readonly AuditRow[], trx?: Knex.Transaction): Promise<void> {
    if (rows.length === 0) return;
    // Arrays with nulls: pg serializes them to array literals; knex's binding type knows no nulls.
    const column = <K extends keyof AuditRow>(k: K) => rows.map((r) => r[k]) as unknown as string[];
    await (trx ?? this.db).raw(INSERT_ROWS_SQL, [
      column('actor_user_id'),
      column('actor_username'),
      column('actor_role'),
      column('action'),
      column('resource_type'),
      column('resource_id'),
      column('patient_id'),
      column('outcome'),
      column('client_ip'),
      column('request_id'),
      column('details'),
    ]);
  }

  /** The query behind {@link list}, newest first (exposed so tests can EXPLAIN it). */
  listQuery(filter: AuditFilter, limit: number): Knex.QueryBuilder {
    const q = this.db('audit_events').select('*');
    if (filter.patientId !== undefined) q.where('patient_id', filter.patientId);
    if (filter.actorUserId !== undefined) q.where('actor_user_id', filter.actorUserId);
    if (filter.action !== undefined) q.where('action', filter.action);
    if (filter.outcome !== undefined) q.where('outcome', filter.outcome);
    if (filter.from !== undefined) q.where('occurred_at', '>=', filter.from);
    if (filter.to !== undefined) q.where('occurred_at', '<', filter.to);
    if (filter.beforeId !== undefined) q.where('id', '<', filter.beforeId);
    return q.orderBy('id', 'desc').limit(limit);
  }

  /** Up to `limit` events matching `filter`, newest first. */
  async list(filter: AuditFilter, limit: number): Promise<AuditEvent[]> {
    const rows = (await this.listQuery(filter, limit)) as StoredAuditRow[];
    return rows.map(toAuditEvent);
  }
}

function toAuditEvent(row: StoredAuditRow): AuditEvent {
  return {
    id: String(row.id),
    occurredAt: row.occurred_at.toISOString(),
    actorUserId: row.actor_user_id,
    actorUsername: row.actor_username,
    actorRole: row.actor_role,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    patientId: row.patient_id,
    outcome: row.outcome,
    clientIp: row.client_ip,
    requestId: row.request_id,
    details: row.details,
  };
}
