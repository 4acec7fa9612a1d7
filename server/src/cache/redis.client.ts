/**
 * The ioredis client factory.
 *
 * - An `error` listener is attached before the client connects, so a Redis error never becomes
 *   an unhandled `error` event; the first error of an outage is logged once, then the recovery.
 * - Reconnects never stop and back off per {@link redisRetryDelayMs} (harder on max-clients).
 * - Request paths fail fast: a command waits at most REDIS_COMMAND_TIMEOUT_MS and is retried over
 *   at most one reconnect, so callers (cache reads, readiness) fall back instead of hanging.
 * - Auto-pipelining: the commands of one event-loop turn share one round trip.
 *
 * One client is one Redis connection.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConnection } from '../config/env.config.js';
import { isMaxClientsError, redisRetryDelayMs } from './redis-retry.policy.js';

/** A Redis command that gets no reply within this many ms fails (request paths fail fast). */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;
/** TCP connect + handshake timeout, in ms. */
export const REDIS_CONNECT_TIMEOUT_MS = 5_000;

interface ConnectionState {
  lastError: Error | undefined;
  outageLogged: boolean;
}
const states = new WeakMap<Redis, ConnectionState>();

/** Options of {@link createRedisClient}. */
export interface RedisClientOptions {
  logger: Logger<string>;
  /** `CLIENT SETNAME` of the connection, e.g. `carebox-web` (visible in `CLIENT LIST`). */
  connectionName: string;
}

/**
 * Creates an ioredis client and starts connecting. Never throws for an unreachable Redis.
 * @returns the client; close it with `quit()` (or `disconnect()` when Redis is gone).
 */
export function createRedisClient(connection: RedisConnection, options: RedisClientOptions): Redis {
  const state: ConnectionState = { lastError: undefined, outageLogged: false };
  const log = options.logger.child({ component: 'redis', connection: options.connectionName });
  const client = new Redis({
    host: connection.host,
    port: connection.port,
    ...(connection.username === undefined ? {} : { username: connection.username }),
    ...(connection.password === undefined ? {} : { password: connection.password }),
    db: connection.db,
    ...(connection.tls ? { tls: { servername: connection.host } } : {}),
    connectionName: options.connectionName,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // Commands issued in the same event-loop turn (many requests' session and cache reads under
    // load) go out in one write and come back in one read, instead of a syscall pair each.
    enableAutoPipelining: true,
    retryStrategy: (times: number) => redisRetryDelayMs(times, state.lastError),
    lazyConnect: true,
  });
  states.set(client, state);
  client.on('error', (err: Error) => {
    state.lastError = err;
    if (!state.outageLogged) {
      state.outageLogged = true;
      log.warn({ err, maxClients: isMaxClientsError(err) }, 'Redis connection failed; reconnecting with backoff (cache bypassed meanwhile)');
    } else {
      log.debug({ err }, 'Redis still unavailable');
    }
  });
  client.on('ready', () => {
    if (state.outageLogged) log.info('Redis connection restored');
    state.outageLogged = false;
    state.lastError = undefined;
  });
  // Connect only now that the listeners are in place; failures are reported through `error`.
  client.connect().catch(() => undefined);
  return client;
}

/** The last connection error of a client made by {@link createRedisClient}, if it is not ready. */
export function lastRedisError(client: Redis): Error | undefined {
  return states.get(client)?.lastError;
}

/**
 * Closes a client: `QUIT` when connected (bounded by `timeoutMs`), else drops the socket.
 * Never throws.
 */
export async function closeRedisClient(client: Redis, timeoutMs = 1_000): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  const timer = setTimeout(() => client.disconnect(), timeoutMs);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
