/**
 * Latency percentiles for load runs. autocannon's own summary has no p95 (its percentiles are
 * 50, 90, 97.5, 99, …), and p95 is the figure Carebox's capacity is defined by, so every response
 * time is recorded here instead: a fixed-resolution histogram, O(1) per sample, exact to
 * {@link LATENCY_RESOLUTION_MS}. Pure.
 */

/** Width of one histogram bucket, in ms. */
export const LATENCY_RESOLUTION_MS = 0.1;
/** Samples above this (ms) are counted in the last bucket; the recorded maximum stays exact. */
export const LATENCY_CEILING_MS = 60_000;

const BUCKETS = Math.ceil(LATENCY_CEILING_MS / LATENCY_RESOLUTION_MS) + 1;

/** A histogram of response times in ms. */
export class LatencyRecorder {
  private readonly counts = new Uint32Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private maxMs = 0;

  /** Records one response time, in ms (negative or non-finite values are ignored). */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const i = Math.min(BUCKETS - 1, Math.floor(ms / LATENCY_RESOLUTION_MS));
    this.counts[i]! += 1;
    this.total += 1;
    this.sum += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** Samples recorded. */
  get count(): number {
    return this.total;
  }

  /** Mean response time, ms (0 without samples). */
  get meanMs(): number {
    return this.total === 0 ? 0 : this.sum / this.total;
  }

  /** Largest response time, ms (0 without samples). */
  get max(): number {
    return this.maxMs;
  }

  /**
   * The p-th percentile, in ms: the upper edge of the bucket holding the sample of rank
   * ceil(p/100 × count) (nearest-rank definition), never above the recorded maximum.
   * @param p percentile in (0, 100].
   * @returns 0 without samples.
   */
  percentile(p: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i += 1) {
      seen += this.counts[i]!;
      // The last bucket holds everything above the ceiling: its edge is the maximum.
      if (seen >= rank) return i === BUCKETS - 1 ? this.maxMs : Math.min(this.maxMs, round2((i + 1) * LATENCY_RESOLUTION_MS));
    }
    return this.maxMs;
  }

  /** Adds another recorder's samples to this one (e.g. several runs of one step). */
  merge(other: LatencyRecorder): void {
    for (let i = 0; i < BUCKETS; i += 1) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    if (other.maxMs > this.maxMs) this.maxMs = other.maxMs;
  }
}

/** Rounds to 2 decimals (ms figures in reports). */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
