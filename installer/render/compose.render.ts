import { parse, stringify, Document } from 'yaml';
import type { Plan } from '../plan/plan.types.js';
import type { StackImages } from './images.map.js';
import { lintCompose } from './compose.lint.js';
import type { PidsLimits } from '../plan/pids.sizing.js';
import { composeLogging, type LogLimits } from '../plan/logs.sizing.js';
import { completePlan, type CompleteSizing } from '../plan/plan.complete.js';
import { nginxTempBytes as planNginxTempBytes } from '../plan/service.sizing.js';
import { MONITORING_SERVICES, type MonitoringService, type MonitoringSizing } from '../plan/monitoring.sizing.js';
import { LEGACY_SCHEDULER_MEMORY_BYTES, SCHEDULER_PIDS } from '../plan/scheduler.sizing.js';
import { NODE_EXPORTER_MOUNTS, type AlertSettings } from './monitoring.render.js';

/** Options of the edge and the project that are not sizing. */
export interface StackOptions {
  /** Compose project name (labels `com.docker.compose.project`). */
  project: string;
  /** Host port nginx publishes. */
  httpPort: number;
  /** Host address nginx publishes on (`0.0.0.0` for the LAN, `127.0.0.1` for tests). */
  bindAddress: string;
  /** Carebox version, recorded in the x-carebox header. */
  version: string;
  /**
   * Host port of HTTPS when nginx terminates TLS (installer/apply/edge.tls.ts), else null or
   * absent. With TLS, HTTPS is published on bindAddress and HTTP on 127.0.0.1 only.
   */
  httpsPort?: number | null;
  /**
   * The hospital's reverse proxies in front of nginx (install --trusted-proxy), CIDRs. nginx takes
   * the client address from their X-Forwarded-For and from nobody else's (nginx.conf.eta).
   */
  trustedProxies?: string[];
  /** Docker's data root (facts.docker.dataRoot): node-exporter watches its filesystem. */
  dockerRoot?: string | null;
  /** Where alerts go (carebox.json `alerts`); absent: nowhere but `carebox alerts`. */
  alerts?: AlertSettings | null;
  /**
   * Absolute install root. With it and `images.scheduler` (the Carebox CLI image), the stack gets
   * its `scheduler` service (scheduled backups, console/ops/scheduler.ops.ts), which mounts the
   * root at the same path (Compose and restic resolve bind mounts on the host's daemon).
   */
  installRoot?: string;
}

// The scheduler's figures live in the plan layer (scheduler.sizing.ts); re-exported for the render's callers.
export { LEGACY_SCHEDULER_MEMORY_BYTES, SCHEDULER_PIDS };
/** File the scheduler touches every 10 s (console/ops/scheduler.ops.ts); its healthcheck reads the age. */
export const SCHEDULER_HEARTBEAT = '/tmp/carebox-scheduler.alive';

/**
 * Proxy hops the server trusts for the client address (Express `trust proxy`, TRUST_PROXY): exactly
 * one, the stack's nginx, the only way in (backends publish no port). nginx has already replaced
 * its peer's address by the client's when the peer is a trusted proxy, and appends that address
 * last to X-Forwarded-For, so anything a client wrote into the header itself is ignored.
 */
export const EDGE_PROXY_HOPS = 1;

/**
 * What nginx's /tmp tmpfs may hold, bytes (the plan's `sizing.nginx.tempBytes`; the formula and its
 * reasons: service.sizing.ts nginxTempBytes). Pure.
 */
export function nginxTempBytes(bodyLimitBytes: number): number {
  return planNginxTempBytes(bodyLimitBytes).value;
}

/**
 * Least privilege for every service: read-only root filesystem (writes go to tmpfs and volumes),
 * no capabilities beyond the template's `cap_add`, no privilege gain through setuid binaries, and
 * the plan's pids limit, and log rotation (the plan's log limits). Mutates `service`.
 */
function harden(service: Service, pids: number, logs: LogLimits): void {
  service.read_only = true;
  service.cap_drop = ['ALL'];
  service.security_opt = ['no-new-privileges:true'];
  service.pids_limit = pids;
  // Bounded logs: Docker rotates each container's log at max-size and keeps max-file files.
  service.logging = composeLogging(logs);
}

type Service = Record<string, unknown> & { environment?: Record<string, string>; image?: string };
type ComposeDoc = { services: Record<string, Service>; [k: string]: unknown };

