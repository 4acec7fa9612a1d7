/**
 * Appointment reminders and mail delivery through the outbox (run by the queue worker).
 *
 * `scan()`: writes a reminder into the outbox for every booked appointment of a real patient that
 * starts within REMINDER_LEAD_HOURS and has none yet (patients without an e-mail address get a
 * `skipped` row, so they are not looked at again), then delivers what is due.
 * `deliverDue()`: claims due messages, sends them, and marks each sent, or failed with a retry
 * time (1, 2, 4, 8 min; permanently failed after 5 attempts or a permanent SMTP refusal).
 *
 * Nothing here logs a recipient, a name or a message text: only ids and counts.
 *
 * Reminders carry a patient's name and e-mail address, so both steps are audited under the system
 * actor, with the patient id: `patient.reminder.compose` in the same transaction as the outbox row
 * (no reminder is written without its record), and `patient.reminder.send` per delivery attempt
 * with its outcome (success, or error with the retry plan).
 */
import type { Logger } from 'pino';
import type { AuditService } from '../audit/audit.service.js';
import type { AuditActor, AuditEventInput } from '../audit/audit.types.js';
import type { TransactionRunner } from '../db/transaction.js';
import { isTransientMailError, type MailTransport } from './mail.transport.js';
import { reminderKey, type DueReminder, type NewOutboxMessage, type OutboxMessage, type OutboxRepository } from './outbox.repository.js';

/** The actor of the worker's own audit records. */
export const SYSTEM_ACTOR: AuditActor = { userId: null, username: '(system: reminders)', role: null };
const NO_ORIGIN = { ip: null, requestId: null };

/** Attempts before a message is given up. */
export const MAX_SEND_ATTEMPTS = 5;
/** How long a claimed message is reserved for the worker that claimed it, in seconds. */
const CLAIM_LEASE_SECONDS = 300;
const BATCH = 100;

/** Options of {@link NotificationService}. */
export interface NotificationOptions {
  /** MAIL_FROM. */
  from: string;
  /** HOSPITAL_TIMEZONE. */
  timezone: string;
  /** REMINDER_LEAD_HOURS. */
  leadHours: number;
}

/** Counts of one delivery run. */
export interface DeliveryReport {
  sent: number;
  retrying: number;
  failed: number;
}

/** The text of a reminder. */
export function renderReminder(reminder: DueReminder, timezone: string): { subject: string; body: string } {
  const when = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, dateStyle: 'full', timeStyle: 'short' }).format(reminder.startsAt);
  return {
    subject: `Appointment reminder: ${when}`,
    body: [
      `Dear ${reminder.givenName} ${reminder.familyName},`,
      '',
      `this is a reminder of your appointment on ${when} (${timezone}) with ${reminder.clinicianName}, ${reminder.department}.`,
      '',
      'If you cannot attend, please let the hospital know so that the time can be given to someone else.',
      '',
      'This message was sent automatically; please do not reply to it.',
    ].join('\n'),
  };
}

/** Retry delay after attempt `attempts` failed, in seconds; null when it was the last attempt. */
export function retryDelaySeconds(attempts: number): number | null {
  if (attempts >= MAX_SEND_ATTEMPTS) return null;
  return 60 * 2 ** Math.max(0, attempts - 1);
}

/** Reminders and outbox delivery. */
export class NotificationService {
  constructor(
    private readonly outbox: OutboxRepository,
    private readonly transport: MailTransport,
    private readonly options: NotificationOptions,
    private readonly logger: Logger<string>,
    private readonly audit: AuditService,
    private readonly transaction: TransactionRunner,
  ) {}

  /**
   * Writes the reminders that are due into the outbox.
   * @returns how many new outbox rows were written.
   */
  async queueReminders(signal?: AbortSignal): Promise<number> {
    let total = 0;
    for (;;) {
      signal?.throwIfAborted();
      const due = await this.outbox.dueReminders(this.options.leadHours, BATCH);
      if (due.length === 0) break;
      const messages: NewOutboxMessage[] = due.map((r) => ({
        kind: 'appointment-reminder',
        dedupeKey: reminderKey(r.appointmentId, r.startsAt),
        appointmentId: r.appointmentId,
        recipient: r.email,
        ...renderReminder(r, this.options.timezone),
      }));
      const events: AuditEventInput[] = due.map((r) => ({
        action: 'patient.reminder.compose',
        resourceType: 'appointment',
        resourceId: r.appointmentId,
        patientId: r.patientId,
        outcome: 'success',
        details: { hasRecipient: r.email !== null },
      }));
      // The reminder (name + address) is written only together with its audit records.
      const written = await this.transaction(async (trx) => {
        const n = await this.outbox.insert(messages, trx);
        await this.audit.record(SYSTEM_ACTOR, NO_ORIGIN, events, trx);
        return n;
      });
      total += written;
      if (due.length < BATCH || written === 0) break;
    }
    return total;
  }

  /**
   * Sends due messages until none is left, `maxMessages` were tried, or `signal` aborts.
   * @returns the counts.
   */
  async deliverDue(signal?: AbortSignal, maxMessages = 1_000): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: 0, retrying: 0, failed: 0 };
    let tried = 0;
    while (tried < maxMessages && !signal?.aborted) {
      const claimed = await this.outbox.claimDue(Math.min(20, maxMessages - tried), CLAIM_LEASE_SECONDS);
      if (claimed.length === 0) break;
      for (const message of claimed) {
        tried += 1;
        try {
          await this.transport.send({ id: message.id, from: this.options.from, to: message.recipient, subject: message.subject, text: message.body });
          await this.outbox.markSent(message.id);
          report.sent += 1;
          await this.auditSend(message, 'success', null);
        } catch (err) {
          const retryIn = isTransientMailError(err) ? retryDelaySeconds(message.attempts) : null;
          const reason = err instanceof Error ? err.message : String(err);
          await this.outbox.markFailed(message.id, reason, retryIn);
          if (retryIn === null) report.failed += 1;
          else report.retrying += 1;
          await this.auditSend(message, 'error', { attempts: message.attempts, retryInSeconds: retryIn });
          this.logger.warn(
            { outboxId: message.id, kind: message.kind, attempts: message.attempts, retryInSeconds: retryIn, err: { message: reason } },
            retryIn === null ? 'mail could not be sent; giving up' : 'mail could not be sent; will retry',
          );
        }
      }
    }
    return report;
  }

  /**
   * Records a delivery attempt of a reminder. The mail has left (or failed) already, so a record
   * that cannot be written is logged as an error rather than failing the delivery run.
   */
  private async auditSend(message: OutboxMessage, outcome: 'success' | 'error', details: Record<string, unknown> | null): Promise<void> {
    if (message.kind !== 'appointment-reminder') return;
    try {
      await this.audit.record(SYSTEM_ACTOR, NO_ORIGIN, [
        { action: 'patient.reminder.send', resourceType: 'outbox', resourceId: message.id, patientId: message.patientId, outcome, details },
      ]);
    } catch (err) {
      this.logger.error({ err, outboxId: message.id }, 'audit record of a reminder delivery could not be written');
    }
  }

  /** Queues due reminders and delivers due mail. */
  async scan(signal?: AbortSignal): Promise<{ queued: number } & DeliveryReport> {
    const queued = await this.queueReminders(signal);
    const delivery = await this.deliverDue(signal);
    return { queued, ...delivery };
  }
}
