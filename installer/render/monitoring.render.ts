/**
 * Prometheus's scrape configuration, the alert rules and Alertmanager's configuration, rendered
 * from the plan (issue 13, item 4). Pure: data built here, serialized with the yaml library.
 * The same rules file serves `--alerts external` (a hospital's own Prometheus).
 */
import { stringify } from 'yaml';
import type { Plan } from '../plan/plan.types.js';
import { alertThresholds, type AlertThresholds } from '../plan/monitoring.sizing.js';

/** Where alerts go (carebox.json `alerts`; install --alert-email / --alert-webhook). */
export interface AlertSettings {
  /** E-mail recipients; mail goes through the SMTP server of .env's SMTP_URL. */
  email: string[];
  /** An HTTP(S) URL that receives Alertmanager's webhook JSON, or null. */
  webhookUrl: string | null;
  /**
   * Test-only: multiplies every rule's `for:` and Alertmanager's group waits (CAREBOX_TEST_ALERT_FOR_SCALE
   * at install). Absent in production (1).
   */
  forScale?: number;
}

/** Files of the monitoring services, relative to the install root. */
export const MONITORING_FILES = {
  prometheus: 'monitoring/prometheus.yml',
  rules: 'monitoring/carebox.rules.yml',
  blackbox: 'monitoring/blackbox.yml',
  /** Holds the SMTP password and the webhook URL: a Compose secret (secrets/ is 0700). */
  alertmanager: 'secrets/alertmanager.yml',
  /** redis_exporter's password file (JSON: Redis URI → password). */
  redisExporterPasswords: 'secrets/redis-exporter-passwords.json',
} as const;

/** Mount point of the install root and of Docker's data root inside node-exporter (read-only). */
export const NODE_EXPORTER_MOUNTS = { installRoot: '/host/carebox', dockerRoot: '/host/docker' } as const;

/** Ports the monitoring services listen on inside the stack's network. */
export const MONITORING_PORTS = {
  prometheus: 9090,
  alertmanager: 9093,
  node: 9100,
  postgres: 9187,
  redis: 9121,
  blackbox: 9115,
  backend: 3000,
  nginxTls: 8443,
} as const;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string };
}

/** Requests of people and integrations: health checks and scrapes are not traffic (an idle night would be all /ready). */
const TRAFFIC = 'route!~"/health|/ready|/metrics"';
const fsSelTmpfsOk = `job="node",mountpoint=~"${NODE_EXPORTER_MOUNTS.installRoot}|${NODE_EXPORTER_MOUNTS.dockerRoot}"`;

/**
 * The time the age rules count from: the last success `metric`, or the install time
 * (carebox_install_timestamp_seconds) while there was no success since the install, so a fresh
 * install does not alert before its first backup or drill could have run. A metrics file without
 * the install time (written before it existed) falls back to the last success alone. Both series
 * come from the same textfile, so their labels match; comparison keeps the left sample, `or`
 * keeps the first present.
 */
function sinceLast(metric: string): string {
  const installed = 'carebox_install_timestamp_seconds';
  return `(${metric} > ${installed} or ${installed} or ${metric})`;
}

/**
 * The alert rules for thresholds `t` (see AlertThresholds for units). Every alert carries
 * `severity` and a description saying what to do. Pure.
 */
