import { expect } from 'chai';
import { ConfigError, describeTargets, loadConfig, parseTrustProxy } from '../../../../server/src/config/env.config.js';

/** A complete environment with discrete fields, as the installer renders it. */
const GOOD_ENV = {
  NODE_ENV: 'production',
  PORT: '3000',
  DATABASE_HOST: 'postgres',
  DATABASE_PORT: '5432',
  DATABASE_NAME: 'carebox',
  DATABASE_USER: 'carebox',
  DATABASE_PASSWORD: 's3cret-db',
  REDIS_HOST: 'redis',
  REDIS_PASSWORD: 's3cret-redis',
};

function problemsOf(env: Record<string, string | undefined>): Map<string, string> {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return new Map((err as ConfigError).problems.map((p) => [p.variable, p.message]));
  }
  expect.fail('loadConfig accepted an invalid environment');
}

describe('server config: loadConfig', () => {
  it('accepts a complete environment and applies every default', () => {
    const config = loadConfig(GOOD_ENV);
    expect(config).to.include({
      NODE_ENV: 'production',
      PORT: 3000,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      WEB_CONCURRENCY: 1,
      DB_POOL_MIN: 0,
      DB_POOL_MAX: 10,
      DB_ACQUIRE_TIMEOUT_MS: 2000,
      DB_STATEMENT_TIMEOUT_MS: 15000,
      DB_PGBOUNCER: false,
      QUEUE_CONCURRENCY: 2,
      QUEUE_NAME_PREFIX: 'carebox',
      BODY_LIMIT_BYTES: 1_048_576,
      SHUTDOWN_TIMEOUT_MS: 10_000,
      TRUST_PROXY: 1,
    });
    expect(config.database).to.deep.equal({
      host: 'postgres',
      port: 5432,
      database: 'carebox',
      user: 'carebox',
      password: 's3cret-db',
    });
    expect(config.redis).to.deep.equal({
      host: 'redis',
      port: 6379,
      username: undefined,
      password: 's3cret-redis',
      db: 0,
      tls: false,
    });
  });

  it('coerces numbers and booleans from strings', () => {
    const config = loadConfig({
      ...GOOD_ENV,
      WEB_CONCURRENCY: '8',
      DB_POOL_MIN: '2',
      DB_POOL_MAX: '20',
      DB_PGBOUNCER: 'true',
      BODY_LIMIT_BYTES: '10485760',
      TRUST_PROXY: 'loopback, 10.0.0.0/8',
    });
    expect(config.WEB_CONCURRENCY).to.equal(8);
    expect(config.DB_POOL_MIN).to.equal(2);
    expect(config.DB_POOL_MAX).to.equal(20);
    expect(config.DB_PGBOUNCER).to.equal(true);
    expect(config.BODY_LIMIT_BYTES).to.equal(10_485_760);
    expect(config.TRUST_PROXY).to.equal('loopback, 10.0.0.0/8');
  });

  it('treats blank values as unset, so a rendered `KEY=` takes the default', () => {
    const config = loadConfig({ ...GOOD_ENV, PORT: '', REDIS_PASSWORD: '  ', DB_POOL_MAX: '' });
    expect(config.PORT).to.equal(3000);
    expect(config.DB_POOL_MAX).to.equal(10);
    expect(config.redis.password).to.equal(undefined);
  });

  it('accepts DATABASE_URL and REDIS_URL instead of the discrete fields', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://app:p%40ss@db.internal:6543/records',
      REDIS_URL: 'rediss://worker:r%3Apw@cache.internal:6380/3',
    });
    expect(config.database).to.deep.equal({ connectionString: 'postgres://app:p%40ss@db.internal:6543/records' });
    expect(config.redis).to.deep.equal({
      host: 'cache.internal',
      port: 6380,
      username: 'worker',
      password: 'r:pw',
      db: 3,
      tls: true,
    });
    expect(describeTargets(config)).to.deep.equal({ database: 'db.internal:6543/records', redis: 'cache.internal:6380/3' });
  });

  it('prefers DATABASE_URL over discrete fields when both are set', () => {
    const config = loadConfig({ ...GOOD_ENV, DATABASE_URL: 'postgresql://u:p@elsewhere/db' });
    expect(config.database).to.deep.equal({ connectionString: 'postgresql://u:p@elsewhere/db' });
  });

  const badValues: Array<[string, string, RegExp]> = [
    ['NODE_ENV', 'staging', /production, development or test/],
    ['PORT', 'abc', /integer between 1 and 65535/],
    ['PORT', '70000', /integer between 1 and 65535/],
    ['LOG_LEVEL', 'loud', /one of fatal/],
    ['WEB_CONCURRENCY', '0', /between 1 and 64/],
    ['WEB_CONCURRENCY', '65', /between 1 and 64/],
    ['WEB_CONCURRENCY', '2.5', /integer/],
    ['DATABASE_PORT', '-1', /between 1 and 65535/],
    ['DB_POOL_MIN', '-1', /between 0 and 1000/],
    ['DB_POOL_MAX', '0', /between 1 and 1000/],
    ['DB_ACQUIRE_TIMEOUT_MS', '10', /between 50 and 120000/],
    ['DB_STATEMENT_TIMEOUT_MS', 'soon', /integer/],
    ['DB_PGBOUNCER', 'yes', /"true" or "false"/],
    ['REDIS_PORT', '0', /between 1 and 65535/],
    ['QUEUE_CONCURRENCY', '0', /between 1 and 256/],
    ['QUEUE_NAME_PREFIX', 'has space', /letters, digits/],
    ['BODY_LIMIT_BYTES', '10', /between 1024/],
    ['SHUTDOWN_TIMEOUT_MS', '1e9', /between 100 and 600000/],
    ['TRUST_PROXY', 'everyone please', /hop count/],
    ['DATABASE_URL', 'mysql://x@y/z', /postgres:\/\//],
    ['REDIS_URL', 'http://cache', /redis:\/\//],
  ];
  for (const [variable, value, message] of badValues) {
    it(`names ${variable} when it is ${JSON.stringify(value)}`, () => {
      const problems = problemsOf({ ...GOOD_ENV, [variable]: value });
      expect([...problems.keys()]).to.deep.equal([variable]);
      expect(problems.get(variable)).to.match(message);
    });
  }

  it('requires DB_POOL_MAX ≥ DB_POOL_MIN', () => {
    const problems = problemsOf({ ...GOOD_ENV, DB_POOL_MIN: '5', DB_POOL_MAX: '2' });
    expect(problems.get('DB_POOL_MAX')).to.match(/≥ DB_POOL_MIN \(5\)/);
  });

  it('names each missing database and Redis field when no URL is given', () => {
    const problems = problemsOf({});
    expect([...problems.keys()].sort()).to.deep.equal(['DATABASE_HOST', 'DATABASE_NAME', 'DATABASE_PASSWORD', 'DATABASE_USER', 'REDIS_HOST'].sort());
    expect(problems.get('DATABASE_HOST')).to.match(/or set DATABASE_URL/);
    expect(problems.get('REDIS_HOST')).to.match(/or set REDIS_URL/);
  });

  it('reports every bad variable at once, per-field and cross-field together', () => {
    const problems = problemsOf({
      ...GOOD_ENV,
      PORT: 'x',
      WEB_CONCURRENCY: '0',
      DB_POOL_MIN: '9',
      DB_POOL_MAX: '3',
      REDIS_HOST: undefined,
    });
    expect([...problems.keys()].sort()).to.deep.equal(['DB_POOL_MAX', 'PORT', 'REDIS_HOST', 'WEB_CONCURRENCY']);
  });

  it('echoes rejected values of ordinary variables but never of secrets', () => {
    let message = '';
    try {
      loadConfig({ ...GOOD_ENV, PORT: 'eighty', DATABASE_URL: 'mysql://root:hunter2@db/x', REDIS_URL: 'ftp://:topsecret@r' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.include('PORT: must be an integer between 1 and 65535 (got "eighty")');
    expect(message).to.include('DATABASE_URL');
    expect(message).to.include('REDIS_URL');
    expect(message).not.to.include('hunter2');
    expect(message).not.to.include('topsecret');
  });
});

describe('server config: parseTrustProxy', () => {
  it('reads hop counts, booleans and address lists', () => {
    expect(parseTrustProxy('2')).to.equal(2);
    expect(parseTrustProxy('true')).to.equal(true);
    expect(parseTrustProxy('false')).to.equal(false);
    expect(parseTrustProxy('loopback,172.16.0.0/12')).to.equal('loopback,172.16.0.0/12');
  });
});

describe('server config: sessions, sign-in throttle, cache, mail and jobs', () => {
  it('applies the defaults of sessions, sign-in throttle, cache, mail and job retention', () => {
    const config = loadConfig(GOOD_ENV);
    expect(config).to.include({
      SESSION_IDLE_TIMEOUT_SECONDS: 1800,
      SESSION_MAX_AGE_SECONDS: 43_200,
      LOGIN_THROTTLE_WINDOW_SECONDS: 900,
      LOGIN_CLIENT_MAX_ATTEMPTS: 5,
      LOGIN_ACCOUNT_DELAY_AFTER: 5,
      LOGIN_ACCOUNT_DELAY_STEP_MS: 500,
      LOGIN_ACCOUNT_MAX_DELAY_MS: 5000,
      LOGIN_RATE_LIMIT_MAX: 10,
      LOGIN_RATE_LIMIT_WINDOW_SECONDS: 60,
      PATIENT_CACHE_TTL_SECONDS: 300,
      HOSPITAL_TIMEZONE: 'UTC',
      MAIL_FROM: 'Carebox <no-reply@carebox.invalid>',
      MAIL_FILE_DIR: '/tmp/carebox-mail',
      REMINDER_LEAD_HOURS: 24,
      REMINDER_SCAN_INTERVAL_SECONDS: 300,
      JOB_RETENTION_SUCCEEDED_HOURS: 24,
      JOB_RETENTION_FAILED_HOURS: 168,
      EXPORT_RETENTION_HOURS: 24,
      SCHEDULER_ENABLED: true,
    });
    expect(config.DAILY_REPORT_RECIPIENTS).to.deep.equal([]);
    expect(config.SMTP_URL, 'unset: mail goes to files').to.equal(undefined);
  });

  it('validates the new variables and never echoes SMTP_URL (it holds a password)', () => {
    const problems = problemsOf({
      ...GOOD_ENV,
      HOSPITAL_TIMEZONE: 'Mars/Olympus',
      SMTP_URL: 'http://user:hunter2@mail',
      SESSION_IDLE_TIMEOUT_SECONDS: '3600',
      SESSION_MAX_AGE_SECONDS: '600',
      DAILY_REPORT_RECIPIENTS: 'a@b.example, not-an-address',
      PATIENT_CACHE_TTL_SECONDS: '-1',
    });
    expect(problems.get('HOSPITAL_TIMEZONE')).to.match(/IANA time zone/);
    expect(problems.get('SMTP_URL')).to.equal('must be an smtp:// or smtps:// URL');
    expect(problems.get('SESSION_MAX_AGE_SECONDS')).to.match(/≥ SESSION_IDLE_TIMEOUT_SECONDS \(3600\)/);
    expect(problems.get('DAILY_REPORT_RECIPIENTS')).to.match(/e-mail addresses/);
    expect(problems.get('PATIENT_CACHE_TTL_SECONDS')).to.match(/between 0 and 86400/);
    const config = loadConfig({
      ...GOOD_ENV,
      SMTP_URL: 'smtps://u:p@mail.example',
      DAILY_REPORT_RECIPIENTS: ' a@b.example , c@d.example ',
      PATIENT_CACHE_TTL_SECONDS: '0',
    });
    expect(config.DAILY_REPORT_RECIPIENTS).to.deep.equal(['a@b.example', 'c@d.example']);
    expect(config.PATIENT_CACHE_TTL_SECONDS).to.equal(0);
  });
});
