/**
 * The one place that maps the server's metric names to what the console shows. The names are the
 * server's own, from server/src/observability/metrics.registry.ts; a unit test builds that registry
 * and fails when a name here no longer exists there (the console imports nothing from server/).
 */
export const SERVER_METRICS = {
  /** Counter of answered requests, labels method/route/status_code. → req/s and error rate. */
  requests: 'carebox_http_requests_total',
  /** Histogram of request durations in seconds (`_bucket{le}`), same labels. → p95 latency. */
  duration: 'carebox_http_request_duration_seconds',
  /** Gauges of the knex pool of each process, in connections. → DB pool panel. */
  poolUsed: 'carebox_db_pool_used',
  poolFree: 'carebox_db_pool_free',
  poolPending: 'carebox_db_pool_pending',
  poolMax: 'carebox_db_pool_max',
  /** Gauge of jobs per queue and state (waiting/active/delayed/succeeded/failed). → queue panel. */
  queueJobs: 'carebox_queue_jobs',
} as const;

/**
 * Gauge the cluster primary adds when it merges its web workers' registries into one scrape
 * (server/src/observability/cluster-metrics.ts), label `state` = reporting | missing. Absent with a
 * single worker. Missing workers mean the figures of that scrape are partial.
 */
export const CLUSTER_WORKERS_METRIC = 'carebox_cluster_workers';

/** Label names the console reads from those metrics. */
export const SERVER_LABELS = {
  status: 'status_code',
  route: 'route',
  queue: 'queue',
  state: 'state',
  /** Histogram bucket upper bound (Prometheus' own). */
  le: 'le',
} as const;

/**
 * Routes left out of request rate, latency and error rate: the dashboard's own scrape of
 * `/metrics` would otherwise show up as traffic (one request per target per refresh).
 */
export const EXCLUDED_ROUTES: ReadonlySet<string> = new Set(['/metrics']);

/** Queue states in the order the dashboard lists them. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'succeeded'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** TCP port the backend listens on inside its container when its env has no PORT (the server's default). */
export const DEFAULT_BACKEND_PORT = 3000;
