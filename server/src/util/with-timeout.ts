/**
 * Bounds how long we wait on a promise. The underlying work is not cancelled; callers use this
 * where a late answer is harmless (a readiness probe, a pool close during shutdown).
 */

/** Raised by {@link withTimeout} when the time is up. */
export class TimeoutError extends Error {
  constructor(
    readonly label: string,
    readonly timeoutMs: number,
  ) {
    super(`${label} timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Resolves or rejects like `work`, unless `timeoutMs` passes first.
 *
 * @param work the promise to wait for (a rejection after the timeout is swallowed).
 * @param timeoutMs milliseconds to wait, > 0.
 * @param label what is being waited for, used in the error message.
 * @throws TimeoutError when the time is up; otherwise whatever `work` rejects with.
 */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(label, timeoutMs)), timeoutMs);
    timer.unref();
  });
  work.catch(() => undefined); // a late rejection must not become an unhandled rejection
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A short one-line reason for an error, for health reports: no newlines, at most 160 chars. */
export function shortReason(err: unknown): string {
  const message = err instanceof Error ? err.message || err.name : String(err);
  const oneLine = message.replace(/\s+/g, ' ').trim();
  return oneLine.length > 160 ? `${oneLine.slice(0, 157)}...` : oneLine;
}
