import { z } from 'zod';

/**
 * Images the stack runs. Defaults are pinned official images (Docker Library; PgBouncer has no
 * official image, so a widely used one). `--images FILE` overrides any of them, for a private
 * registry, an offline bundle, or locally built stand-ins. Contract each image must meet:
 *  - postgres: the official image's env (POSTGRES_USER/PASSWORD/DB, PGDATA), `postgres` CMD, pg_isready, pg_dump;
 *  - redis: `redis-server` and `redis-cli` on PATH;
 *  - nginx: `nginx` ≥ 1.27.3 on PATH (MIN_NGINX_VERSION: `resolve` in `upstream`), /etc/nginx/mime.types, curl (healthcheck);
 *  - pgbouncer: `pgbouncer` on PATH (and pg_isready or nc for the healthcheck);
 *  - node: Node.js 20 with npm, the base of the locally built server image;
 *  - prometheus, alertmanager, nodeExporter, postgresExporter, redisExporter, blackboxExporter (only with
 *    `--alerts stack`): the official images' binaries at their paths (/bin/prometheus,
 *    /bin/alertmanager, /bin/node_exporter, /bin/postgres_exporter, /redis_exporter, /bin/blackbox_exporter) and `wget` for
 *    the healthchecks (busybox in the official images; the alpine variant of redis_exporter);
 *  - restic: `restic` (≥ 0.14) as the entrypoint and OpenSSH's `ssh` on PATH (SFTP repositories):
 *    run as short-lived containers for off-host backup copies (console/ops/restic.ops.ts). Absent
 *    from images files and manifests of older installs: {@link resticImage} falls back to the default.
 *  - dockerCli: the Docker CLI at /usr/local/bin/docker and Compose v2 at
 *    /usr/local/libexec/docker/cli-plugins/docker-compose: only a build input of the CLI image a
 *    source install builds for its `scheduler` service (installer/apply/cli.image.ts); no service runs it.
 */
export const DEFAULT_IMAGES = {
  postgres: 'postgres:15.10-bookworm',
  redis: 'redis:7.2.6-bookworm',
  // ≥ 1.27.3: `resolve` on upstream servers (keep-alive to the backends with live DNS).
  nginx: 'nginx:1.28.0-bookworm',
  pgbouncer: 'edoburu/pgbouncer:v1.23.1-p2',
  node: 'node:20.18.1-bookworm-slim',
  prometheus: 'prom/prometheus:v2.53.2',
  alertmanager: 'prom/alertmanager:v0.27.0',
  nodeExporter: 'prom/node-exporter:v1.8.2',
  postgresExporter: 'prometheuscommunity/postgres-exporter:v0.15.0',
  // The alpine variant: the scratch image has no wget for a healthcheck.
  redisExporter: 'oliver006/redis_exporter:v1.62.0-alpine',
  blackboxExporter: 'prom/blackbox-exporter:v0.25.0',
  restic: 'restic/restic:0.17.3',
  // The Docker CLI and Compose v2 plugin the locally built CLI image copies (cli/Dockerfile).
  dockerCli: 'docker:27.3.1-cli',
} as const;

/** The images only a stack with `--alerts stack` runs (an images file without them still loads). */
export const MONITORING_IMAGES = ['prometheus', 'alertmanager', 'nodeExporter', 'postgresExporter', 'redisExporter', 'blackboxExporter'] as const;

export type BaseImageName = keyof typeof DEFAULT_IMAGES;
export type MonitoringImageName = (typeof MONITORING_IMAGES)[number];
/**
 * Images by name. The monitoring ones, restic and dockerCli are optional: manifests and images files from
 * before alerts and off-host backups lack them ({@link resticImage}), and only a stack with
 * `--alerts stack` runs the monitoring ones.
 */
export type BaseImages = Record<Exclude<BaseImageName, MonitoringImageName | 'restic' | 'dockerCli'>, string> &
  Partial<Record<MonitoringImageName | 'restic' | 'dockerCli', string>>;
/** Every image a rendered stack references: the base images plus the locally built server image. */
export type StackImages = BaseImages & {
  server: string;
  /**
   * The Carebox CLI image the `scheduler` service runs (a release's CLI image, or one built from
   * this package by `carebox backup schedule`); absent: no scheduler service is rendered.
   */
  scheduler?: string;
};

/** An image reference: `name[:tag][@digest]`; `latest` or no tag is rejected, stacks stay pinned. */
const imageRef = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[a-z0-9][a-z0-9._\/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/, 'not an image reference')
  .refine((s) => /:[^/]+$/.test(s.replace(/@sha256:.*$/, '')) || s.includes('@sha256:'), 'must be pinned with a tag or digest')
  .refine((s) => !/:latest(@|$)/.test(s), 'must not use :latest');

/**
 * Schema of an `--images FILE`: a JSON object with any of the base image names, and optionally
 * `server`, a prebuilt server image used instead of building one (an upgrade to a given tag).
 * Unknown keys are errors.
 */
export const imagesFileSchema = z
  .object({
    postgres: imageRef.optional(),
    redis: imageRef.optional(),
    nginx: imageRef.optional(),
    pgbouncer: imageRef.optional(),
    node: imageRef.optional(),
    prometheus: imageRef.optional(),
    alertmanager: imageRef.optional(),
    nodeExporter: imageRef.optional(),
    postgresExporter: imageRef.optional(),
    redisExporter: imageRef.optional(),
    blackboxExporter: imageRef.optional(),
    restic: imageRef.optional(),
    dockerCli: imageRef.optional(),
    server: imageRef.optional(),
  })
  .strict();

/** The images map an `--images FILE` yields: every base image, and the server image when given. */
export type ImagesMap = BaseImages & { server?: string };

export { imageRef as imageRefSchema };

/** The restic image of a stack's images map (a manifest written before restic has none: the default). */
export function resticImage(images: Partial<Record<string, string>>): string {
  return images.restic ?? DEFAULT_IMAGES.restic;
}
