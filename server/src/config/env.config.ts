/**
 * The server's whole configuration, read from the environment and validated once at start.
 *
 * The installer renders these variables into `.env`; every field's doc comment below gives its
 * unit and default and is the operator documentation. An empty value (`KEY=`) counts as unset,
 * so a rendered-but-blank optional variable takes its default instead of failing as `0`.
 *
 * `loadConfig(env)` is pure: it reads only the object it is given and throws {@link ConfigError}
 * listing every bad variable by name.
 */
import { z } from 'zod';

/** Variables whose values must never be echoed back in an error message or a log line. */
export const SECRET_VARIABLES: ReadonlySet<string> = new Set(['DATABASE_PASSWORD', 'DATABASE_URL', 'REDIS_PASSWORD', 'REDIS_URL', 'SMTP_URL']);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** An integer variable with inclusive bounds; `z.coerce.number()` because env values are strings. */
function int(min: number, max: number) {
  const range = `must be an integer between ${min} and ${max}`;
  return z.coerce.number({ error: range }).int({ error: range }).min(min, { error: range }).max(max, { error: range });
}

const TCP_PORT = () => int(1, 65535);
const NON_EMPTY = () => z.string({ error: 'is required' }).min(1, { error: 'is required' });

/** `"true"` or `"false"` exactly, as the installer renders them. */
const boolFlag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .default(fallback)
    .transform((v) => v === 'true');

/** Express `trust proxy`: a hop count, `true`/`false`, or a comma list of addresses/subnets. */
export type TrustProxy = number | boolean | string;

/** Parses TRUST_PROXY: digits → hop count, true/false → boolean, anything else → address list. */
export function parseTrustProxy(raw: string): TrustProxy {
  const value = raw.trim();
  if (/^\d+$/.test(value)) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}
const TRUST_PROXY_ENTRY = /^(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)$/;

// ---------------------------------------------------------------------------------------------
// One schema per concern. Each field's comment is the operator doc: meaning, unit, default.
// ---------------------------------------------------------------------------------------------

