/**
 * What the console needs from one scrape of one backend container, taken out of the parsed
 * exposition by the names in metric.names.ts. Pure.
 */
import { CLUSTER_WORKERS_METRIC, EXCLUDED_ROUTES, SERVER_LABELS, SERVER_METRICS } from './metric.names.js';
import type { PromExposition } from './prom.parse.js';

/** One cumulative histogram bucket: requests that took at most `le` seconds. */
export interface Bucket {
  /** Upper bound in seconds (`Infinity` for `+Inf`). */
  le: number;
  /** Cumulative count of requests. */
  count: number;
}

/** The DB pool gauges of one container (summed over its processes), in connections. */
export interface PoolGauges {
  used: number;
  free: number;
  /** Requests waiting to acquire a connection. */
  pending: number;
  /** Most connections the container's processes may open together. */
  max: number;
}

/** Counters and gauges of one backend container at one instant. */
export interface ServerSnapshot {
  /** Requests answered since the process started (cumulative counter), own scrapes excluded. */
  requests: number;
  /** Of those, answered with a 5xx status. */
  errors5xx: number;
  /** Cumulative latency histogram over every route but the excluded ones, sorted by `le`, ending at +Inf. */
  buckets: Bucket[];
  /** Null when the scrape has no pool gauges (a server without a DB pool). */
  pool: PoolGauges | null;
  /** Jobs by queue then state; empty when the server could not read Redis (the series are absent then). */
  queues: Record<string, Record<string, number>>;
  /** Web workers merged into this scrape and those that did not answer; null for a single-process scrape. */
  workers: { reporting: number; missing: number } | null;
}

const included = (labels: Record<string, string>) => !EXCLUDED_ROUTES.has(labels[SERVER_LABELS.route] ?? '');

/**
 * Reduce a parsed `/metrics` to the figures the dashboard shows. Series are summed over all their
 * label sets (method, route, status), except the excluded routes. Pure.
 */
export function snapshotFrom(expo: PromExposition): ServerSnapshot {
  let requests = 0;
  let errors5xx = 0;
  const buckets = new Map<number, number>();
  const pool: Record<keyof PoolGauges, number | null> = { used: null, free: null, pending: null, max: null };
  const poolKeys: Record<string, keyof PoolGauges> = {
    [SERVER_METRICS.poolUsed]: 'used',
    [SERVER_METRICS.poolFree]: 'free',
    [SERVER_METRICS.poolPending]: 'pending',
    [SERVER_METRICS.poolMax]: 'max',
  };
  const queues: Record<string, Record<string, number>> = {};
  let workers: { reporting: number; missing: number } | null = null;
  const bucketName = `${SERVER_METRICS.duration}_bucket`;

  for (const s of expo.samples) {
    if (!Number.isFinite(s.value)) continue;
    if (s.name === SERVER_METRICS.requests) {
      if (!included(s.labels)) continue;
      requests += s.value;
      if ((s.labels[SERVER_LABELS.status] ?? '').startsWith('5')) errors5xx += s.value;
    } else if (s.name === bucketName) {
      if (!included(s.labels)) continue;
      const le = parseLe(s.labels[SERVER_LABELS.le]);
      if (le === null) continue;
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    } else if (s.name in poolKeys) {
      const k = poolKeys[s.name]!;
      pool[k] = (pool[k] ?? 0) + s.value;
    } else if (s.name === CLUSTER_WORKERS_METRIC) {
      workers ??= { reporting: 0, missing: 0 };
      if (s.labels[SERVER_LABELS.state] === 'missing') workers.missing += s.value;
      else if (s.labels[SERVER_LABELS.state] === 'reporting') workers.reporting += s.value;
    } else if (s.name === SERVER_METRICS.queueJobs) {
      const q = s.labels[SERVER_LABELS.queue];
      const st = s.labels[SERVER_LABELS.state];
      if (q === undefined || st === undefined) continue;
      const byState = (queues[q] ??= {});
      byState[st] = (byState[st] ?? 0) + s.value;
    }
  }
  const havePool = pool.used !== null || pool.free !== null || pool.pending !== null || pool.max !== null;
  return {
    requests,
    errors5xx,
    buckets: [...buckets.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le),
    pool: havePool ? { used: pool.used ?? 0, free: pool.free ?? 0, pending: pool.pending ?? 0, max: pool.max ?? 0 } : null,
    queues,
    workers,
  };
}

function parseLe(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}