export function alertRules(t: AlertThresholds): Rule[] {
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  // Both mount points are node-exporter's own read-only bind mounts (install root, Docker's data root).
  const free = `node_filesystem_avail_bytes{${fsSelTmpfsOk}} / node_filesystem_size_bytes{${fsSelTmpfsOk}}`;
  return [
    {
      alert: 'DiskSpaceLow',
      expr: `${free} < ${t.diskFreeWarn}`,
      for: t.for.disk,
      labels: { severity: 'warning' },
      annotations: {
        summary: `Disk below ${pct(t.diskFreeWarn)} free on {{ $labels.mountpoint }}`,
        description: 'Free space is {{ $value | humanizePercentage }}. Remove old backups or grow the disk before PostgreSQL stops writing.',
      },
    },
    {
      alert: 'DiskSpaceCritical',
      expr: `${free} < ${t.diskFreeCrit}`,
      for: t.for.disk,
      labels: { severity: 'critical' },
      annotations: {
        summary: `Disk below ${pct(t.diskFreeCrit)} free on {{ $labels.mountpoint }}`,
        description: 'Free space is {{ $value | humanizePercentage }}. PostgreSQL and Redis stop writing on a full disk: free space now.',
      },
    },
    {
      alert: 'DiskWillFillIn24h',
      expr: `predict_linear(node_filesystem_avail_bytes{${fsSelTmpfsOk}}[${t.diskFillLookbackH}h], ${t.diskFillHorizonH} * 3600) < 0`,
      for: t.for.disk,
      labels: { severity: 'warning' },
      annotations: {
        summary: `Disk on {{ $labels.mountpoint }} fills within ${t.diskFillHorizonH} h at the current rate`,
        description: `The last ${t.diskFillLookbackH} h of use predict a full disk within ${t.diskFillHorizonH} h.`,
      },
    },
    {
      alert: 'BackupMissing',
      expr: `time() - ${sinceLast('carebox_backup_last_success_timestamp_seconds')} > ${t.backupMaxAgeH} * 3600`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `No verified backup for more than ${t.backupMaxAgeH} h`,
        description: 'See `carebox backup schedule` and the operations log (`carebox history`).',
      },
    },
    {
      alert: 'BackupFailed',
      expr: 'carebox_backup_last_attempt_success == 0 and carebox_backup_last_attempt_timestamp_seconds > 0',
      labels: { severity: 'critical' },
      annotations: { summary: 'The last backup failed', description: 'See `carebox history` for the reason; run `carebox backup` once the cause is fixed.' },
    },
    {
      alert: 'BackupScheduleMissed',
      expr: 'carebox_backup_schedule_missed == 1',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'A scheduled backup was missed',
        description: 'The stack was down at the scheduled time; the catch-up run has not succeeded yet.',
      },
    },
    {
      alert: 'BackupRefusedNoSpace',
      expr: 'carebox_backup_refused_timestamp_seconds > carebox_backup_last_success_timestamp_seconds',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'A backup was refused: not enough disk space',
        description: 'Free space on the backup disk (or lower the retention) and run `carebox backup`.',
      },
    },
    {
      alert: 'RestoreDrillMissing',
      expr: `time() - ${sinceLast('carebox_restore_drill_last_success_timestamp_seconds')} > ${t.drillMaxAgeD} * 86400`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `No passing restore drill for more than ${t.drillMaxAgeD} days`,
        description: 'A backup that was never restored is not known to restore. See `carebox history`.',
      },
    },
    {
      alert: 'RestoreDrillFailed',
      // Only after a drill ran: before the first one the gauge reads 0 too. The reason label
      // (scratch_failed, restore_failed, data_mismatch, migrations_missing, error) rides along.
      expr: 'carebox_restore_drill_last_attempt_success == 0 and ignoring(reason) carebox_restore_drill_last_attempt_timestamp_seconds > 0',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The last restore drill failed ({{ $labels.reason }})',
        description:
          'Reason: {{ $labels.reason }}. The full message is the drill result in carebox.json (`carebox backup schedule --json`); see also `carebox history`.',
      },
    },
    {
      alert: 'TlsCertificateExpiresSoon',
      expr: `probe_ssl_earliest_cert_expiry{job="tls"} - time() < ${t.certWarnDays} * 86400`,
      labels: { severity: 'warning' },
      annotations: {
        summary: `The TLS certificate expires within ${t.certWarnDays} days`,
        description: 'Expires {{ $value | humanizeDuration }} from now. Install the renewed one with `carebox install --tls-cert FILE --tls-key FILE`.',
      },
    },
    {
      alert: 'TlsCertificateExpiresVerySoon',
      expr: `probe_ssl_earliest_cert_expiry{job="tls"} - time() < ${t.certCritDays} * 86400`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `The TLS certificate expires within ${t.certCritDays} days`,
        description: 'Expires {{ $value | humanizeDuration }} from now. Browsers will refuse the site: renew it now.',
      },
    },
    {
      alert: 'PostgresConnectionsHigh',
      expr: `sum(pg_stat_database_numbackends) > ${t.postgresConnections}`,
      for: t.for.capacity,
      labels: { severity: 'warning' },
      annotations: {
        summary: `PostgreSQL connections above ${t.postgresConnections} (80 % of max_connections minus the reserved slots)`,
        description: '{{ $value }} connections. A pool leak or more replicas than planned; see `carebox status`.',
      },
    },
    {
      alert: 'RedisClientsHigh',
      expr: `redis_connected_clients > ${t.redisClients}`,
      for: t.for.capacity,
      labels: { severity: 'warning' },
      annotations: { summary: `Redis clients above ${t.redisClients} (80 % of maxclients)`, description: '{{ $value }} clients connected.' },
    },
    {
      alert: 'BackendReplicasMissing',
      expr: `(count(up{job="backend"} == 1) or vector(0)) < ${t.backendReplicas}`,
      for: t.for.replicasDown,
      labels: { severity: 'critical' },
      annotations: {
        summary: `Fewer than ${t.backendReplicas} backend replicas are ready`,
        description: '{{ $value }} ready. See `carebox status` and `carebox logs backend`.',
      },
    },
    {
      alert: 'PostgresDown',
      expr: 'pg_up == 0 or absent(pg_up)',
      for: t.for.serviceDown,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'PostgreSQL is down',
        description: 'Every request that reads or writes records fails. See `carebox status` and `carebox logs db`.',
      },
    },
    {
      alert: 'RedisDown',
      expr: 'redis_up == 0 or absent(redis_up)',
      for: t.for.serviceDown,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Redis is down',
        description: 'Sign-in, sessions and the job queue stop working. See `carebox status` and `carebox logs redis`.',
      },
    },
    {
      alert: 'RedisRefusesWrites',
      expr: 'redis_aof_last_write_status == 0 or redis_rdb_last_bgsave_status == 0 or (redis_memory_max_bytes > 0 and redis_memory_used_bytes >= redis_memory_max_bytes)',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Redis refuses writes (MISCONF after a failed save, or out of memory)',
        description: 'The API answers 503 STORE_REFUSES_WRITES. Free disk space (or memory), then check `carebox logs redis`.',
      },
    },
    {
      alert: 'HttpErrorRateHigh',
      expr: `sum(rate(carebox_http_requests_total{status_code=~"5..",${TRAFFIC}}[5m])) / sum(rate(carebox_http_requests_total{${TRAFFIC}}[5m])) > ${t.errorRatio}`,
      for: t.for.http,
      labels: { severity: 'critical' },
      annotations: {
        summary: `More than ${pct(t.errorRatio)} of requests fail with 5xx`,
        description: '{{ $value | humanizePercentage }} of answers are server errors. See `carebox logs backend`.',
      },
    },
    {
      alert: 'HttpLatencyHigh',
      expr: `histogram_quantile(0.95, sum by (le) (rate(carebox_http_request_duration_seconds_bucket{${TRAFFIC}}[5m]))) > ${t.p95Seconds}`,
      for: t.for.http,
      labels: { severity: 'warning' },
      annotations: {
        summary: `p95 latency above ${t.p95Seconds * 1000} ms (the plan's target)`,
        description: 'p95 is {{ $value | humanizeDuration }}. More staff than planned? See `carebox plan` and `carebox loadtest`.',
      },
    },
    {
      alert: 'QueueGrowing',
      expr: 'deriv(max by (queue) (carebox_queue_jobs{state="waiting"})[5m:]) > 0 and max by (queue) (carebox_queue_jobs{state="waiting"}) > 0',
      for: t.for.queueGrowing,
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Queue {{ $labels.queue }} keeps growing',
        description: 'Waiting jobs have grown without pause. Are the queue workers up? See `carebox status`.',
      },
    },
    {
      alert: 'ContainerKilledForMemory',
      expr: 'increase(node_vmstat_oom_kill[5m]) > 0',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The kernel killed a process for lack of memory',
        description: 'A container hit its memory limit (or the host ran out). `carebox status` shows which one restarted.',
      },
    },
  ];
}

