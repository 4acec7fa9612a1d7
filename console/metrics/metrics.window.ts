/**
 * Rates over the window between two scrapes: request rate from the counter delta, p95 latency from
 * the histogram bucket delta (Prometheus' `histogram_quantile` interpolation), error rate as the
 * 5xx share of the delta. Deltas are taken per container, then added, so a restarted container
 * (its counters start again at 0) never makes the total go negative. Pure.
 */
import type { Bucket, PoolGauges, ServerSnapshot } from './metrics.snapshot.js';

/** One scrape of one backend container. */
export interface TargetScrape {
  /** Stable id of the target (the container id). */
  target: string;
  /** Human name (the container name), for errors. */
  name: string;
  /** When the scrape finished, ms since the epoch. */
  atMs: number;
  /** Null when the scrape failed. */
  snapshot: ServerSnapshot | null;
  /** Why the scrape failed, null when it worked. */
  error: string | null;
}

/** The metrics figures of one dashboard refresh. */
export interface MetricsSample {
  /** When the scrape round finished, ms since the epoch. */
  atMs: number;
  /** Requests per second over the window; null on the first round (no delta yet). */
  requestRate: number | null;
  /** Length of the window the rates cover, seconds (mean over the containers' own scrape intervals); null on the first round. */
  windowS: number | null;
  /** 95th percentile latency over the window, in seconds; null when no request was answered in it. */
  p95Seconds: number | null;
  /** Share (0..1) of the window's requests answered with 5xx; null when there were none. */
  errorRatio: number | null;
  /** DB pool gauges summed over the containers; null when no container reported them. */
  pool: PoolGauges | null;
  /**
   * Jobs by queue then state. The counts come from Redis and are the same in every container,
   * so this is the largest figure any container reported, never a sum.
   */
  queues: Record<string, Record<string, number>>;
  /** Backend containers asked, and how many answered. */
  targets: number;
  scraped: number;
  /** One line per failed scrape: `<container>: <reason>`. */
  errors: string[];
  /** Web workers that did not answer their container's merged scrape (the figures are partial then). */
  workersMissing: number;
}

/**
 * Increase of a cumulative counter between two readings; a drop means the process restarted and
 * counted from zero, so the whole current value is the increase (Prometheus' reset rule). Pure.
 */
export function counterDelta(prev: number, cur: number): number {
  return cur >= prev ? cur - prev : cur;
}

/** Bucket-wise increase of a cumulative histogram (same reset rule as {@link counterDelta}). Pure. */
export function bucketsDelta(prev: Bucket[], cur: Bucket[], reset = false): Bucket[] {
  const before = new Map(prev.map((b) => [b.le, b.count]));
  return cur.map((b) => ({ le: b.le, count: reset ? b.count : counterDelta(before.get(b.le) ?? 0, b.count) }));
}

/** Add bucket lists with possibly different bounds (union of `le`, summed counts). Pure. */
export function addBuckets(lists: Bucket[][]): Bucket[] {
  const sum = new Map<number, number>();
  for (const list of lists) for (const b of list) sum.set(b.le, (sum.get(b.le) ?? 0) + b.count);
  return [...sum.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile (0 < q < 1) of a cumulative histogram, as Prometheus' `histogram_quantile`:
 * find the bucket holding rank q × total and interpolate linearly inside it (the first bucket
 * starts at 0). A rank in the +Inf bucket returns the largest finite bound. Pure.
 * @returns seconds (the buckets' unit), or null when the histogram is empty.
 */
export function histogramQuantile(q: number, buckets: Bucket[]): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const last = sorted[sorted.length - 1];
  if (!last || last.le !== Infinity || last.count <= 0) return null;
  const rank = q * last.count;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Infinity) return sorted.length > 1 ? sorted[sorted.length - 2]!.le : null;
      if (b.count === prevCount) return b.le;
      return prevLe + (b.le - prevLe) * ((rank - prevCount) / (b.count - prevCount));
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return null;
}

/**
 * The dashboard's figures from the previous and the current scrape round. Per container: the
 * deltas of requests, 5xx and buckets over its own elapsed time; then summed. Containers without a
 * previous scrape (just started, or first round) add gauges but no rates. Pure.
 */
export function metricsSample(prev: TargetScrape[] | null, cur: TargetScrape[], atMs: number): MetricsSample {
  const before = new Map((prev ?? []).map((t) => [t.target, t]));
  let rate = 0;
  let withRate = 0;
  let windowSum = 0;
  let dReq = 0;
  let dErr = 0;
  const bucketDeltas: Bucket[][] = [];
  let pool: PoolGauges | null = null;
  const queues: Record<string, Record<string, number>> = {};
  for (const t of cur) {
    const s = t.snapshot;
    if (!s) continue;
    if (s.pool) {
      const p: PoolGauges = pool ?? { used: 0, free: 0, pending: 0, max: 0 };
      pool = { used: p.used + s.pool.used, free: p.free + s.pool.free, pending: p.pending + s.pool.pending, max: p.max + s.pool.max };
    }
    for (const [q, states] of Object.entries(s.queues)) {
      const into = (queues[q] ??= {});
      for (const [st, n] of Object.entries(states)) into[st] = Math.max(into[st] ?? 0, n);
    }
    const last = before.get(t.target);
    const p = last?.snapshot;
    if (!last || !p) continue;
    const seconds = (t.atMs - last.atMs) / 1000;
    if (seconds <= 0) continue;
    const reset = s.requests < p.requests;
    const req = reset ? s.requests : s.requests - p.requests;
    rate += req / seconds;
    withRate += 1;
    windowSum += seconds;
    dReq += req;
    dErr += reset ? s.errors5xx : counterDelta(p.errors5xx, s.errors5xx);
    bucketDeltas.push(bucketsDelta(p.buckets, s.buckets, reset));
  }
  return {
    atMs,
    requestRate: withRate > 0 ? rate : null,
    windowS: withRate > 0 ? windowSum / withRate : null,
    p95Seconds: dReq > 0 ? histogramQuantile(0.95, addBuckets(bucketDeltas)) : null,
    errorRatio: dReq > 0 ? Math.min(1, dErr / dReq) : null,
    pool,
    queues,
    targets: cur.length,
    scraped: cur.filter((t) => t.snapshot !== null).length,
    errors: cur.filter((t) => t.error !== null).map((t) => `${t.name}: ${t.error}`),
    workersMissing: cur.reduce((n, t) => n + (t.snapshot?.workers?.missing ?? 0), 0),
  };
}
