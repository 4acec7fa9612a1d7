/**
 * Bounds one step of detection in time, so a hung Docker socket or a slow `lscpu` cannot stall
 * the installer: every detector must finish within a few seconds.
 */

/** Raised by {@link withTimeout}; `code` is `ETIMEDOUT` like a socket timeout. */
export class DetectTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'DetectTimeoutError';
  }
}

/**
 * Resolves with `promise`, or rejects with {@link DetectTimeoutError} after `ms` milliseconds.
 * The timer is cleared either way and never keeps the process alive.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DetectTimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
