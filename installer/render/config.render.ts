import { createHash } from 'node:crypto';
import type { Plan } from '../plan/plan.types.js';
import { completePlan } from '../plan/plan.complete.js';
import { NGINX_ACCESS_LOG_BUFFER_BYTES, NGINX_ACCESS_LOG_FLUSH_S } from '../plan/sizing.constants.js';
import { formatBytes } from '../detect/size.js';
import { renderTemplate } from './eta.js';
import { ACCESS_LOG_FORMAT } from './access-log.format.js';
import { CONTAINER_PATHS } from '../paths.js';

const mb = (bytes: number) => `${Math.max(1, Math.floor(bytes / 1024 ** 2))}MB`;
const kb = (bytes: number) => `${Math.max(64, Math.floor(bytes / 1024))}kB`;

// The upstream settings of any plan, recorded ones included, are the plan layer's (plan.complete.ts); re-exported for the console.
export { nginxUpstreamFor } from '../plan/plan.complete.js';

/**
 * nginx/nginx.conf from nginx/nginx.conf.eta: explicit worker_processes/worker_connections, body
 * limit from the plan, an `upstream` with keep-alive whose server is re-resolved through Docker's
 * DNS (`resolve`, nginx ≥ MIN_NGINX_VERSION), and a buffered access log.
 * `upstream` is `host:port` of the backend service (default `backend:3000`).
 */
export function renderNginx(
  plan: Plan,
  template: string,
  upstream = 'backend:3000',
  opts: { tls: boolean; trustedProxies?: string[] } = { tls: false },
): string {
  const s = completePlan(plan).sizing;
  const tls = opts.tls ? { cert: CONTAINER_PATHS.tlsCert, key: CONTAINER_PATHS.tlsKey } : null;
  return renderTemplate(template, {
    tier: plan.tier,
    nginx: s.nginx,
    backend: s.backend,
    bodyLimitBytes: s.bodyLimitBytes,
    upstream: { server: upstream, ...s.nginx.upstream },
    minVersion: s.nginx.minVersion,
    log: { format: ACCESS_LOG_FORMAT, bufferBytes: NGINX_ACCESS_LOG_BUFFER_BYTES, flushS: NGINX_ACCESS_LOG_FLUSH_S },
    tls,
    trustedProxies: opts.trustedProxies ?? [],
  });
}

/**
 * postgres/postgresql.conf from compose-templates/postgresql.conf.eta. Memory in MB/kB units
 * PostgreSQL reads (1 MB = 1 MiB in PostgreSQL). wal_buffers and max_parallel_maintenance_workers
 * come from the plan (postgres.sizing.ts pgSharedMemory; completePlan derives them for plans recorded before it held them).
 * Depends only on the host, so a re-tier leaves it (and PostgreSQL) unchanged.
 */
export function renderPostgresConf(plan: Plan, template: string): string {
  const pg = completePlan(plan).sizing.postgres;
  // Only PostgreSQL's own sizing goes in (no tier, no demand), so the file is the same for every tier.
  return renderTemplate(template, {
    pg,
    pgMemory: formatBytes(pg.limits.memoryBytes),
    walBuffersBytes: pg.walBuffersBytes,
    maxParallelMaintenanceWorkers: pg.maxParallelMaintenanceWorkers,
    mb,
    kb,
  });
}

/** redis/redis.conf from compose-templates/redis.conf.eta (maxclients, maxmemory, eviction policy). */
export function renderRedisConf(plan: Plan, template: string): string {
  return renderTemplate(template, { tier: plan.tier, redis: plan.sizing.redis, redisDemand: plan.budget.redisConnections.demand });
}

/**
 * redis/users.acl, Redis's ACL file (redis.conf `aclfile`): the default user with the password as
 * its SHA-256 (`#<hex>`, Redis ACL docs), so neither the file nor Redis's command line holds the
 * password, and `healthcheck`, a user that may run PING and nothing else, for the container's
 * healthcheck. Rendered without comments: Redis refuses any line but `user …`. Pure.
 */
export function renderRedisAcl(redisPassword: string): string {
  const hash = createHash('sha256').update(redisPassword, 'utf8').digest('hex');
  // Redis ACL files take `user` lines only (no comments).
  return [`user default on #${hash} ~* &* +@all`, 'user healthcheck on nopass resetchannels -@all +ping', ''].join('\n');
}

/**
 * secrets/pgbouncer-userlist.txt: PgBouncer's auth_file (`"user" "password"`, PgBouncer docs),
 * mounted into its container as a Compose secret. Pure.
 */
export function renderPgbouncerUserlist(appPassword: string): string {
  return `"carebox_app" "${appPassword}"\n`;
}

/**
 * pgbouncer/pgbouncer.ini, or null when the plan has no PgBouncer. Its auth file is
 * secrets/pgbouncer-userlist.txt ({@link renderPgbouncerUserlist}), mounted as a Compose secret.
 */
export function renderPgbouncer(plan: Plan, template: string): string | null {
  const pgb = plan.sizing.pgbouncer;
  if (!pgb) return null;
  return renderTemplate(template, { tier: plan.tier, pgb });
}
