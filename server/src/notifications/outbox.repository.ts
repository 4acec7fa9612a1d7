/**
 * Data access for `notification_outbox`: messages that must go out, written in the same
 * transaction that decides they are due, then claimed, sent and marked by the worker.
 *
 * Claiming is an UPDATE … FOR UPDATE SKIP LOCKED with a lease (`claimed_until`): two workers never
 * take the same row, and a row whose worker died mid-send is taken again once its lease ends.
 * Delivery is therefore at least once (a crash between "sent" and "marked" sends it again).
 */
import type { Knex } from 'knex';

/** Kinds of message. */
export type OutboxKind = 'appointment-reminder' | 'daily-summary';

/** A message to write. */
export interface NewOutboxMessage {
  kind: OutboxKind;
  /** Unique per kind: a message with the same key is written only once. */
  dedupeKey: string;
  appointmentId?: string | null;
  /** null: nobody to send to (the row is stored as `skipped`). */
  recipient: string | null;
  subject: string;
  body: string;
}

/** A claimed message. */
export interface OutboxMessage {
  id: string;
  kind: OutboxKind;
  /** The patient an appointment reminder is about (null for other kinds). */
  patientId: string | null;
  recipient: string;
  subject: string;
  body: string;
  attempts: number;
}

/** A booked appointment due for a reminder, with what the reminder says. */
export interface DueReminder {
  appointmentId: string;
  patientId: string;
  startsAt: Date;
  department: string;
  givenName: string;
  familyName: string;
  email: string | null;
  clinicianName: string;
}

/** The dedupe key of a reminder: one per appointment and start time (a reschedule gets a new one). */
export function reminderKey(appointmentId: string, startsAt: Date): string {
  return `${appointmentId}:${Math.floor(startsAt.getTime() / 1000)}`;
}

/**
 * Booked appointments of real patients starting within `?` hours without a reminder for their
 * current start time (bindings: lead hours, limit). Served by appointments_status_starts_idx and
 * notification_outbox_dedupe_unique.
 */
export const DUE_REMINDERS_SQL = `select a.id, a.patient_id, a.starts_at, a.department, p.given_name, p.family_name, p.email, u.display_name
         from appointments a
         join patients p on p.id = a.patient_id
         join users u on u.id = a.clinician_id
        where a.status = 'booked'
          and a.starts_at > now()
          and a.starts_at <= now() + make_interval(hours => ?)
          and not p.is_synthetic
          and not exists (
            select 1 from notification_outbox o
             where o.kind = 'appointment-reminder'
               and o.dedupe_key = a.id::text || ':' || floor(extract(epoch from a.starts_at))::bigint::text)
        order by a.starts_at, a.id
        limit ?`;

/**
 * Claims due messages (bindings: lease seconds, limit). Served by notification_outbox_due_idx.
 */
export const CLAIM_DUE_SQL = `update notification_outbox o
          set status = 'sending', claimed_until = now() + make_interval(secs => ?), attempts = o.attempts + 1
        where o.id in (
          select id from notification_outbox
           where (status = 'pending' and next_attempt_at <= now())
              or (status = 'sending' and claimed_until < now())
           order by next_attempt_at
           limit ?
           for update skip locked)
        returning o.id, o.kind, o.recipient, o.subject, o.body, o.attempts,
                  (select a.patient_id from appointments a where a.id = o.appointment_id) as patient_id`;

/** Data access for the outbox. */
export class OutboxRepository {
  constructor(private readonly db: Knex) {}

  /**
   * Writes messages; those whose (kind, dedupe key) exists already are skipped.
   * @returns how many were new.
   */
  async insert(messages: readonly NewOutboxMessage[], trx?: Knex.Transaction): Promise<number> {
    if (messages.length === 0) return 0;
    const rows = messages.map((m) => ({
      kind: m.kind,
      dedupe_key: m.dedupeKey,
      appointment_id: m.appointmentId ?? null,
      recipient: m.recipient,
      subject: m.subject,
      body: m.body,
      status: m.recipient === null ? 'skipped' : 'pending',
      last_error: m.recipient === null ? 'no recipient address' : null,
    }));
    const inserted = await (trx ?? this.db)('notification_outbox').insert(rows).onConflict(['kind', 'dedupe_key']).ignore().returning('id');
    return inserted.length;
  }

  /**
   * Booked, real (non-synthetic) appointments starting within `leadHours` that have no reminder
   * for their current start time yet, soonest first.
   */
  async dueReminders(leadHours: number, limit: number): Promise<DueReminder[]> {
    const result = await this.db.raw<{ rows: Array<Record<string, unknown>> }>(DUE_REMINDERS_SQL, [leadHours, limit]);
    return result.rows.map((r) => ({
      appointmentId: r.id as string,
      patientId: r.patient_id as string,
      startsAt: r.starts_at as Date,
      department: r.department as string,
      givenName: r.given_name as string,
      familyName: r.family_name as string,
      email: (r.email as string | null) ?? null,
      clinicianName: r.display_name as string,
    }));
  }

  /** Cancels reminders of an appointment that have not gone out yet (cancelled or rescheduled). */
  async cancelPendingForAppointment(appointmentId: string, trx: Knex.Transaction): Promise<number> {
    return trx('notification_outbox')
      .where({ appointment_id: appointmentId })
      .whereIn('status', ['pending'])
      .update({ status: 'cancelled', last_error: 'appointment changed or cancelled' });
  }

  /**
   * Claims up to `limit` messages that are due (pending and due, or sending with an expired
   * lease), leasing them for `leaseSeconds`.
   */
  async claimDue(limit: number, leaseSeconds: number): Promise<OutboxMessage[]> {
    const result = await this.db.raw<{ rows: Array<Record<string, unknown>> }>(CLAIM_DUE_SQL, [leaseSeconds, limit]);
    return result.rows.map((r) => ({
      id: r.id as string,
      kind: r.kind as OutboxKind,
      patientId: (r.patient_id as string | null) ?? null,
      recipient: r.recipient as string,
      subject: r.subject as string,
      body: r.body as string,
      attempts: r.attempts as number,
    }));
  }

  /** Marks a claimed message sent. */
  async markSent(id: string): Promise<void> {
    await this.db('notification_outbox').where({ id }).update({ status: 'sent', sent_at: this.db.fn.now(), claimed_until: null, last_error: null });
  }

  /**
   * Records a failed send: back to pending with a later attempt time, or failed for good when
   * `retryInSeconds` is null.
   */
  async markFailed(id: string, error: string, retryInSeconds: number | null): Promise<void> {
    await this.db('notification_outbox')
      .where({ id })
      .update({
        status: retryInSeconds === null ? 'failed' : 'pending',
        claimed_until: null,
        last_error: error.slice(0, 500),
        next_attempt_at: retryInSeconds === null ? this.db.fn.now() : this.db.raw('now() + make_interval(secs => ?)', [retryInSeconds]),
      });
  }

  /** Deletes finished messages older than `days` (they hold patient names). @returns how many. */
  async pruneFinished(days: number): Promise<number> {
    return this.db('notification_outbox')
      .whereIn('status', ['sent', 'failed', 'skipped', 'cancelled'])
      .where('created_at', '<', this.db.raw('now() - make_interval(days => ?)', [days]))
      .delete();
  }
}
