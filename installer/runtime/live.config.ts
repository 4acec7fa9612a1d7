/**
 * Apply changed configuration files to running services with the least disruption each allows:
 * - nginx.conf: `nginx -t` in the running container, then a graceful reload; if the test fails the
 *   previous file is put back (CapRover's .bak swap) and nginx keeps serving the old config;
 * - postgresql.conf: `pg_reload_conf()`; PostgreSQL itself says which settings still need a
 *   restart (`pg_settings.pending_restart`), and the caller orders that restart;
 * - redis.conf: maxclients / maxmemory / maxmemory-policy are set live with CONFIG SET (the file
 *   is what a later restart reads).
 */
import { MONITORING_FILES } from '../render/monitoring.render.js';
import type Docker from 'dockerode';
import type { FileChange } from '../apply/files.write.js';
import { OperationError } from '../errors.js';
import { INSTALL_FILES } from '../paths.js';
import type { Plan } from '../plan/plan.types.js';
import { loadSecrets } from '../apply/secrets.store.js';
import { execIn } from './container.exec.js';
import { reloadNginxOrRevert } from './nginx.reload.js';
import { psqlRows } from './psql.js';
import { serviceContainers, type Stack } from './compose.stack.js';

/** Whether `path` was created or updated. Pure. */
export function changed(changes: FileChange[], path: string): boolean {
  return changes.some((c) => c.path === path && c.status !== 'unchanged');
}

/**
 * Ask PostgreSQL to re-read postgresql.conf and report which settings need a restart to apply.
 * @returns names of settings pending a restart (empty: everything applied live).
 * @throws OperationError when PostgreSQL reports errors in the file (the old values stay active).
 */
export async function reloadPostgresConf(docker: Docker, dbId: string): Promise<string[]> {
  await psqlRows(docker, dbId, 'SELECT pg_reload_conf();');
  // The postmaster applies the reload asynchronously; give it a moment before asking.
  await new Promise((r) => setTimeout(r, 700));
  const errors = await psqlRows(docker, dbId, "SELECT name, error FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied';");
  if (errors.length > 0)
    throw new OperationError(
      `PostgreSQL rejected postgresql.conf: ${errors.map((r) => `${r[0]}: ${r[1]}`).join('; ')}`,
      'the running server keeps its previous settings; check the rendered file',
    );
  return (await psqlRows(docker, dbId, 'SELECT name FROM pg_settings WHERE pending_restart ORDER BY name;')).map((r) => r[0]!);
}

/** The running server's max_connections. */
export async function runningMaxConnections(docker: Docker, dbId: string): Promise<number> {
  return Number((await psqlRows(docker, dbId, 'SHOW max_connections;'))[0]?.[0] ?? 0);
}

/**
 * `redis-cli` inside the stack's Redis, signed in as the default user: the password goes in the
 * exec's own REDISCLI_AUTH, never on a command line nor in the container's configuration.
 */
async function redisCli(stack: Stack, id: string, args: string[]) {
  const auth = (await loadSecrets(stack.root)).secrets.REDIS_PASSWORD;
  return execIn(stack.docker, id, ['redis-cli', '-h', '127.0.0.1', ...args], { timeoutMs: 30_000, env: [`REDISCLI_AUTH=${auth}`] });
}

/**
 * Set Redis limits live: maxclients, maxmemory and maxmemory-policy (CONFIG SET through redisCli).
 * @throws OperationError when Redis refuses a value.
 */
export async function setRedisLimits(stack: Stack, redis: { maxClients: number; maxMemoryBytes: number; maxMemoryPolicy: string }): Promise<void> {
  const [r] = (await serviceContainers(stack, 'redis')).filter((c) => c.state === 'running');
  if (!r) throw new OperationError('redis is not running', 'run `carebox status`');
  for (const [k, v] of [
    ['maxclients', String(redis.maxClients)],
    ['maxmemory', String(redis.maxMemoryBytes)],
    ['maxmemory-policy', redis.maxMemoryPolicy],
  ] as const) {
    const out = await redisCli(stack, r.id, ['CONFIG', 'SET', k, v]);
    if (out.code !== 0 || !/^OK/m.test(out.stdout))
      throw new OperationError(`redis CONFIG SET ${k} ${v} failed: ${(out.stdout + out.stderr).trim().slice(0, 300)}`);
  }
}

/** The Redis limits Redis currently runs with. */
export async function runningRedisMaxClients(stack: Stack): Promise<number | null> {
  const [r] = (await serviceContainers(stack, 'redis')).filter((c) => c.state === 'running');
  if (!r) return null;
  const out = await redisCli(stack, r.id, ['CONFIG', 'GET', 'maxclients']);
  const n = Number(out.stdout.trim().split('\n')[1]);
  return Number.isFinite(n) ? n : null;
}

/**
 * Apply every changed file that can be applied live (nginx reload, pg_reload_conf, Redis CONFIG
 * SET). Returns the PostgreSQL settings that still need a restart.
 */
export async function applyLiveConfig(
  stack: Stack,
  plan: Plan,
  changes: FileChange[],
  onProgress: (m: string) => void,
): Promise<{ postgresPendingRestart: string[] }> {
  let pending: string[] = [];
  if (changed(changes, INSTALL_FILES.postgres)) {
    const [db] = (await serviceContainers(stack, 'db')).filter((c) => c.state === 'running');
    if (db) {
      pending = await reloadPostgresConf(stack.docker, db.id);
      onProgress(pending.length ? `postgresql.conf reloaded; needs a restart for: ${pending.join(', ')}` : 'postgresql.conf reloaded (pg_reload_conf)');
    }
  }
  if (changed(changes, INSTALL_FILES.redis)) {
    await setRedisLimits(stack, plan.sizing.redis);
    onProgress(`redis: CONFIG SET maxclients ${plan.sizing.redis.maxClients}, maxmemory ${plan.sizing.redis.maxMemoryBytes}`);
  }
  if (changed(changes, INSTALL_FILES.nginx))
    await reloadNginxOrRevert(stack.docker, { root: stack.root, project: stack.manifest.project }, changes, onProgress);
  // The rules carry the planned replica count (BackendReplicasMissing): Prometheus re-reads its
  // directory-mounted files on SIGHUP. Alertmanager's file is a Compose secret: a restart mounts it anew.
  if (plan.sizing.monitoring) {
    if (changed(changes, MONITORING_FILES.prometheus) || changed(changes, MONITORING_FILES.rules)) {
      await stack.compose.run(['kill', '-s', 'SIGHUP', 'prometheus'], { timeoutMs: 60_000 });
      onProgress('prometheus: configuration and rules reloaded (SIGHUP)');
    }
    if (changed(changes, MONITORING_FILES.alertmanager)) {
      await stack.compose.run(['restart', 'alertmanager'], { timeoutMs: 120_000 });
      onProgress('alertmanager: restarted with its new configuration');
    }
  }
  return { postgresPendingRestart: pending };
}
