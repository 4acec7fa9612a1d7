/**
 * How long the cluster primary waits before replacing a crashed worker. A worker that crashes
 * soon after it started is probably in a crash loop (bad deploy, unreachable port); restarting it
 * at once would spin the CPU and flood the log, so the wait doubles with each quick crash.
 */

/** A worker that ran at least this long before crashing counts as healthy, in ms. */
export const HEALTHY_UPTIME_MS = 30_000;
/** First wait, in ms. */
export const RESTART_BASE_DELAY_MS = 500;
/** Longest wait, in ms. */
export const RESTART_MAX_DELAY_MS = 30_000;

/**
 * Updates the count of consecutive quick crashes of one worker slot.
 * @param previous the count before this crash.
 * @param uptimeMs how long the crashed worker ran, in ms.
 * @returns the new count: 1 after a worker that ran ≥ HEALTHY_UPTIME_MS, else previous + 1.
 */
export function nextCrashCount(previous: number, uptimeMs: number): number {
  return uptimeMs >= HEALTHY_UPTIME_MS ? 1 : previous + 1;
}

/**
 * Wait before restarting, in ms: 500, 1000, 2000, … capped at 30000.
 * @param consecutiveCrashes ≥ 1, from {@link nextCrashCount}.
 */
export function restartDelayMs(consecutiveCrashes: number): number {
  const exponent = Math.min(Math.max(consecutiveCrashes, 1) - 1, 16);
  return Math.min(RESTART_BASE_DELAY_MS * 2 ** exponent, RESTART_MAX_DELAY_MS);
}
