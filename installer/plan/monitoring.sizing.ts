/**
 * Monitoring and alerting (issue 13, item 4): the resources of Prometheus, Alertmanager and the
 * exporters when the stack runs them (`--alerts stack`), and the thresholds of every alert rule,
 * each with its derivation like every other number of the plan. Pure.
 */
import { b, derived, type Derived } from './derived.js';
import type { ContainerLimits, PlanSizing } from './plan.types.js';
import { EXEC_TASKS, PIDS_HEADROOM } from './pids.sizing.js';

const MiB = 1024 ** 2;

/**
 * Where alerts are evaluated:
 * - `stack`: Prometheus, Alertmanager and the exporters run as services of the stack and deliver
 *   by e-mail and webhook (the default for new installs);
 * - `external`: nothing runs; the rules file is rendered (alerts/carebox.rules.yml) for the
 *   hospital's own Prometheus;
 * - `off`: neither (installs made before alerts existed read as `off`).
 */
export const ALERT_MODES = ['stack', 'external', 'off'] as const;
export type AlertMode = (typeof ALERT_MODES)[number];

/** The monitoring services Carebox may run, by Compose service name. */
export const MONITORING_SERVICES = ['prometheus', 'alertmanager', 'node-exporter', 'postgres-exporter', 'redis-exporter', 'blackbox-exporter'] as const;
export type MonitoringService = (typeof MONITORING_SERVICES)[number];

/** Scrape and rule-evaluation interval, seconds: Prometheus's documented example value (15 s). */
export const SCRAPE_INTERVAL_S = 15;
/** Days of samples Prometheus keeps: enough for the 8-day drill rule's context and a week of trends. Our choice. */
export const RETENTION_DAYS = 15;
/**
 * Prometheus's memory: about 8 KiB per active series in the head block (the widely used
 * 3–4 KiB/series rule of thumb for Prometheus 2.x, doubled for compaction and churn), for at most
 * 2,000 series a replica (prom-client's default metrics, about 60, plus the HTTP histogram:
 * routes × methods × statuses × 14 buckets) plus 3,000 for the exporters (node ~1,000, postgres
 * ~500, redis ~300, blackbox and Prometheus's own), plus 48 MiB for the Go runtime and rule
 * evaluation. Rounded up to whole MiB.
 */
export const PROMETHEUS_BASE_BYTES = 48 * MiB;
export const PROMETHEUS_BYTES_PER_SERIES = 8 * 1024;
export const SERIES_PER_REPLICA = 2_000;
export const EXPORTER_SERIES = 3_000;
/** Alertmanager with a handful of routes and silences: 32 MiB (its Go runtime and notification log). */
export const ALERTMANAGER_BYTES = 32 * MiB;
/** Each exporter (node, postgres, redis, blackbox): 24 MiB, a small Go process (about 10–15 MiB resident). */
export const EXPORTER_BYTES = 24 * MiB;
/** CPU caps: evaluation every 15 s is light; caps keep a slow query from taking a core. Our choice. */
export const PROMETHEUS_CPUS = 0.5;
export const SMALL_SERVICE_CPUS = 0.25;
/** Go runtimes start one thread per CPU plus a few; 64 covers that on large hosts. */
export const GO_PROCESS_TASKS = 64;

/** Resources of the monitoring services (null in the plan when the stack runs none). */
export interface MonitoringSizing {
  scrapeIntervalS: number;
  retentionDays: number;
  /** Prometheus's on-disk cap, bytes (`--storage.tsdb.retention.size`). */
  retentionBytes: number;
  limits: Record<MonitoringService, ContainerLimits>;
  pidsLimit: Record<MonitoringService, number>;
}

/** Prometheus's TSDB cap on disk, bytes: 1 GiB, far above 15 days of ~10k series at 15 s (~1.5 bytes per sample). */
export const RETENTION_BYTES = 1024 * MiB;

/**
 * Size the monitoring services for a stack whose backend may be scaled to `maxReplicas` replicas.
 * Returns the sizing and a derivation per figure (keys relative to `sizing.monitoring`).
 */
