/**
 * Real PostgreSQL and Redis for the server's integration tests.
 *
 * The shared services come from `eval "$(bash test/setup/services.sh)"`. Every test file gets its
 * own database (created here, dropped after) and its own queue prefix, so files never collide.
 * Throwaway redis-server processes on free ports let tests stop and restart Redis for real.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from '../../../net.helpers.js';
import { loadConfig, type Config } from '../../../../server/src/config/env.config.js';

/** The shared services' URLs. */
export interface TestServices {
  databaseUrl: string;
  redisUrl: string;
}

/**
 * Reads CAREBOX_TEST_DATABASE_URL and CAREBOX_TEST_REDIS_URL.
 * @throws Error saying how to start the services when either is missing.
 */
export function testServices(): TestServices {
  const databaseUrl = process.env.CAREBOX_TEST_DATABASE_URL;
  const redisUrl = process.env.CAREBOX_TEST_REDIS_URL;
  const missing = [databaseUrl ? null : 'CAREBOX_TEST_DATABASE_URL', redisUrl ? null : 'CAREBOX_TEST_REDIS_URL'].filter((v): v is string => v !== null);
  if (missing.length > 0) {
    throw new Error(
      `server integration tests need real PostgreSQL and Redis, but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set.\n` +
        'Start them and export the variables with:  eval "$(bash test/setup/services.sh)"',
    );
  }
  return { databaseUrl: databaseUrl!, redisUrl: redisUrl! };
}

/** A short random suffix for database names and queue prefixes. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A database of its own for one test file. */
export interface TestDatabase {
  url: string;
  name: string;
  /** Drops the database, disconnecting anyone still in it. */
  drop(): Promise<void>;
}

/** Creates an empty database next to the shared test database. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const { databaseUrl } = testServices();
  const name = `carebox_it_${label}_${uniqueSuffix()}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: databaseUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

export { freePort };

/**
 * Environment for the server with the given database and Redis, and a unique key prefix. The
 * worker's scheduler is off unless a test turns it on (scheduled jobs would change queue counts).
 */
export function serverEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const { databaseUrl, redisUrl } = testServices();
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_NAME_PREFIX: `it-${uniqueSuffix()}`,
    SCHEDULER_ENABLED: 'false',
    ...overrides,
  };
}

/** A validated config built from {@link serverEnv}. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(serverEnv(overrides));
}

/** A real redis-server of our own, which tests may stop and start again on the same port. */
export class ThrowawayRedis {
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
  ) {}

  /**
   * Starts redis-server on a free loopback port.
   * @param extraArgs more redis-server options, e.g. `['--maxclients', '2']`.
   */
  static async start(extraArgs: readonly string[] = []): Promise<ThrowawayRedis> {
    const redis = new ThrowawayRedis(await freePort(), extraArgs);
    await redis.startAgain();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and waits until it answers PING. */
  async startAgain(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...this.extraArgs],
      { stdio: 'ignore' },
    );
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (
        await this.command('PING').then(
          (r) => r === '+PONG',
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server on port ${this.port} did not answer PING within 10 s`);
  }

  /** Stops the server (SIGKILL: like a crash, nothing is saved) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * Sends one inline command over a fresh socket and returns the raw reply (first line, or the
   * whole bulk reply for CLIENT LIST). The socket is closed before the reply is returned.
   */
  async command(command: string): Promise<string> {
    const { Socket } = await import('node:net');
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      let data = '';
      socket.setTimeout(2_000, () => {
        socket.destroy();
        reject(new Error('redis command timed out'));
      });
      socket.once('error', reject);
      socket.connect(this.port, '127.0.0.1', () => socket.write(`${command}\r\n`));
      socket.on('data', (chunk) => {
        data += chunk.toString('utf8');
        const complete = data.startsWith('$')
          ? data.length >= data.indexOf('\r\n') + 2 + Number(data.slice(1, data.indexOf('\r\n'))) + 2
          : data.includes('\r\n');
        if (complete) {
          socket.destroy();
          resolve(data.startsWith('$') ? data.slice(data.indexOf('\r\n') + 2).trimEnd() : data.trimEnd());
        }
      });
    });
  }

  /** Client connections other than the one asking. */
  async otherClients(): Promise<string[]> {
    const list = await this.command('CLIENT LIST');
    return list.split('\n').filter((line) => line.trim() !== '' && !/ cmd=client\|list /.test(line) && !/ cmd=client /.test(line));
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
