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

interface AuditRow {
  id: string;
  occurred_at: Date;
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
  details: Record<string, unknown> | null;
}

/**
 * PostgreSQL text cannot hold NUL, and a failed audit insert fails the request it records: strip
 * control characters and bound the length of anything that may come from a request.
 */
function clean(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 200);
}

/** Data access for the audit trail. */
export class AuditRepository {
  constructor(private readonly db: Knex) {}

  /**
   * Appends events, in `trx` when given (so they commit or roll back with the change they record).
   * @throws the driver error when the insert fails (callers turn it into AUDIT_UNAVAILABLE).
   */
  async append(actor: AuditActor, origin: AuditOrigin, events: readonly AuditEventInput[], trx?: Knex.Transaction): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((e) => ({
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
    }));
    await (trx ?? this.db)('audit_events').insert(rows);
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
    const rows = (await this.listQuery(filter, limit)) as AuditRow[];
    return rows.map(toAuditEvent);
  }
}

function toAuditEvent(row: AuditRow): AuditEvent {
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
