/**
 * Group writes of the audit trail: the audit records of reads (and of refused or failed attempts,
 * and sign-ins) that arrive in the same turn of the event loop go to PostgreSQL in one INSERT.
 *
 * Why: every patient read, search and list writes audit rows before its answer. One INSERT (one
 * pool checkout, one round trip, one commit) per request made that write the most expensive part
 * of a cache-hot read; a batch shares them among every request in it.
 *
 * What does not change: a request still gets its data only once its own record is committed. Each
 * caller awaits the batch it joined; if the batch cannot be written every caller in it fails
 * (AUDIT_UNAVAILABLE), nothing is dropped or written later. A batch that fails on one row's data
 * (SQLSTATE classes 22/23: a value the column refuses) is retried caller by caller, so one bad
 * record fails only its own request. Changes are not batched: their records commit in the
 * change's own transaction (AuditService.change).
 *
 * Bounds: at most `maxInFlight` INSERTs at a time (the rest of the pool serves queries), at most
 * `maxBatchRows` rows per INSERT, and at most `maxQueuedRows` rows waiting (beyond that a record is
 * refused at once instead of queueing behind a stalled database).
 */
import type { AuditRepository, AuditRow } from './audit.repository.js';

/** Options of {@link AuditBatchWriter}. */
export interface AuditBatchOptions {
  /** Rows per INSERT, at most. Default 1000. */
  maxBatchRows?: number;
  /** INSERTs running at once, at most. Default 2. */
  maxInFlight?: number;
  /** Rows waiting for a batch, at most; more are refused at once. Default 20 000. */
  maxQueuedRows?: number;
}

interface Pending {
  rows: readonly AuditRow[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The audit queue is full: the database is not keeping up (or not answering). */
export class AuditQueueFullError extends Error {
  constructor(queued: number) {
    super(`${queued} audit rows are already waiting for the database`);
    this.name = 'AuditQueueFullError';
  }
}

/** True for errors about one row's data (SQLSTATE class 22 data exception, 23 integrity violation). */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

/** Batches the audit rows of one process. */
export class AuditBatchWriter {
  private readonly maxBatchRows: number;
  private readonly maxInFlight: number;
  private readonly maxQueuedRows: number;
  private queue: Pending[] = [];
  private queuedRows = 0;
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly repository: Pick<AuditRepository, 'insertRows'>,
    options: AuditBatchOptions = {},
  ) {
    this.maxBatchRows = options.maxBatchRows ?? 1_000;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxQueuedRows = options.maxQueuedRows ?? 20_000;
  }

  /**
   * Writes `rows` with the next batch.
   * @returns a promise that resolves once they are committed.
   * @throws (rejects with) the driver error of their batch, or AuditQueueFullError.
   */
  write(rows: readonly AuditRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    if (this.queuedRows + rows.length > this.maxQueuedRows) return Promise.reject(new AuditQueueFullError(this.queuedRows));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      this.queuedRows += rows.length;
      this.schedule();
    });
  }

  /** Rows waiting for a batch (metrics, tests). */
  get waiting(): number {
    return this.queuedRows;
  }

  private schedule(): void {
    if (this.inFlight >= this.maxInFlight) return; // the running batch picks the queue up when it ends
    if (this.queuedRows >= this.maxBatchRows) {
      this.flush();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // After this turn's I/O callbacks: every request handled in this turn joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0 && (batch.length === 0 || rows + this.queue[0]!.rows.length <= this.maxBatchRows)) {
      const next = this.queue.shift()!;
      batch.push(next);
      rows += next.rows.length;
    }
    this.queuedRows -= rows;
    this.inFlight += 1;
    void this.insert(batch).finally(() => {
      this.inFlight -= 1;
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async insert(batch: Pending[]): Promise<void> {
    try {
      await this.repository.insertRows(batch.length === 1 ? batch[0]!.rows : batch.flatMap((p) => p.rows));
      for (const p of batch) p.resolve();
    } catch (err) {
      if (batch.length > 1 && isDataError(err)) {
        // One caller's row was refused: retry each caller alone, so only that one fails.
        await Promise.all(batch.map((p) => this.repository.insertRows(p.rows).then(p.resolve, p.reject)));
        return;
      }
      for (const p of batch) p.reject(err);
    }
  }
}
