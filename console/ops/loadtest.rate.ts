/**
 * How `carebox loadtest` ramps its arrival rate (open model), judges a rate, converts the highest
 * sustained one into active staff, and judges the proof run. Pure.
 *
 * A rate is sustained when its requests' p95 latency (from each request's intended start) is at
 * most P95_LIMIT_MS, at most ERROR_RATE_LIMIT of them failed, and the generator kept up (at least
 * 95 % of the arrivals started on time). The ramp doubles the rate from RATE_START until a rate is
 * not sustained or --max-rate is reached, then bisects until the bounds are within 10 %.
 */
import { ERROR_RATE_LIMIT, P95_LIMIT_MS } from './loadtest.ramp.js';
import type { OpenStats } from './loadtest.open.js';

/** Bounds and defaults of the load test's flags. */
export const RATE_LIMITS = {
  /** Seconds each rate runs. */
  durationS: { min: 1, max: 300, default: 15 },
  /** Highest arrival rate tried, actions/s. */
  maxRate: { min: 1, max: 20_000, default: 2_000 },
  /** Seconds of the proof run (the issue: at least 60). */
  proofS: { min: 60, max: 1_800, default: 60 },
  /** Highest closed-loop connection count of the saturation ramp. */
  saturationMax: { min: 1, max: 10_000, default: 400 },
} as const;

/** First rate of the ramp, actions/s. */
export const RATE_START = 5;
/** Bisection steps after the first rate that is not sustained. */
export const MAX_RATE_REFINEMENTS = 4;
/** Bisection stops when the failed rate is within this factor of the sustained one. */
export const RATE_PRECISION = 1.1;
/** Share of arrivals that may start over 100 ms late before the generator, not the server, is the limit. */
export const LATE_START_LIMIT = 0.05;

/** The rates to try up to `maxRate`: RATE_START doubled while below it, then `maxRate` itself. */
export function rateLevels(maxRate: number): number[] {
  if (!(maxRate > 0)) throw new Error('maxRate must be > 0');
  const out: number[] = [];
  for (let r = RATE_START; r < maxRate; r *= 2) out.push(r);
  out.push(maxRate);
  return out;
}

/** Whether one rate's figures count as sustained, and why not. */
export function judgeRate(s: Pick<OpenStats, 'latency' | 'errors' | 'requests' | 'actionsStarted' | 'lateStarts'>): {
  sustained: boolean;
  reason: string | null;
} {
  if (s.requests === 0) return { sustained: false, reason: 'no response at all' };
  if (s.errors.rate > ERROR_RATE_LIMIT) return { sustained: false, reason: `errors ${(s.errors.rate * 100).toFixed(2)} % > ${ERROR_RATE_LIMIT * 100} %` };
  if (s.latency.p95 > P95_LIMIT_MS) return { sustained: false, reason: `p95 ${s.latency.p95} ms > ${P95_LIMIT_MS} ms` };
  if (s.actionsStarted > 0 && s.lateStarts / s.actionsStarted > LATE_START_LIMIT) {
    return { sustained: false, reason: `the load generator fell behind (${s.lateStarts} of ${s.actionsStarted} actions started over 100 ms late)` };
  }
  return { sustained: true, reason: null };
}

/** The next rate between the sustained `good` (0 when none) and the failed `bad`, or null when within RATE_PRECISION (or 1 action/s). */
export function bisectRate(good: number, bad: number): number | null {
  if (bad - good < 1 || (good > 0 && bad / good <= RATE_PRECISION)) return null;
  const mid = Math.round(((good + bad) / 2) * 10) / 10;
  return mid > good && mid < bad ? mid : null;
}

/** Active staff N = X × (R + Z), Little's law, rounded down. */
export function littleStaff(actionsPerSecond: number, responseTimeS: number, thinkTimeS: number): number {
  return Math.floor(actionsPerSecond * (responseTimeS + thinkTimeS));
}

/**
 * Shares of the open model's N that the proof tries, in order, until one holds: N, then 15 % and
 * 30 % below it. The bisection judges 15-s steps; a 60-s run of people who pause at random builds
 * longer queues near the knee (on 2026-12-08 a proof at the X* of the steps failed at p95 246 ms
 * where the step had 69 ms), so one retry 9 % lower often failed too. Three proofs bound the run
 * (at most 3 × --proof-duration) and the proven figure to at most 30 % below X*.
 */
export const PROOF_SHARES: readonly number[] = [1, 0.85, 0.7];

/** The virtual staff of each proof for an open-model figure of `staff` (≥ 1), descending, without repeats. */
export function proofStaffLevels(staff: number): number[] {
  const out: number[] = [];
  for (const share of PROOF_SHARES) {
    const n = Math.floor(staff * share);
    if (n >= 1 && !out.includes(n)) out.push(n);
  }
  return out;
}

/** Whether the proof run held: p95 and errors within the criteria (the rate is what N staff produce). */
export function judgeProof(s: Pick<OpenStats, 'latency' | 'errors' | 'requests'>): { held: boolean; reason: string | null } {
  if (s.requests === 0) return { held: false, reason: 'no response at all' };
  if (s.errors.rate > ERROR_RATE_LIMIT) return { held: false, reason: `errors ${(s.errors.rate * 100).toFixed(2)} % > ${ERROR_RATE_LIMIT * 100} %` };
  if (s.latency.p95 > P95_LIMIT_MS) return { held: false, reason: `p95 ${s.latency.p95} ms > ${P95_LIMIT_MS} ms` };
  return { held: true, reason: null };
}