export function monitoringSizing(maxReplicas: number, cpus: number): { value: MonitoringSizing; derivations: Record<string, string> } {
  const series = maxReplicas * SERIES_PER_REPLICA + EXPORTER_SERIES;
  const promBytes = Math.ceil((PROMETHEUS_BASE_BYTES + series * PROMETHEUS_BYTES_PER_SERIES) / MiB) * MiB;
  const cap = (x: number) => Math.min(x, Math.max(0.1, cpus));
  const small = { cpus: cap(SMALL_SERVICE_CPUS), memoryBytes: EXPORTER_BYTES };
  const pids = GO_PROCESS_TASKS + EXEC_TASKS + PIDS_HEADROOM;
  const value: MonitoringSizing = {
    scrapeIntervalS: SCRAPE_INTERVAL_S,
    retentionDays: RETENTION_DAYS,
    retentionBytes: RETENTION_BYTES,
    limits: {
      prometheus: { cpus: cap(PROMETHEUS_CPUS), memoryBytes: promBytes },
      alertmanager: { cpus: cap(SMALL_SERVICE_CPUS), memoryBytes: ALERTMANAGER_BYTES },
      'node-exporter': small,
      'postgres-exporter': small,
      'redis-exporter': small,
      'blackbox-exporter': small,
    },
    pidsLimit: { prometheus: pids, alertmanager: pids, 'node-exporter': pids, 'postgres-exporter': pids, 'redis-exporter': pids, 'blackbox-exporter': pids },
  };
  return {
    value,
    derivations: {
      scrapeIntervalS: `scrape and rule evaluation every ${SCRAPE_INTERVAL_S} s (Prometheus's documented example)`,
      retentionDays: `${RETENTION_DAYS} days of samples (our choice: the 8-day drill rule plus a week of trends)`,
      retentionBytes: `at most ${b(RETENTION_BYTES)} of samples on disk (about 10,000 series × 15 days × 5,760 samples/day × 1.5 bytes ≈ 1.3 GB uncompressed worst case; the cap wins)`,
      'limits.prometheus.memoryBytes': `Prometheus ${b(promBytes)} = ${b(PROMETHEUS_BASE_BYTES)} runtime + ${series} series (${maxReplicas} replicas at most × ${SERIES_PER_REPLICA} + ${EXPORTER_SERIES} exporter series) × ${PROMETHEUS_BYTES_PER_SERIES / 1024} KiB`,
      'limits.prometheus.cpus': `Prometheus ${cap(PROMETHEUS_CPUS)} CPU (our cap: evaluation every ${SCRAPE_INTERVAL_S} s is light)`,
      'limits.alertmanager.memoryBytes': `Alertmanager ${b(ALERTMANAGER_BYTES)} (Go runtime, notification log, silences)`,
      'limits.exporters.memoryBytes': `node, postgres, redis and blackbox (TLS certificate probe) exporters ${b(EXPORTER_BYTES)} each`,
      pidsLimit: `pids ${pids} = ${GO_PROCESS_TASKS} Go runtime threads + ${EXEC_TASKS} exec + ${PIDS_HEADROOM} headroom`,
    },
  };
}

/** Total memory limit of the monitoring services, bytes (enters the plan's memory budget). */
export function monitoringBytes(m: MonitoringSizing): number {
  return Object.values(m.limits).reduce((s, l) => s + l.memoryBytes, 0);
}

/** Alert thresholds the rules are rendered with; every figure has a derivation under `alerts.*`. */
export interface AlertThresholds {
  /** Free-disk fractions: warning below `diskFreeWarn`, critical below `diskFreeCrit` (0..1). */
  diskFreeWarn: number;
  diskFreeCrit: number;
  /** Look-back and horizon of the disk-fill prediction (predict_linear), hours. */
  diskFillLookbackH: number;
  diskFillHorizonH: number;
  /** Longest age of the last verified backup, hours. */
  backupMaxAgeH: number;
  /** Longest age of the last passing restore drill, days. */
  drillMaxAgeD: number;
  /** TLS certificate: warning and critical days before expiry. */
  certWarnDays: number;
  certCritDays: number;
  /** PostgreSQL connections (all backends) above this count: 80 % of max_connections − reserved. */
  postgresConnections: number;
  /** Redis connected clients above this count: 80 % of maxclients. */
  redisClients: number;
  /** Backend replicas the plan runs; fewer ready for 2 min fires. */
  backendReplicas: number;
  /** Fraction of 5xx answers (0..1) over 10 min. */
  errorRatio: number;
  /** p95 target of requests, seconds (the plan's capacity basis: p95 ≤ 200 ms). */
  p95Seconds: number;
  /** `for:` durations, e.g. `2m`; a test-only setting may shorten them (CAREBOX_ALERT_FOR_SCALE). */
  for: { replicasDown: string; serviceDown: string; http: string; queueGrowing: string; capacity: string; disk: string };
}