/** The rules file (Prometheus rule-group format) for a plan. Pure. */
export function renderAlertRules(plan: Plan, forScale = 1): string {
  const t = alertThresholds(plan.sizing, forScale).value;
  return (
    `# Carebox alert rules for tier ${plan.tier}, rendered from the plan (thresholds and their\n` +
    '# derivations: `carebox plan --json`, derivations."alerts.*"). Do not edit: re-rendered by install.\n' +
    '# For a hospital Prometheus (--alerts external): load this file with rule_files and scrape the\n' +
    '# backends\' /metrics (job "backend"), node_exporter (job "node", install root mounted at\n' +
    `# ${NODE_EXPORTER_MOUNTS.installRoot}), postgres_exporter, redis_exporter and a blackbox TLS probe (job "tls").\n` +
    stringify({ groups: [{ name: 'carebox', rules: alertRules(t) }] }, { lineWidth: 0 })
  );
}

/** Options of the Prometheus configuration that are not in the plan. */
export interface PrometheusOptions {
  project: string;
  /** True when nginx terminates TLS: the certificate is probed on nginx:8443. */
  tls: boolean;
  forScale?: number;
}

/** prometheus.yml: scrape every backend replica by DNS, the exporters, and send to Alertmanager. Pure. */
export function renderPrometheusConfig(plan: Plan, opts: PrometheusOptions): string {
  const m = plan.sizing.monitoring;
  // The test-only scale (CAREBOX_TEST_ALERT_FOR_SCALE) shortens scrapes too, to at least 2 s.
  const scale = opts.forScale ?? 1;
  const base = m?.scrapeIntervalS ?? 15;
  const interval = `${scale === 1 ? base : Math.max(2, Math.round(base * scale))}s`;
  const scrape = (job: string, target: string) => ({ job_name: job, static_configs: [{ targets: [target] }] });
  const configs: Record<string, unknown>[] = [
    // Every replica: Docker's DNS answers `backend` with one A record per container.
    { job_name: 'backend', dns_sd_configs: [{ names: ['backend'], type: 'A', port: MONITORING_PORTS.backend, refresh_interval: interval }] },
    scrape('node', `node-exporter:${MONITORING_PORTS.node}`),
    scrape('postgres', `postgres-exporter:${MONITORING_PORTS.postgres}`),
    scrape('redis', `redis-exporter:${MONITORING_PORTS.redis}`),
    scrape('prometheus', `127.0.0.1:${MONITORING_PORTS.prometheus}`),
    scrape('alertmanager', `alertmanager:${MONITORING_PORTS.alertmanager}`),
  ];
  if (opts.tls) {
    configs.push({
      job_name: 'tls',
      metrics_path: '/probe',
      params: { module: ['tls_connect'] },
      static_configs: [{ targets: [`nginx:${MONITORING_PORTS.nginxTls}`] }],
      relabel_configs: [
        { source_labels: ['__address__'], target_label: '__param_target' },
        { source_labels: ['__param_target'], target_label: 'instance' },
        { target_label: '__address__', replacement: `blackbox-exporter:${MONITORING_PORTS.blackbox}` },
      ],
    });
  }
  const doc = {
    global: { scrape_interval: interval, evaluation_interval: interval, external_labels: { carebox_project: opts.project } },
    rule_files: ['/etc/prometheus/carebox/carebox.rules.yml'],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [`alertmanager:${MONITORING_PORTS.alertmanager}`] }] }] },
    scrape_configs: configs,
  };
  return `# Rendered by Carebox from the plan (tier ${plan.tier}). Do not edit.\n${stringify(doc, { lineWidth: 0 })}`;
}

