import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Carebox package root (the directory holding package.json, compose-templates/ and nginx/),
 * found by walking up from this module, so it works from the TypeScript sources (tsx) and from dist/.
 * @throws Error when no package.json with name "carebox" is found (a broken install).
 */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'compose-templates'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Carebox package root not found above ${from}`);
    dir = parent;
  }
}

/** Default install root: `CAREBOX_DIR` or `/opt/carebox`. `env` is a parameter so callers stay pure. */
export function defaultInstallRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CAREBOX_DIR && env.CAREBOX_DIR.trim() !== '' ? env.CAREBOX_DIR : '/opt/carebox';
}

/** Files of an install root, relative to it. */
export const INSTALL_FILES = {
  compose: 'compose.yml',
  env: '.env',
  nginx: 'nginx/nginx.conf',
  /** The edge's certificate chain and key when nginx terminates TLS (installer/apply/edge.tls.ts). */
  tlsCert: 'nginx/tls/cert.pem',
  tlsKey: 'nginx/tls/key.pem',
  postgres: 'postgres/postgresql.conf',
  redis: 'redis/redis.conf',
  /** Redis users: the password as its SHA-256 only, and a PING-only healthcheck user. */
  redisAcl: 'redis/users.acl',
  /** Secrets read by images that take them from a file (Compose `secrets:`); the directory is 0700. */
  postgresPassword: 'secrets/postgres-password',
  pgbouncerUserlist: 'secrets/pgbouncer-userlist.txt',
  appDbPassword: 'secrets/app-db-password',
  redisPassword: 'secrets/redis-password',
  pgbouncerIni: 'pgbouncer/pgbouncer.ini',
  manifest: 'carebox.json',
  /** Append-only JSON lines: every `carebox` verb that changed the stack (installer/manifest/operations.log.ts). */
  operationsLog: 'operations.log',
  /** The CLI image the launcher (cli/carebox.sh) runs for this root: one line, an image reference. */
  cliImage: 'cli-image',
  backups: 'backups',
  /** The restic repository password (0600, in the 0700 secrets/): generated once, shown once. */
  resticPassword: 'secrets/restic-password',
  /** SSH host keys of SFTP repositories, pinned on first use. */
  resticKnownHosts: 'restic/known_hosts',
  /** node_exporter's textfile directory: the backup side's metrics (carebox_backup.prom), mode 0755. */
  metricsDir: 'metrics',
} as const;

/**
 * Where containers see the install root's files: the compose template mounts `nginx/` at
 * /etc/nginx/carebox in the nginx container.
 */
export const CONTAINER_PATHS = {
  nginxConf: '/etc/nginx/carebox/nginx.conf',
  tlsCert: '/etc/nginx/carebox/tls/cert.pem',
  tlsKey: '/etc/nginx/carebox/tls/key.pem',
} as const;