/** Fraction of a capacity (connections, clients) that warns: 80 % (issue 13). */
export const CAPACITY_ALERT_FRACTION = 0.8;
/** The p95 the capacity estimate promises (capacity.estimate.ts: req/s at p95 ≤ 200 ms). */
export const P95_TARGET_SECONDS = 0.2;

/**
 * The thresholds of every rule from the plan's sizing, with derivations (keys under `alerts.`).
 * `forScale` (tests only) multiplies every `for:` duration (1 in production).
 */
export function alertThresholds(
  s: Pick<PlanSizing, 'postgres' | 'redis' | 'backend'>,
  forScale = 1,
): { value: AlertThresholds; derivations: Record<string, string> } {
  const pgUsable = s.postgres.maxConnections - s.postgres.superuserReservedConnections;
  const pg = Math.floor(pgUsable * CAPACITY_ALERT_FRACTION);
  const redis = Math.floor(s.redis.maxClients * CAPACITY_ALERT_FRACTION);
  const dur = (seconds: number) => `${Math.max(1, Math.round(seconds * forScale))}s`;
  const th: Record<string, Derived> = {
    postgresConnections: derived(
      pg,
      `${pg} = floor(80 % × (max_connections ${s.postgres.maxConnections} − superuser_reserved_connections ${s.postgres.superuserReservedConnections}))`,
    ),
    redisClients: derived(redis, `${redis} = floor(80 % × maxclients ${s.redis.maxClients})`),
    backendReplicas: derived(s.backend.replicas, `${s.backend.replicas} = sizing.backend.replicas; fewer ready for 2 minutes fires`),
  };
  return {
    value: {
      diskFreeWarn: 0.15,
      diskFreeCrit: 0.05,
      diskFillLookbackH: 6,
      diskFillHorizonH: 24,
      backupMaxAgeH: 26,
      drillMaxAgeD: 8,
      certWarnDays: 21,
      certCritDays: 7,
      postgresConnections: th.postgresConnections!.value,
      redisClients: th.redisClients!.value,
      backendReplicas: th.backendReplicas!.value,
      errorRatio: 0.05,
      p95Seconds: P95_TARGET_SECONDS,
      for: { replicasDown: dur(120), serviceDown: dur(60), http: dur(600), queueGrowing: dur(900), capacity: dur(300), disk: dur(300) },
    },
    derivations: {
      'alerts.diskFree': "warning below 15 % free, critical below 5 % (issue 13); checked on the install root and Docker's data root",
      'alerts.diskFill': 'predict_linear over the last 6 h says the disk is full within 24 h',
      'alerts.backupMaxAgeH': '26 h = the daily schedule + 2 h for a slow run (issue 13); counted from the install until the first verified backup',
      'alerts.drillMaxAgeD': '8 days = a weekly drill + 1 day (issue 13); counted from the install until the first passing drill',
      'alerts.cert': 'TLS certificate: warning 21 days before expiry, critical 7 days (issue 13)',
      'alerts.postgresConnections': th.postgresConnections!.derivation,
      'alerts.redisClients': th.redisClients!.derivation,
      'alerts.backendReplicas': th.backendReplicas!.derivation,
      'alerts.errorRatio': '5xx above 5 % of answers for 10 minutes (issue 13)',
      'alerts.p95Seconds': `p95 above ${P95_TARGET_SECONDS * 1000} ms for 10 minutes: the p95 the capacity estimate is stated at (capacity.estimate.ts)`,
    },
  };
}
