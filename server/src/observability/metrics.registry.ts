/**
 * Prometheus metrics of one app instance. Each instance gets its own Registry, so tests and
 * several apps in one process never share counters.
 *
 * Exposed (besides Node's default process metrics: memory, CPU, event loop lag, GC):
 * - `carebox_http_requests_total{method,route,status_code}`
 * - `carebox_http_request_duration_seconds{method,route,status_code}` (histogram)
 * - `carebox_db_pool_used`, `carebox_db_pool_free`, `carebox_db_pool_pending`,
 *   `carebox_db_pool_pending_creates`, `carebox_db_pool_max` (knex pool of this process)
 * - `carebox_queue_jobs{queue,state}` (waiting/active/delayed/succeeded/failed; absent while
 *   Redis is unreachable)
 * - `carebox_cache_hits_total{cache}`, `carebox_cache_misses_total{cache}`,
 *   `carebox_cache_errors_total{cache}` (reads that bypassed an unavailable Redis), and
 *   `carebox_cache_hit_ratio{cache}` = hits / (hits + misses) since start
 *
 * With WEB_CONCURRENCY > 1 every cluster worker has its own registry, and `/metrics` answers for
 * the whole container: the worker that receives the scrape asks the cluster primary, which merges
 * every worker's registry (see cluster-metrics.ts). Each metric declares how it merges
 * (`aggregator`): counters, histograms and pool gauges add up; queue depths are the same Redis
 * numbers seen from every worker, so the primary keeps one (`max`); the hit ratio is recomputed
 * from the summed counters.
 */
import type { Knex } from 'knex';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { poolStats } from '../db/knex.factory.js';
import type { QueueDepth } from '../jobs/job.producer.js';
import { withTimeout } from '../util/with-timeout.js';
import { CACHE_HIT_RATIO_METRIC } from './metric-names.js';

type HttpLabels = 'method' | 'route' | 'status_code';

/** Counters of the read-through caches, by cache name. */
export interface CacheMetrics {
  hits: Counter<'cache'>;
  misses: Counter<'cache'>;
  errors: Counter<'cache'>;
}

/** The registry and the metrics the HTTP middleware and the caches record into. */
export interface AppMetrics {
  registry: Registry;
  httpRequests: Counter<HttpLabels>;
  httpDuration: Histogram<HttpLabels>;
  cache: CacheMetrics;
}

/** Name of the hit-ratio gauge; the cluster primary recomputes it from the merged counters. */
export { CACHE_HIT_RATIO_METRIC };

/** Where the gauges read their values at scrape time. */
export interface MetricSources {
  db: Knex;
  /** DB_POOL_MAX of this process. */
  poolMax: number;
  /** Queue counts; omitted when the process has no producer. */
  queueDepths?: () => Promise<QueueDepth[]>;
}

/**
 * Creates the registry with default metrics, HTTP metrics and the pool/queue gauges.
 * Gauges are read on scrape; a failing queue read (Redis down, > 1 s) leaves the series out
 * instead of failing the scrape.
 */
export function createMetrics(sources: MetricSources): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpRequests = new Counter<HttpLabels>({
    name: 'carebox_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
    registers: [registry],
  });
  const httpDuration = new Histogram<HttpLabels>({
    name: 'carebox_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its response, in seconds.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  // Registered in this order, which is the order /metrics lists them in.
  registerPoolGauges(registry, sources);
  if (sources.queueDepths !== undefined) registerQueueGauge(registry, sources.queueDepths);
  const cache = registerCacheMetrics(registry);
  return { registry, httpRequests, httpDuration, cache };
}

/** The knex pool gauges of this process, read at scrape time. */
function registerPoolGauges(registry: Registry, sources: MetricSources): void {
  const poolGauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  poolGauge('carebox_db_pool_used', 'Database connections in use by queries or transactions.', () => poolStats(sources.db).used);
  poolGauge('carebox_db_pool_free', 'Open database connections idle in the pool.', () => poolStats(sources.db).free);
  poolGauge('carebox_db_pool_pending', 'Requests waiting to acquire a database connection.', () => poolStats(sources.db).pendingAcquires);
  poolGauge('carebox_db_pool_pending_creates', 'Database connections being opened.', () => poolStats(sources.db).pendingCreates);
  poolGauge('carebox_db_pool_max', 'Most database connections this process may open (DB_POOL_MAX).', () => sources.poolMax);
}

/** `carebox_queue_jobs{queue,state}`: read at scrape time; a failing read (Redis down, > 1 s) leaves the series out. */
function registerQueueGauge(registry: Registry, queueDepths: () => Promise<QueueDepth[]>): void {
  new Gauge<'queue' | 'state'>({
    name: 'carebox_queue_jobs',
    help: 'Jobs per queue and state.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.reset();
      try {
        const depths = await withTimeout(queueDepths(), 1_000, 'queue depths');
        for (const d of depths) {
          for (const state of ['waiting', 'active', 'delayed', 'succeeded', 'failed'] as const) {
            this.set({ queue: d.queue, state }, d[state]);
          }
        }
      } catch {
        // Redis unreachable: no series rather than stale numbers; readiness reports the outage.
      }
    },
  });
}

/** The caches' hit, miss and error counters, and the hit-ratio gauge computed from them at scrape time. */
function registerCacheMetrics(registry: Registry): CacheMetrics {
  const cacheCounter = (name: string, help: string) => new Counter<'cache'>({ name, help, labelNames: ['cache'], registers: [registry] });
  const cache: CacheMetrics = {
    hits: cacheCounter('carebox_cache_hits_total', 'Cache reads answered from Redis.'),
    misses: cacheCounter('carebox_cache_misses_total', 'Cache reads that went to PostgreSQL (then filled the cache).'),
    errors: cacheCounter('carebox_cache_errors_total', 'Cache reads that bypassed Redis because it was unavailable.'),
  };
  new Gauge<'cache'>({
    name: CACHE_HIT_RATIO_METRIC,
    help: 'hits / (hits + misses) since the process started (for the container: since its workers started).',
    labelNames: ['cache'],
    registers: [registry],
    // The primary recomputes it from the merged counters (an average of ratios would be wrong).
    aggregator: 'omit',
    async collect() {
      this.reset();
      const byCache = (values: Array<{ labels: Record<string, unknown>; value: number }>) => new Map(values.map((v) => [String(v.labels.cache), v.value]));
      const hits = byCache((await cache.hits.get()).values);
      const misses = byCache((await cache.misses.get()).values);
      for (const name of new Set([...hits.keys(), ...misses.keys()])) {
        const h = hits.get(name) ?? 0;
        const m = misses.get(name) ?? 0;
        if (h + m > 0) this.set({ cache: name }, h / (h + m));
      }
    },
  });
  return cache;
}
