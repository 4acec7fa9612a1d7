/**
 * Writes the audit trail and runs audited work.
 *
 * The rule: an action on patient data does not happen unless its audit record is written.
 * - Changes run in one transaction with their audit record ({@link AuditService.change}): both
 *   commit or neither does.
 * - Reads write their record after reading and before the response is sent
 *   ({@link AuditService.read}): if the record cannot be written the caller gets 503
 *   AUDIT_UNAVAILABLE, never the data.
 * - A refused or failed attempt is recorded too, with its outcome (denied, not_found, rejected,
 *   conflict, error). If even that record cannot be written, the original error is answered and
 *   the lost record is logged as an error.
 * - Records written outside a change's transaction (reads, refusals, failures, sign-ins) go
 *   through an {@link AuditBatchWriter} when one is given: the records of concurrent requests share
 *   one INSERT, and each request still waits for its own record to commit (see audit.batcher.ts).
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { TransactionRunner } from '../db/transaction.js';
import { HttpError, ServiceUnavailableError } from '../http/http-error.js';
import type { RequestContext } from '../http/request-context.js';
import { decodeCursor, toPage, type Page } from '../http/pagination.js';
import type { AuditBatchWriter } from './audit.batcher.js';
import type { AuditFilter } from './audit.repository.js';
import { AuditRepository, toAuditRow } from './audit.repository.js';
import type { AuditActor, AuditEvent, AuditEventInput, AuditOrigin, AuditOutcome } from './audit.types.js';

/** The audit record could not be written, so the action it records is refused. */
export class AuditUnavailableError extends ServiceUnavailableError {
  constructor(cause: unknown) {
    super('AUDIT_UNAVAILABLE', 'the audit trail cannot be written; the request was not carried out', {
      retryAfterSeconds: 5,
      hint: 'Patient data is only read or changed when the access is recorded. Retry shortly; tell the operator if it persists.',
      cause,
    });
  }
}

/**
 * What an audited piece of work is about. The work may fill in `patientId` once it knows it (it
 * read the record), so that a refusal or failure after that point is recorded with the patient.
 */
export interface AuditSubject {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  patientId?: string | null;
}

/** What audited work returns: its result, and what the record should say about it. */
export interface AuditedResult<T> {
  result: T;
  /** Fills in what is only known after the work (the id of a created record). */
  resourceId?: string | null;
  patientId?: string | null;
  details?: Record<string, unknown> | null;
  /** Further events to record in the same write (e.g. one per patient of a list). */
  extra?: AuditEventInput[];
}

/** Maps the error of a failed attempt to the outcome recorded for it. */
export function outcomeOf(err: unknown): AuditOutcome {
  if (err instanceof HttpError) {
    if (err.status === 403) return 'denied';
    if (err.status === 404 || err.status === 410) return 'not_found';
    if (err.status === 409) return 'conflict';
    if (err.status < 500) return 'rejected';
  }
  return 'error';
}

/** The audit trail of one process. */
export class AuditService {
  /**
   * @param batches group writer for records outside a transaction; without it each record is its
   *   own INSERT (CLIs, the queue worker, tests).
   */
  constructor(
    private readonly repository: AuditRepository,
    private readonly transaction: TransactionRunner,
    private readonly logger: Logger<string>,
    private readonly batches?: AuditBatchWriter,
  ) {}

  /** The actor and origin of a request context. */
  static from(ctx: RequestContext): { actor: AuditActor; origin: AuditOrigin } {
    return {
      actor: { userId: ctx.actor.userId, username: ctx.actor.username, role: ctx.actor.role },
      origin: { ip: ctx.ip, requestId: ctx.requestId },
    };
  }

  /**
   * Appends events now (in `trx` when given).
   * @throws AuditUnavailableError when the write fails.
   */
  async record(actor: AuditActor, origin: AuditOrigin, events: readonly AuditEventInput[], trx?: Knex.Transaction): Promise<void> {
    try {
      await this.append(actor, origin, events, trx);
    } catch (err) {
      throw new AuditUnavailableError(err);
    }
  }