/** Process and HTTP listener. */
const serverSchema = z.object({
  /** Runtime mode: `production` | `development` | `test`. Default `production`. */
  NODE_ENV: z.enum(['production', 'development', 'test'], { error: 'must be production, development or test' }).default('production'),
  /** TCP port the HTTP server listens on inside the container. Default 3000. */
  PORT: TCP_PORT().default(3000),
  /** Address the HTTP server binds. Default `0.0.0.0` (all interfaces of the container). */
  HOST: NON_EMPTY().default('0.0.0.0'),
  /** pino log level: fatal | error | warn | info | debug | trace | silent. Default `info`. */
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  /**
   * Which requests get a line in the server's log: `all` (every request) or `errors` (status ≥ 400,
   * a failed or aborted response, or slower than REQUEST_LOG_SLOW_MS). Default `all`. The stack
   * renders `errors`: nginx's access log already has a line for every request with the same
   * request id, status, duration and the replica that answered, and a second line per request
   * through Docker's log driver cost CPU on every request. The audit trail is separate.
   */
  REQUEST_LOG: z.enum(['all', 'errors'], { error: 'must be all or errors' }).default('all'),
  /** With REQUEST_LOG=errors, a request slower than this is logged too, in ms (1..600000). Default 1000. */
  REQUEST_LOG_SLOW_MS: int(1, 600_000).default(1000),
  /** Number of node cluster worker processes serving HTTP in one container, 1..64. Default 1. */
  WEB_CONCURRENCY: int(1, 64).default(1),
  /**
   * Most body bytes any route reads, in bytes (1 KiB..1 GiB). Default 1048576 (1 MiB); the planner
   * renders `sizing.bodyLimitBytes` (32 KiB), and nginx's `client_max_body_size` is rendered from
   * the same number. Each route reads at most its own need below it (sign-in 4 KiB, writes 32 KiB),
   * and the server lowers it at start to what a quarter of its V8 heap can parse in the worst case
   * (http/body-limits.ts). Larger bodies get 413.
   */
  BODY_LIMIT_BYTES: int(1024, 1024 * 1024 * 1024).default(1_048_576),
  /**
   * Upper bound on draining in-flight requests after SIGTERM, in milliseconds (100..600000).
   * Default 10000. Closing the pools afterwards takes up to 2 s more, and the cluster primary
   * force-kills workers at SHUTDOWN_TIMEOUT_MS + 5 s, so set Compose `stop_grace_period` to at
   * least SHUTDOWN_TIMEOUT_MS + 6 s.
   */
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /**
   * After SIGTERM, a keep-alive connection with no request in progress is closed by the server
   * only this long after the drain began, in milliseconds (0..600000). Default 6000. Until then a
   * request on it is still answered (with `Connection: close`). It must exceed the proxy's idle
   * timeout for its cached upstream connections (nginx `keepalive_timeout` in `upstream`, 4 s as
   * Carebox renders it), so that nginx drops an idle connection before the server closes it and
   * never writes a request on one that is closing. Capped at SHUTDOWN_TIMEOUT_MS.
   */
  DRAIN_IDLE_CLOSE_MS: int(0, 600_000).default(6_000),
  /**
   * Express `trust proxy`: how many reverse-proxy hops to trust for the client address
   * (`X-Forwarded-For`), `true`/`false`, or a comma list of trusted addresses/subnets
   * (`loopback`, `10.0.0.0/8`). Default `1`: the stack's nginx, which the installer renders
   * explicitly. A hospital proxy in front of nginx is not a hop to trust here: nginx resolves its
   * X-Forwarded-For itself (`carebox install --trusted-proxy`), so the header's last entry is the client.
   */
  TRUST_PROXY: z
    .string()
    .default('1')
    .refine(
      (v) => {
        const parsed = parseTrustProxy(v);
        if (typeof parsed !== 'string') return true;
        return parsed.split(',').every((entry) => TRUST_PROXY_ENTRY.test(entry.trim()));
      },
      { error: 'must be a hop count, true/false, or a comma list of IP addresses/subnets' },
    )
    .transform(parseTrustProxy),
  /**
   * Path of the queue worker's heartbeat file (touched while the worker can reach Redis); the
   * worker container's healthcheck (`node dist/server/src/healthcheck.js worker`) reads its age.
   * Default `/tmp/carebox-worker.heartbeat`.
   */
  WORKER_HEARTBEAT_FILE: NON_EMPTY().default('/tmp/carebox-worker.heartbeat'),
});