/** blackbox.yml: one module that opens TLS to the edge and reports the certificate's expiry. */
export function renderBlackboxConfig(): string {
  // The edge's certificate is for the hospital's name, not `nginx`: only its dates matter here.
  const doc = { modules: { tls_connect: { prober: 'tcp', timeout: '5s', tcp: { tls: true, tls_config: { insecure_skip_verify: true } } } } };
  return `# Rendered by Carebox. Do not edit.\n${stringify(doc)}`;
}

/** SMTP settings parsed from SMTP_URL (`smtp://user:pass@host:port` or `smtps://…`). */
export interface SmtpSettings {
  smarthost: string;
  username: string | null;
  password: string | null;
  /** smtps:// (implicit TLS) or smtp:// with STARTTLS required. */
  requireTls: boolean;
}

/**
 * Parse the server's SMTP_URL (server/src/config/env.config.ts) into Alertmanager's settings.
 * `smtp://` without TLS to a relay on the hospital network is allowed (require_tls false) unless
 * the URL says `?requireTLS=true`; `smtps://` is implicit TLS (port 465 by default).
 * Returns null for an empty or unparsable URL (mail is then not configured).
 */
export function parseSmtpUrl(url: string | undefined | null): SmtpSettings | null {
  if (!url) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') return null;
  const secure = u.protocol === 'smtps:';
  const port = u.port || (secure ? '465' : '25');
  return {
    smarthost: `${u.hostname}:${port}`,
    username: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
    requireTls: secure || u.searchParams.get('requireTLS') === 'true',
  };
}