  /** Appends in `trx`, else through the batch writer (when there is one). @throws the driver error */
  private append(actor: AuditActor, origin: AuditOrigin, events: readonly AuditEventInput[], trx?: Knex.Transaction): Promise<void> {
    if (trx !== undefined || this.batches === undefined) return this.repository.append(actor, origin, events, trx);
    return this.batches.write(events.map((e) => toAuditRow(actor, origin, e)));
  }

  /**
   * Runs a change and its audit record in one transaction.
   * @throws whatever `work` throws (after recording the failed attempt), or AuditUnavailableError.
   */
  async change<T>(ctx: RequestContext, subject: AuditSubject, work: (trx: Knex.Transaction) => Promise<AuditedResult<T>>): Promise<T> {
    const { actor, origin } = AuditService.from(ctx);
    try {
      return await this.transaction(async (trx) => {
        const done = await work(trx);
        await this.record(actor, origin, [this.success(subject, done), ...(done.extra ?? [])], trx);
        return done.result;
      });
    } catch (err) {
      if (err instanceof AuditUnavailableError) throw err;
      await this.recordFailure(actor, origin, subject, err);
      throw err;
    }
  }

  /**
   * Runs a read, then records it; the data is returned only once the record is written.
   * @throws whatever `work` throws (after recording the failed attempt), or AuditUnavailableError.
   */
  async read<T>(ctx: RequestContext, subject: AuditSubject, work: () => Promise<AuditedResult<T>>): Promise<T> {
    const { actor, origin } = AuditService.from(ctx);
    let done: AuditedResult<T>;
    try {
      done = await work();
    } catch (err) {
      await this.recordFailure(actor, origin, subject, err);
      throw err;
    }
    await this.record(actor, origin, [this.success(subject, done), ...(done.extra ?? [])]);
    return done.result;
  }

  /** Records a refused attempt (RBAC), failing the request if the record cannot be written. */
  async denied(ctx: RequestContext, subject: AuditSubject, details: Record<string, unknown> | null = null): Promise<void> {
    const { actor, origin } = AuditService.from(ctx);
    await this.record(actor, origin, [{ ...subject, outcome: 'denied', details }]);
  }

  /**
   * A page of events, newest first.
   * @throws BadRequestError INVALID_CURSOR for a cursor this list did not issue.
   */
  async list(filter: Omit<AuditFilter, 'beforeId'>, limit: number, cursor: string | undefined): Promise<Page<AuditEvent>> {
    const key = decodeCursor('audit', cursor, [z.string().regex(/^\d{1,19}$/)] as const);
    const rows = await this.repository.list({ ...filter, ...(key ? { beforeId: key[0] } : {}) }, limit + 1);
    return toPage(rows, limit, 'audit', (e) => [e.id]);
  }

  private success<T>(subject: AuditSubject, done: AuditedResult<T>): AuditEventInput {
    return {
      action: subject.action,
      resourceType: subject.resourceType,
      resourceId: done.resourceId !== undefined ? done.resourceId : (subject.resourceId ?? null),
      patientId: done.patientId !== undefined ? done.patientId : (subject.patientId ?? null),
      outcome: 'success',
      details: done.details ?? null,
    };
  }

  private async recordFailure(actor: AuditActor, origin: AuditOrigin, subject: AuditSubject, err: unknown): Promise<void> {
    const outcome = outcomeOf(err);
    const code = err instanceof HttpError ? err.code : 'INTERNAL';
    try {
      await this.append(actor, origin, [{ ...subject, outcome, details: { code } }]);
    } catch (auditErr) {
      // The request fails anyway with its own error; the lost record must not vanish silently.
      this.logger.error(
        { err: auditErr, action: subject.action, resourceType: subject.resourceType, outcome, requestId: origin.requestId },
        'audit record of a failed attempt could not be written',
      );
    }
  }
}
