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
 *
 * With WEB_CONCURRENCY > 1 every cluster worker has its own registry and a scrape reaches one of
 * them; per-process series are labelled by the scraper's target, not merged here.
 */
import type { Knex } from 'knex';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { poolStats } from '../db/knex.factory.js';
import type { QueueDepth } from '../jobs/job.producer.js';
import { withTimeout } from '../util/with-timeout.js';

type HttpLabels = 'method' | 'route' | 'status_code';

/** The registry and the metrics the HTTP middleware records into. */
export interface AppMetrics {
  registry: Registry;
  httpRequests: Counter<HttpLabels>;
  httpDuration: Histogram<HttpLabels>;
}

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

  const queueDepths = sources.queueDepths;
  if (queueDepths !== undefined) {
    new Gauge<'queue' | 'state'>({
      name: 'carebox_queue_jobs',
      help: 'Jobs per queue and state.',
      labelNames: ['queue', 'state'],
      registers: [registry],
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

  return { registry, httpRequests, httpDuration };
}