/** PostgreSQL connection and pool. Give DATABASE_URL, or the discrete DATABASE_* fields. */
const databaseSchema = z.object({
  /**
   * Full connection URL `postgres://user:password@host:port/database` (secret). When set it
   * takes precedence over the discrete DATABASE_* fields. No default.
   */
  DATABASE_URL: z
    .string()
    .refine((v) => isUrlWithProtocol(v, ['postgres:', 'postgresql:']), {
      error: 'must be a postgres:// or postgresql:// URL',
    })
    .optional(),
  /** PostgreSQL host name (the Compose service, e.g. `postgres`). Required without DATABASE_URL. */
  DATABASE_HOST: NON_EMPTY().optional(),
  /** PostgreSQL TCP port. Default 5432. */
  DATABASE_PORT: TCP_PORT().default(5432),
  /** Database name. Required without DATABASE_URL. */
  DATABASE_NAME: NON_EMPTY().optional(),
  /** Database role. Required without DATABASE_URL. */
  DATABASE_USER: NON_EMPTY().optional(),
  /** Password of DATABASE_USER (secret). Required without DATABASE_URL. */
  DATABASE_PASSWORD: NON_EMPTY().optional(),
  /**
   * The application role (least privilege; the backends and workers log in as it), for the
   * migration CLI: after migrating, it grants this role what the tables need and nothing more
   * (server/src/db/db.privileges.ts: no UPDATE, DELETE or TRUNCATE on audit_events). The installer
   * sets it to `carebox_app`. Unset (development, tests): no grants. A plain lower-case identifier.
   */
  DATABASE_APP_ROLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'must be a plain lower-case PostgreSQL role name' })
    .optional(),
  /** Connections each server process keeps open at least (0..1000). Default 0. */
  DB_POOL_MIN: int(0, 1000).default(0),
  /**
   * Most connections each server process opens (1..1000, ≥ DB_POOL_MIN). Default 10.
   * A backend container uses up to WEB_CONCURRENCY × DB_POOL_MAX connections.
   */
  DB_POOL_MAX: int(1, 1000).default(10),
  /**
   * How long a request waits for a free pool connection before it gets 503 + Retry-After, in
   * milliseconds (50..120000). Default 2000. Also the TCP connect timeout to PostgreSQL.
   */
  DB_ACQUIRE_TIMEOUT_MS: int(50, 120_000).default(2000),
  /**
   * PostgreSQL `statement_timeout` for the server's sessions, in milliseconds (0 = none,
   * ..3600000). Default 15000. Ignored when DB_PGBOUNCER=true: PgBouncer rejects it as a startup
   * parameter, so set it on the role instead (`ALTER ROLE … SET statement_timeout`).
   */
  DB_STATEMENT_TIMEOUT_MS: int(0, 3_600_000).default(15_000),
  /**
   * `"true"` when the server reaches PostgreSQL through PgBouncer in transaction mode: then the
   * server sends no session-level settings (no startup `statement_timeout`, no `SET`/`LISTEN`)
   * and never uses named prepared statements. Default `"false"`.
   */
  DB_PGBOUNCER: boolFlag('false'),
});

