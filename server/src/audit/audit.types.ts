/**
 * Audit trail vocabulary. An audit event says who (actor), did what (action) to which record
 * (resource type and id, and whose patient data it was), when, from which address, and with which
 * outcome. Details never hold names, MRNs, birth dates or search terms: only ids and counts.
 */
import { AUDIT_OUTCOME_VALUES } from '../db/migrations/20261129090300-create-audit-events.migration.js';

export { AUDIT_OUTCOME_VALUES };
export type AuditOutcome = (typeof AUDIT_OUTCOME_VALUES)[number];

/** Who acted: a user, or the system (a CLI or a job acting on its own). */
export interface AuditActor {
  userId: string | null;
  username: string;
  role: string | null;
}

/** Where the request came from. */
export interface AuditOrigin {
  ip: string | null;
  requestId: string | null;
}

/** One event to record. */
export interface AuditEventInput {
  /** Dotted verb, e.g. `patient.read`, `appointment.create`, `auth.login`. */
  action: string;
  /** `patient`, `appointment`, `export`, `user`, `session`, … */
  resourceType: string;
  resourceId?: string | null;
  /** Whose patient data was read or changed, when it was one patient's. */
  patientId?: string | null;
  outcome: AuditOutcome;
  /** Ids and counts only (e.g. `{ resultCount, patientIds }`); never patient fields. */
  details?: Record<string, unknown> | null;
}

/** An event as stored and returned by the audit API. */
export interface AuditEvent {
  id: string;
  occurredAt: string;
  actorUserId: string | null;
  actorUsername: string;
  actorRole: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  patientId: string | null;
  outcome: AuditOutcome;
  clientIp: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
}
