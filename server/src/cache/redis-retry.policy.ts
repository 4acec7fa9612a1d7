/**
 * How every Redis client of the server (ioredis, and bee-queue's node_redis clients) reconnects.
 *
 * The delay is bounded (never more than a minute) and retries never stop, so a process outlives
 * a Redis outage and recovers on its own. When Redis refuses us because `maxclients` is reached,
 * reconnecting quickly makes it worse for everyone (the failure FAILURES.md describes), so that
 * error backs off much harder. Jitter spreads the reconnects of many processes.
 */

/** Normal backoff: 100 ms doubling up to this cap. */
export const RETRY_CAP_MS = 5_000;
/** Backoff after "max number of clients reached": 2 s doubling up to this cap. */
export const MAX_CLIENTS_RETRY_CAP_MS = 60_000;

/** True when Redis refused the connection because `maxclients` is reached. */
export function isMaxClientsError(err: unknown): boolean {
  return err instanceof Error && /max(imum)? number of clients reached/i.test(err.message);
}

/**
 * Delay before reconnect attempt `attempt`.
 *
 * @param attempt 1 for the first retry after a failure, then 2, 3, …
 * @param lastError the error that closed or refused the connection, if known.
 * @param random source of jitter in [0, 1) (injectable for tests).
 * @returns milliseconds: min(100·2^(attempt−1), 5000) + up to 250 ms jitter, or after a
 *   max-clients refusal min(2000·2^(attempt−1), 60000) + up to 1000 ms jitter.
 */
export function redisRetryDelayMs(attempt: number, lastError: unknown, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 16);
  if (isMaxClientsError(lastError)) {
    return Math.min(2_000 * 2 ** exponent, MAX_CLIENTS_RETRY_CAP_MS) + Math.floor(random() * 1_000);
  }
  return Math.min(100 * 2 ** exponent, RETRY_CAP_MS) + Math.floor(random() * 250);
}
