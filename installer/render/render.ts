import { createHash } from 'node:crypto';
import type { EnvFile } from '../env.file.js';
import type { Plan } from '../plan/plan.types.js';
import { INSTALL_FILES } from '../paths.js';
import { renderCompose, type StackOptions } from './compose.render.js';
import { renderNginx, renderPgbouncer, renderPgbouncerUserlist, renderPostgresConf, renderRedisAcl, renderRedisConf } from './config.render.js';
import { renderEnv } from './env.render.js';
import type { StackImages } from './images.map.js';
import type { Templates } from './templates.load.js';
import {
  MONITORING_FILES,
  renderAlertmanagerConfig,
  renderAlertRules,
  renderBlackboxConfig,
  renderPrometheusConfig,
  renderRedisExporterPasswords,
} from './monitoring.render.js';

/** The sender of alert mail when .env sets no MAIL_FROM (the worker's default, compose template). */
export const DEFAULT_MAIL_FROM = 'Carebox <no-reply@carebox.invalid>';

/** One file of the install root: path relative to the root, UTF-8 content, file mode. */
export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
  /** True for files holding secrets (.env): redacted in support bundles. */
  secret: boolean;
}

export interface RenderInput {
  plan: Plan;
  env: EnvFile;
  images: StackImages;
  options: StackOptions;
  templates: Templates;
  /** A new TLS certificate chain and key to write (install --tls-cert/--tls-key), PEM. */
  tlsFiles?: { certPem: string; keyPem: string } | null;
}

/**
 * Render every file of the install root except the manifest. Pure: same input, byte-identical
 * output, so a re-run with nothing changed writes nothing.
 * @throws Error when a template is broken or the Compose lint fails (a Carebox bug).
 */
export function renderStack(input: RenderInput): RenderedFile[] {
  const { plan, env, images, options, templates } = input;
  const files: RenderedFile[] = [
    { path: INSTALL_FILES.compose, content: renderCompose(plan, images, options, templates.compose), mode: 0o644, secret: false },
    { path: INSTALL_FILES.env, content: renderEnv(options.project, env), mode: 0o600, secret: true },
    {
      path: INSTALL_FILES.nginx,
      content: renderNginx(plan, templates.nginx, undefined, { tls: Boolean(options.httpsPort), trustedProxies: options.trustedProxies ?? [] }),
      mode: 0o644,
      secret: false,
    },
    { path: INSTALL_FILES.postgres, content: renderPostgresConf(plan, templates.postgresql), mode: 0o644, secret: false },
    { path: INSTALL_FILES.redis, content: renderRedisConf(plan, templates.redis), mode: 0o644, secret: false },
    // Only a hash of the password: readable by the image's redis user through the config mount.
    { path: INSTALL_FILES.redisAcl, content: renderRedisAcl(env.secrets.REDIS_PASSWORD), mode: 0o644, secret: false },
    // Compose secrets are bind mounts that keep the host file's owner and mode (non-Swarm Compose
    // cannot set them), and the image's user differs between images: the file is readable to all
    // and the secrets/ directory (0700, writeRenderedFiles) keeps it from other users of the host.
    { path: INSTALL_FILES.postgresPassword, content: env.secrets.POSTGRES_PASSWORD, mode: 0o444, secret: true },
    // The application role's and Redis's passwords for the backend and worker (DATABASE_PASSWORD_FILE, REDIS_PASSWORD_FILE).
    { path: INSTALL_FILES.appDbPassword, content: env.secrets.POSTGRES_APP_PASSWORD, mode: 0o444, secret: true },
    { path: INSTALL_FILES.redisPassword, content: env.secrets.REDIS_PASSWORD, mode: 0o444, secret: true },
  ];
  if (plan.sizing.monitoring || plan.intent.alerts === 'external') {
    // The rules file: loaded by the stack's Prometheus, or taken by the hospital's (--alerts external).
    files.push({ path: MONITORING_FILES.rules, content: renderAlertRules(plan, options.alerts?.forScale ?? 1), mode: 0o644, secret: false });
  }
  if (plan.sizing.monitoring) {
    const tls = Boolean(options.httpsPort);
    files.push({
      path: MONITORING_FILES.prometheus,
      content: renderPrometheusConfig(plan, { project: options.project, tls, forScale: options.alerts?.forScale ?? 1 }),
      mode: 0o644,
      secret: false,
    });
    files.push({ path: MONITORING_FILES.blackbox, content: renderBlackboxConfig(), mode: 0o644, secret: false });
    const extra = new Map(env.extra);
    files.push({
      path: MONITORING_FILES.alertmanager,
      content: renderAlertmanagerConfig({
        settings: options.alerts ?? { email: [], webhookUrl: null },
        smtpUrl: extra.get('SMTP_URL') ?? null,
        mailFrom: extra.get('MAIL_FROM') ?? DEFAULT_MAIL_FROM,
        project: options.project,
      }),
      mode: 0o444,
      secret: true,
    });
    files.push({ path: MONITORING_FILES.redisExporterPasswords, content: renderRedisExporterPasswords(env.secrets.REDIS_PASSWORD), mode: 0o444, secret: true });
  }
  const pgb = renderPgbouncer(plan, templates.pgbouncer);
  if (pgb) {
    files.push({ path: INSTALL_FILES.pgbouncerIni, content: pgb, mode: 0o644, secret: false });
    files.push({ path: INSTALL_FILES.pgbouncerUserlist, content: renderPgbouncerUserlist(env.secrets.POSTGRES_APP_PASSWORD), mode: 0o444, secret: true });
  }
  // A new certificate and key (install --tls-cert/--tls-key); without them the ones in place stay.
  if (input.tlsFiles) {
    files.push({ path: INSTALL_FILES.tlsCert, content: input.tlsFiles.certPem, mode: 0o644, secret: false });
    // nginx (an unprivileged uid) reads it: writeRenderedFiles gives it to nginx's uid.
    files.push({ path: INSTALL_FILES.tlsKey, content: input.tlsFiles.keyPem, mode: 0o600, secret: true });
  }
  return files;
}

/** sha256 of a file's content, hex. Stored per file in carebox.json to detect hand edits. */
export function checksum(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex');
}
