/**
 * How `carebox loadtest` ramps: which concurrency levels it tries, when a level counts as
 * sustained, and where it probes between the last good and the first bad level. Pure.
 *
 * A level is sustained when its p95 latency is at most {@link P95_LIMIT_MS} and at most
 * {@link ERROR_RATE_LIMIT} of its requests failed (the seed's response-time target, and the
 * issue's error budget). The ramp stops at the first level that is not, then bisects at most
 * {@link MAX_REFINEMENTS} times between it and the last sustained one.
 */
import type { LoadStats } from './loadtest.load.js';

/** Bounds and defaults of `--duration` (seconds per level) and `--max-users`. */
export const LOADTEST_LIMITS = { durationS: { min: 1, max: 300, default: 15 }, maxUsers: { min: 1, max: 10_000, default: 1_000 } } as const;

/** p95 latency a sustained level may have, in ms (the seed's "< 200 ms for 95 % of requests"). */
export const P95_LIMIT_MS = 200;
/** Share of failed requests a sustained level may have (0.1 %). */
export const ERROR_RATE_LIMIT = 0.001;
/** Bisection steps after the first level that is not sustained. */
export const MAX_REFINEMENTS = 2;
/** The ramp's levels (concurrent users) up to the largest useful; `--max-users` cuts it. */
export const RAMP_LEVELS: readonly number[] = [10, 25, 50, 100, 200, 400, 700, 1000, 1500, 2000, 3000, 5000, 7500, 10_000];

/** The levels to try for `maxUsers`: every ramp level below it, then `maxUsers` itself. */
export function rampLevels(maxUsers: number): number[] {
  if (!Number.isInteger(maxUsers) || maxUsers < 1) throw new Error('maxUsers must be a whole number ≥ 1');
  return [...RAMP_LEVELS.filter((l) => l < maxUsers), maxUsers];
}

/** Whether one level's figures count as sustained, and why not. */
export function judgeLevel(stats: Pick<LoadStats, 'latency' | 'errors' | 'requests'>): { sustained: boolean; reason: string | null } {
  if (stats.requests === 0) return { sustained: false, reason: 'no response at all' };
  if (stats.errors.rate > ERROR_RATE_LIMIT) {
    return { sustained: false, reason: `errors ${(stats.errors.rate * 100).toFixed(2)} % > ${ERROR_RATE_LIMIT * 100} %` };
  }
  if (stats.latency.p95 > P95_LIMIT_MS) return { sustained: false, reason: `p95 ${stats.latency.p95} ms > ${P95_LIMIT_MS} ms` };
  return { sustained: true, reason: null };
}

/**
 * The next level to probe between the highest sustained level `good` (0 when none) and the lowest
 * failed level `bad`, or null when they are too close to be worth another run (less than 2 users
 * or 15 % apart).
 */
export function bisectLevel(good: number, bad: number): number | null {
  if (bad - good < 2 || (good > 0 && bad / good < 1.15)) return null;
  const mid = Math.round((good + bad) / 2);
  return mid > good && mid < bad ? mid : null;
}

/** One level's outcome. */
export interface LevelResult {
  users: number;
  stats: LoadStats;
  sustained: boolean;
  reason: string | null;
}

/** The highest sustained level, or null when none was. */
export function sustainedLevel(levels: readonly LevelResult[]): LevelResult | null {
  let best: LevelResult | null = null;
  for (const l of levels) if (l.sustained && (best === null || l.users > best.users)) best = l;
  return best;
}