/** Inputs of Alertmanager's configuration. */
export interface AlertmanagerInput {
  settings: AlertSettings;
  smtpUrl: string | null;
  mailFrom: string;
  project: string;
}

/**
 * alertmanager.yml: one receiver with the e-mail (when SMTP_URL and recipients are set) and the
 * webhook (when a URL is set); alerts are grouped by name. Holds the SMTP password: written as a
 * Compose secret. Pure.
 */
export function renderAlertmanagerConfig(input: AlertmanagerInput): string {
  const scale = input.settings.forScale ?? 1;
  const dur = (s: number) => `${Math.max(1, Math.round(s * scale))}s`;
  const smtp = parseSmtpUrl(input.smtpUrl);
  const receiver: Record<string, unknown> = { name: 'carebox' };
  const global: Record<string, unknown> = {};
  if (smtp && input.settings.email.length > 0) {
    global.smtp_smarthost = smtp.smarthost;
    global.smtp_from = input.mailFrom;
    global.smtp_require_tls = smtp.requireTls;
    if (smtp.username) global.smtp_auth_username = smtp.username;
    if (smtp.password) global.smtp_auth_password = smtp.password;
    global.smtp_hello = 'carebox';
    receiver.email_configs = [
      {
        to: input.settings.email.join(', '),
        send_resolved: true,
        headers: { Subject: `[carebox ${input.project}] {{ .Status | toUpper }} {{ .GroupLabels.alertname }}` },
      },
    ];
  }
  if (input.settings.webhookUrl) receiver.webhook_configs = [{ url: input.settings.webhookUrl, send_resolved: true }];
  const doc = {
    ...(Object.keys(global).length > 0 ? { global } : {}),
    route: { receiver: 'carebox', group_by: ['alertname'], group_wait: dur(30), group_interval: dur(300), repeat_interval: '4h' },
    receivers: [receiver],
  };
  return `# Rendered by Carebox from carebox.json "alerts" and .env SMTP_URL. Do not edit.\n${stringify(doc, { lineWidth: 0 })}`;
}

/** redis_exporter's password file: the stack's Redis URI → the password (a Compose secret). */
export function renderRedisExporterPasswords(redisPassword: string): string {
  return `${JSON.stringify({ 'redis://redis:6379': redisPassword })}\n`;
}