/** Redis connection. Give REDIS_URL, or REDIS_HOST (+ REDIS_PORT, REDIS_PASSWORD). */
const redisSchema = z.object({
  /**
   * Full URL `redis://[:password@]host:port[/db]` or `rediss://…` for TLS (secret). When set it
   * takes precedence over REDIS_HOST/REDIS_PORT/REDIS_PASSWORD. No default.
   */
  REDIS_URL: z
    .string()
    .refine((v) => isUrlWithProtocol(v, ['redis:', 'rediss:']), { error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  /** Redis host name (the Compose service, e.g. `redis`). Required without REDIS_URL. */
  REDIS_HOST: NON_EMPTY().optional(),
  /** Redis TCP port. Default 6379. */
  REDIS_PORT: TCP_PORT().default(6379),
  /** Redis password (`requirepass`, secret). Optional; default none. */
  REDIS_PASSWORD: NON_EMPTY().optional(),
});

/** Background jobs (bee-queue). */
const queueSchema = z.object({
  /** Jobs one queue worker process runs at the same time, per queue (1..256). Default 2. */
  QUEUE_CONCURRENCY: int(1, 256).default(2),
  /**
   * Prefix of every Carebox key in Redis: queues (`<prefix>:<queue>:…`), sessions, the patient
   * cache and login rate limits (`<prefix>:s:…`, `<prefix>:c:…`, `<prefix>:rl:…`). Letters,
   * digits, `_`, `-`, `.`. Default `carebox`. Two installs sharing one Redis need different prefixes.
   */
  QUEUE_NAME_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must be 1-64 letters, digits, "_", "-" or "."' })
    .default('carebox'),
});

/** Sign-in, sessions and sign-in throttling. */
const authSchema = z.object({
  /**
   * A session unused for this long expires (sliding: every request renews it), in seconds
   * (60..86400). Default 1800 (30 min).
   */
  SESSION_IDLE_TIMEOUT_SECONDS: int(60, 86_400).default(1_800),
  /** A session ends this long after sign-in however active it is, in seconds (300..604800). Default 43200 (12 h, a shift). */
  SESSION_MAX_AGE_SECONDS: int(300, 604_800).default(43_200),
  /**
   * Window of the sign-in throttle (per account and client address, and per account), in seconds
   * (1..86400). Default 900 (15 min). Accounts are never locked; see auth/login-throttle.ts.
   */
  LOGIN_THROTTLE_WINDOW_SECONDS: int(1, 86_400).default(900),
  /**
   * Sign-in attempts without a success one client address may make on one user name per
   * LOGIN_THROTTLE_WINDOW_SECONDS before it gets 429 (1..1000). Default 5. Other addresses, the
   * owner's included, are not affected; a success starts the count again.
   */
  LOGIN_CLIENT_MAX_ATTEMPTS: int(1, 1_000).default(5),
  /** Failed sign-ins on one user name (from any address) per window before attempts are slowed (0..1000). Default 5. */
  LOGIN_ACCOUNT_DELAY_AFTER: int(0, 1_000).default(5),
  /** Extra delay per failure beyond LOGIN_ACCOUNT_DELAY_AFTER, in ms (0..60000). Default 500. */
  LOGIN_ACCOUNT_DELAY_STEP_MS: int(0, 60_000).default(500),
  /** Most delay a sign-in attempt gets, in ms (0..60000). Default 5000. Attempts are slowed, never refused. */
  LOGIN_ACCOUNT_MAX_DELAY_MS: int(0, 60_000).default(5_000),
  /**
   * Sign-in attempts one client address may make per LOGIN_RATE_LIMIT_WINDOW_SECONDS before it gets
   * 429 (1..100000). Default 10. Counted in Redis, so every replica shares the budget.
   */
  LOGIN_RATE_LIMIT_MAX: int(1, 100_000).default(10),
  /** Window of LOGIN_RATE_LIMIT_MAX, in seconds (1..86400). Default 60. */
  LOGIN_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
});

/** The Redis read-through cache. */
const cacheSchema = z.object({
  /**
   * How long a patient record stays in the Redis cache, in seconds (0..86400; 0 turns the cache
   * off). Default 300. Writes invalidate at once; the TTL bounds staleness if an invalidation is
   * lost (Redis down at that moment).
   */
  PATIENT_CACHE_TTL_SECONDS: int(0, 86_400).default(300),
});

/** Appointment reminders, the daily report, exports and job retention (queue worker). */
const notificationSchema = z.object({
  /**
   * IANA time zone of the hospital (`Europe/Berlin`), used for reminder texts and the day
   * boundaries of the daily summary. Default `UTC`.
   */
  HOSPITAL_TIMEZONE: z.string().refine(isTimeZone, { error: 'must be an IANA time zone such as Europe/Berlin or UTC' }).default('UTC'),
  /**
   * Outgoing mail server `smtp://[user:password@]host[:port]` (STARTTLS when offered, port 587
   * by default) or `smtps://…` (TLS from the start, port 465 by default) (secret). Unset (default):
   * mail is written as `.eml` files into MAIL_FILE_DIR instead of being sent.
   */
  SMTP_URL: z
    .string()
    .refine((v) => isUrlWithProtocol(v, ['smtp:', 'smtps:']), { error: 'must be an smtp:// or smtps:// URL' })
    .optional(),
  /** Sender of reminders and reports, `Name <address>` or an address. Default `Carebox <no-reply@carebox.invalid>`. */
  MAIL_FROM: z
    .string()
    .regex(/^[^\r\n]{3,200}$/, { error: 'must be one line of 3-200 characters' })
    .default('Carebox <no-reply@carebox.invalid>'),
  /**
   * Directory the file mail transport writes `<id>.eml` files into when SMTP_URL is unset (mount a
   * volume there to keep them). Default `/tmp/carebox-mail`.
   */
  MAIL_FILE_DIR: NON_EMPTY().default('/tmp/carebox-mail'),
  /** Reminders go out for booked appointments starting within this many hours (1..336). Default 24. */
  REMINDER_LEAD_HOURS: int(1, 336).default(24),
  /** How often the worker looks for appointments to remind and mail to send, in seconds (10..86400). Default 300. */
  REMINDER_SCAN_INTERVAL_SECONDS: int(10, 86_400).default(300),
  /**
   * Comma list of addresses that receive the daily appointment summary by mail. Default none (the
   * report is still stored and readable through the API).
   */
  DAILY_REPORT_RECIPIENTS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
    )
    .refine((list) => list.every((a) => /^[^\s@<>,;]+@[^\s@<>,;]+$/.test(a)), { error: 'must be a comma list of e-mail addresses' })
    .default([]),
  /** Finished (succeeded) jobs are removed from Redis after this many hours (1..8760). Default 24. */
  JOB_RETENTION_SUCCEEDED_HOURS: int(1, 8_760).default(24),
  /** Failed jobs are removed from Redis after this many hours (1..8760). Default 168 (7 days). */
  JOB_RETENTION_FAILED_HOURS: int(1, 8_760).default(168),
  /** A finished CSV export can be downloaded for this many hours, then it is deleted (1..720). Default 24. */
  EXPORT_RETENTION_HOURS: int(1, 720).default(24),
  /**
   * `"true"`: the queue worker schedules the periodic jobs itself (reminder scans, the daily summary,
   * maintenance); several workers never schedule the same run twice. Default `"true"`.
   */
  SCHEDULER_ENABLED: boolFlag('true'),
});

/** The whole environment schema, field by field; {@link crossFieldProblems} adds the rules between fields. */
export const envSchema = serverSchema
  .extend(databaseSchema.shape)
  .extend(redisSchema.shape)
  .extend(queueSchema.shape)
  .extend(authSchema.shape)
  .extend(cacheSchema.shape)
  .extend(notificationSchema.shape);

/**
 * Rules that span several variables: DB_POOL_MAX ≥ DB_POOL_MIN, SESSION_MAX_AGE_SECONDS ≥
 * SESSION_IDLE_TIMEOUT_SECONDS, and DATABASE_URL or the discrete
 * DATABASE_* fields, and REDIS_URL or REDIS_HOST. Runs on the raw (non-blank) input so that these
 * are reported together with the per-field problems, not only after those are fixed.
 */
function crossFieldProblems(input: Record<string, string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const min = envSchema.shape.DB_POOL_MIN.safeParse(input.DB_POOL_MIN);
  const max = envSchema.shape.DB_POOL_MAX.safeParse(input.DB_POOL_MAX);
  if (min.success && max.success && max.data < min.data) {
    problems.push({ variable: 'DB_POOL_MAX', message: `must be ≥ DB_POOL_MIN (${min.data}) (got ${max.data})` });
  }
  const idle = envSchema.shape.SESSION_IDLE_TIMEOUT_SECONDS.safeParse(input.SESSION_IDLE_TIMEOUT_SECONDS);
  const maxAge = envSchema.shape.SESSION_MAX_AGE_SECONDS.safeParse(input.SESSION_MAX_AGE_SECONDS);
  if (idle.success && maxAge.success && maxAge.data < idle.data) {
    problems.push({
      variable: 'SESSION_MAX_AGE_SECONDS',
      message: `must be ≥ SESSION_IDLE_TIMEOUT_SECONDS (${idle.data}) (got ${maxAge.data})`,
    });
  }
  if (input.DATABASE_URL === undefined) {
    for (const key of ['DATABASE_HOST', 'DATABASE_NAME', 'DATABASE_USER', 'DATABASE_PASSWORD']) {
      if (input[key] === undefined) problems.push({ variable: key, message: 'is required (or set DATABASE_URL)' });
    }
  }
  if (input.REDIS_URL === undefined && input.REDIS_HOST === undefined) {
    problems.push({ variable: 'REDIS_HOST', message: 'is required (or set REDIS_URL)' });
  }
  return problems;
}

/** The validated environment, with defaults applied. */
export type Env = z.output<typeof envSchema>;

/** PostgreSQL target in the shape `pg` accepts. */
export type DatabaseConnection = { connectionString: string } | { host: string; port: number; database: string; user: string; password: string };

/** Redis target, resolved from REDIS_URL or the discrete fields; used by ioredis and bee-queue. */
export interface RedisConnection {
  host: string;
  port: number;
  /** ACL user name (from the URL only), or undefined for the default user. */
  username: string | undefined;
  password: string | undefined;
  /** Logical database index (from the URL path), default 0. */
  db: number;
  /** True for `rediss://`. */
  tls: boolean;
}

/** Validated configuration: the environment plus the resolved connection targets. */
export interface Config extends Env {
  database: DatabaseConnection;
  redis: RedisConnection;
}

/** One rejected variable. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

/**
 * The environment is invalid. `problems` names every bad variable; the message lists them one a
 * line, with the rejected value for non-secret variables. The operator must fix the `.env`.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.message}`);
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Validates `env` and returns the typed configuration.
 *
 * @param env variables as strings (default `process.env`); blank values count as unset.
 * @returns the config with defaults applied and `database`/`redis` resolved.
 * @throws ConfigError naming every invalid or missing variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value;
  }
  const result = envSchema.safeParse(input);
  const problems: ConfigProblem[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const variable = String(issue.path[0] ?? '(environment)');
      const raw = input[variable];
      const shown = raw !== undefined && !SECRET_VARIABLES.has(variable) ? ` (got ${JSON.stringify(raw)})` : '';
      problems.push({ variable, message: `${issue.message}${shown}` });
    }
  }
  for (const problem of crossFieldProblems(input)) {
    if (!problems.some((p) => p.variable === problem.variable)) problems.push(problem);
  }
  if (!result.success || problems.length > 0) throw new ConfigError(dedupe(problems));
  const parsed = result.data;
  return { ...parsed, database: resolveDatabase(parsed), redis: resolveRedis(parsed) };
}

/** Keeps the first problem per variable, in order. */
function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => (seen.has(p.variable) ? false : (seen.add(p.variable), true)));
}

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

function isUrlWithProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    const url = new URL(value);
    return protocols.includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

function resolveDatabase(env: Env): DatabaseConnection {
  if (env.DATABASE_URL !== undefined) return { connectionString: env.DATABASE_URL };
  // crossFieldProblems guarantees the discrete fields are present here.
  return {
    host: env.DATABASE_HOST as string,
    port: env.DATABASE_PORT,
    database: env.DATABASE_NAME as string,
    user: env.DATABASE_USER as string,
    password: env.DATABASE_PASSWORD as string,
  };
}

function resolveRedis(env: Env): RedisConnection {
  if (env.REDIS_URL !== undefined) {
    const url = new URL(env.REDIS_URL);
    const dbPath = url.pathname.replace(/^\//, '');
    return {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? 6379 : Number(url.port),
      username: url.username === '' ? undefined : decodeURIComponent(url.username),
      password: url.password === '' ? undefined : decodeURIComponent(url.password),
      db: /^\d+$/.test(dbPath) ? Number(dbPath) : 0,
      tls: url.protocol === 'rediss:',
    };
  }
  return {
    host: env.REDIS_HOST as string,
    port: env.REDIS_PORT,
    username: undefined,
    password: env.REDIS_PASSWORD,
    db: 0,
    tls: false,
  };
}

/**
 * A loggable, secret-free description of where the config points, e.g. for the start-up log.
 * @returns `{ database: "host:port/name", redis: "host:port/db" }`
 */
export function describeTargets(config: Config): { database: string; redis: string } {
  let database: string;
  if ('connectionString' in config.database) {
    const url = new URL(config.database.connectionString);
    database = `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } else {
    database = `${config.database.host}:${config.database.port}/${config.database.database}`;
  }
  return { database, redis: `${config.redis.host}:${config.redis.port}/${config.redis.db}` };
}