/** Docker memory string for bytes that are whole MiB (`368m`), else bytes. */
export function memString(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)}m` : String(bytes);
}

const IMAGE_SLOTS: Record<string, keyof StackImages> = {
  '@postgres': 'postgres',
  '@redis': 'redis',
  '@nginx': 'nginx',
  '@pgbouncer': 'pgbouncer',
  '@server': 'server',
  '@prometheus': 'prometheus',
  '@alertmanager': 'alertmanager',
  '@nodeExporter': 'nodeExporter',
  '@postgresExporter': 'postgresExporter',
  '@redisExporter': 'redisExporter',
  '@blackboxExporter': 'blackboxExporter',
};

/**
 * Render compose.yml: parse the template as data, fill in images, replicas, limits and the
 * sizing environment from the plan, drop PgBouncer when the plan has none, lint, serialize.
 * Pure and deterministic: the same inputs give byte-identical YAML.
 * @throws Error when the template references an unknown image slot or the result fails the lint
 *   (a bug in the template or renderer, not an operator error).
 */
export function renderCompose(recorded: Plan, images: StackImages, opts: StackOptions, template: string): string {
  // Every figure comes from the plan (completePlan derives those an older manifest lacks): nothing is computed here.
  const plan = completePlan(recorded);
  const doc = parse(template) as ComposeDoc;
  const s = plan.sizing;
  const svc = doc.services;
  // --alerts external or off: the stack runs no monitoring (the rules file is rendered apart).
  if (!s.monitoring) dropMonitoring(doc);
  fillImages(svc, images);
  for (const [name, service] of Object.entries(svc)) {
    const n = s.monitoring && name in s.monitoring.pidsLimit ? s.monitoring.pidsLimit[name as MonitoringService] : s.pidsLimit[name as keyof PidsLimits];
    if (n === undefined) throw new Error(`compose template: the plan has no pids limit for service ${name}`);
    harden(service, n, s.logs);
  }
  // Each step below sets its services' keys in the order Compose files have always had them.
  sizeDataServices(doc, s);
  sizeAppServices(svc, s);
  sizeEdge(svc.nginx!, s, opts);
  if (s.monitoring) sizeMonitoring(svc, s.monitoring, opts);
  if (images.scheduler && opts.installRoot && plan.intent.backups !== 'manual') {
    svc.scheduler = schedulerService(images.scheduler, opts.installRoot, s);
  }
  return serializeCompose(doc, plan.tier, opts);
}

/** Remove the monitoring services and their volumes and secrets from the template. Mutates `doc`. */
function dropMonitoring(doc: ComposeDoc): void {
  for (const name of MONITORING_SERVICES) delete doc.services[name];
  for (const v of ['prometheus-data', 'alertmanager-data']) delete (doc.volumes as Record<string, unknown> | undefined)?.[v];
  for (const k of ['alertmanager-config', 'redis-exporter-passwords']) delete (doc.secrets as Record<string, unknown> | undefined)?.[k];
}

/**
 * Replace each `@slot` image with the stack's image and label every service as Carebox's. Mutates `svc`.
 * @throws Error on an unknown slot or a slot without an image (a template bug).
 */
function fillImages(svc: Record<string, Service>, images: StackImages): void {
  for (const [name, service] of Object.entries(svc)) {
    const slot = typeof service.image === 'string' ? IMAGE_SLOTS[service.image] : undefined;
    if (typeof service.image === 'string' && service.image.startsWith('@')) {
      if (!slot) throw new Error(`compose template: service ${name} has unknown image slot ${service.image}`);
      const ref = images[slot];
      if (!ref) throw new Error(`compose template: no image for ${slot} (service ${name})`);
      service.image = ref;
    }
    // No tier label: labels are part of Compose's config hash, so a tier label would make every
    // re-tier recreate every container (nginx included). The tier is in `x-carebox` and the manifest.
    service.labels = { 'com.carebox.managed': 'true' };
  }
}

/** A service's `cpus:` and `mem_limit:` from the plan's limits. Mutates `service`. */
function setLimits(service: Service, l: { cpus: number; memoryBytes: number }): void {
  service.cpus = l.cpus;
  service.mem_limit = memString(l.memoryBytes);
}

/**
 * PostgreSQL (limits, /dev/shm, grace period), Redis, PgBouncer (or its removal with its secret),
 * and the grace periods of Redis and nginx. Mutates `doc`.
 */
function sizeDataServices(doc: ComposeDoc, s: CompleteSizing): void {
  const svc = doc.services;
  const db = svc.db!;
  setLimits(db, s.postgres.limits);
  // /dev/shm holds parallel-query shared memory (postgres.sizing.ts pgSharedMemory).
  db.shm_size = memString(s.postgres.shmSizeBytes);
  db.stop_grace_period = `${s.stopGraceS.db}s`;
  svc.redis!.stop_grace_period = `${s.stopGraceS.redis}s`;
  svc.nginx!.stop_grace_period = `${s.stopGraceS.nginx}s`;
  setLimits(svc.redis!, s.redis.limits);
  if (s.pgbouncer) {
    setLimits(svc.pgbouncer!, s.pgbouncer.limits);
  } else {
    delete svc.pgbouncer;
    delete (doc.secrets as Record<string, unknown> | undefined)?.['pgbouncer-userlist'];
  }
}

/** The backends and queue workers: limits, replicas, grace periods, dependencies and their sizing environment. Mutates `svc`. */
function sizeAppServices(svc: Record<string, Service>, s: CompleteSizing): void {
  const viaPgbouncer = s.pgbouncer !== null;
  const dbEnv = {
    DATABASE_HOST: viaPgbouncer ? 'pgbouncer' : 'db',
    DATABASE_PORT: viaPgbouncer ? '6432' : '5432',
    DB_PGBOUNCER: String(viaPgbouncer),
  };
  const appDepends = { ...(svc.backend!.depends_on as Record<string, unknown>) };
  if (s.pgbouncer) appDepends.pgbouncer = { condition: 'service_healthy' };

  const backend = svc.backend!;
  setLimits(backend, s.backend.limits);
  backend.deploy = { replicas: s.backend.replicas };
  // The cluster primary force-kills workers 5 s after SHUTDOWN_TIMEOUT_MS; Docker must wait longer (grace.sizing.ts).
  backend.stop_grace_period = `${s.stopGraceS.backend}s`;
  backend.depends_on = appDepends;
  backend.environment = {
    ...backend.environment,
    ...dbEnv,
    WEB_CONCURRENCY: String(s.backend.workers),
    DB_POOL_MIN: String(s.backend.pool.min),
    DB_POOL_MAX: String(s.backend.pool.max),
    DB_ACQUIRE_TIMEOUT_MS: String(s.backend.pool.acquireTimeoutMs),
    BODY_LIMIT_BYTES: String(s.bodyLimitBytes),
    TRUST_PROXY: String(EDGE_PROXY_HOPS),
    SHUTDOWN_TIMEOUT_MS: String(s.shutdownTimeoutMs),
    // On SIGTERM a backend leaves idle keep-alive connections for nginx to close (its upstream
    // keepalive_timeout) and closes the rest only after this (connection-drain.ts).
    DRAIN_IDLE_CLOSE_MS: String(s.backend.drainIdleCloseMs),
    NODE_OPTIONS: `--max-old-space-size=${s.backend.heapLimitMb}`,
  };

  const worker = svc.worker!;
  setLimits(worker, s.queue.limits);
  worker.deploy = { replicas: s.queue.replicas };
  worker.stop_grace_period = `${s.stopGraceS.worker}s`;
  worker.depends_on = appDepends;
  worker.environment = {
    ...worker.environment,
    ...dbEnv,
    QUEUE_CONCURRENCY: String(s.queue.concurrency),
    DB_POOL_MIN: String(s.queue.pool.min),
    DB_POOL_MAX: String(s.queue.pool.max),
    DB_ACQUIRE_TIMEOUT_MS: String(s.queue.pool.acquireTimeoutMs),
    SHUTDOWN_TIMEOUT_MS: String(s.queue.shutdownTimeoutMs),
    NODE_OPTIONS: `--max-old-space-size=${s.queue.heapLimitMb}`,
  };
}

/** nginx: limits, its /tmp tmpfs and the published ports (HTTPS on bindAddress and HTTP on loopback with TLS). Mutates `nginx`. */
function sizeEdge(nginx: Service, s: CompleteSizing, opts: StackOptions): void {
  setLimits(nginx, s.nginx.limits);
  nginx.tmpfs = [`/tmp:mode=1777,size=${memString(s.nginx.tempBytes)}`];
  nginx.ports = opts.httpsPort
    ? [`${opts.bindAddress}:${opts.httpsPort}:8443`, `127.0.0.1:${opts.httpPort}:8080`]
    : [`${opts.bindAddress}:${opts.httpPort}:8080`];
}

/** Prometheus, Alertmanager and the exporters: limits, Prometheus's retention, node-exporter's view of Docker's data root. Mutates `svc`. */
function sizeMonitoring(svc: Record<string, Service>, monitoring: MonitoringSizing, opts: StackOptions): void {
  for (const name of MONITORING_SERVICES) setLimits(svc[name]!, monitoring.limits[name]);
  svc.prometheus!.command = [
    '--config.file=/etc/prometheus/carebox/prometheus.yml',
    '--storage.tsdb.path=/prometheus',
    `--storage.tsdb.retention.time=${monitoring.retentionDays}d`,
    `--storage.tsdb.retention.size=${Math.floor(monitoring.retentionBytes / 1024 ** 2)}MB`,
    '--web.listen-address=:9090',
  ];
  // Docker's data root holds the volumes (PostgreSQL's data): its filesystem is watched too.
  if (opts.dockerRoot) {
    const ne = svc['node-exporter']!;
    ne.volumes = [...((ne.volumes as string[] | undefined) ?? []), `${opts.dockerRoot}:${NODE_EXPORTER_MOUNTS.dockerRoot}:ro`];
  }
}

/**
 * The scheduler: the release's CLI image running `carebox scheduler run` against this root. It
 * needs the Docker socket (it runs pg_dump in db, the scratch drill container and restic) and the
 * install root read-write (backups/, carebox.json, metrics/). Not on the stack's network: it talks
 * to the engine only. Restarted by Docker, so it survives reboots without an admin session.
 */
function schedulerService(image: string, installRoot: string, s: CompleteSizing): Service {
  const sched: Service = {
    image,
    command: ['scheduler', 'run', '--dir', installRoot],
    // HOME on the tmpfs: the Docker CLI keeps its config there, and the root filesystem is read-only.
    environment: { CAREBOX_DIR: installRoot, DOCKER_HOST: 'unix:///var/run/docker.sock', HOME: '/tmp' },
    volumes: ['/var/run/docker.sock:/var/run/docker.sock', `${installRoot}:${installRoot}`],
    tmpfs: ['/tmp:mode=1777'],
    network_mode: 'none',
    restart: 'unless-stopped',
    stop_grace_period: '30s',
    // Healthy while the scheduler loop's heartbeat file (touched every 10 s, also during a long
    // backup) is fresh: a hung process turns unhealthy.
    healthcheck: {
      test: ['CMD-SHELL', `test -n "$$(find ${SCHEDULER_HEARTBEAT} -mmin -1 2>/dev/null)"`],
      interval: '10s',
      timeout: '5s',
      retries: 6,
      start_period: '30s',
    },
    labels: { 'com.carebox.managed': 'true' },
  };
  harden(sched, SCHEDULER_PIDS, s.logs);
  setLimits(sched, s.scheduler);
  return sched;
}

/**
 * The finished document as YAML: the `x-carebox` header first, linted, with the do-not-edit comment.
 * @throws Error when the lint fails (a Carebox bug).
 */
function serializeCompose(doc: ComposeDoc, tier: string, opts: StackOptions): string {
  const out = {
    'x-carebox': { version: opts.version, tier, project: opts.project },
    ...doc,
  };
  lintCompose(out);
  const yamlDoc = new Document(out, { aliasDuplicateObjects: false });
  yamlDoc.commentBefore =
    ` Rendered by Carebox ${opts.version} for tier ${tier} from compose-templates/carebox.compose.yml.\n` +
    ' Do not edit: `carebox install` / `carebox retier` re-render it (the old copy goes to backups/).\n' +
    ` Run by hand with: docker compose -p ${opts.project} -f compose.yml <command>`;
  return yamlDoc.toString({ lineWidth: 0 });
}

/** Parse a rendered compose.yml back into data (for diffs and status). */
export function parseCompose(text: string): ComposeDoc {
  return parse(text) as ComposeDoc;
}

export { stringify as stringifyYaml };
