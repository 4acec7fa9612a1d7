/**
 * Creates bee-queue instances in the two roles the server uses, with the Redis settings and the
 * error handling every queue needs. See job.definitions.ts for the connection counts.
 */
import { createRequire } from 'node:module';
import Queue from 'bee-queue';
import type { ClientOpts, RetryStrategyOptions } from 'redis';
import type { Logger } from 'pino';
import type { Config, RedisConnection } from '../config/env.config.js';
import { isMaxClientsError, redisRetryDelayMs } from '../cache/redis-retry.policy.js';
import { STALL_INTERVAL_MS, type QueueName } from './job.definitions.js';

/**
 * node_redis gives up reconnecting once the total retry time exceeds `connect_timeout` (default
 * one hour), after which a queue is dead for good. The largest timer Node accepts (~24.8 days)
 * makes that practically never happen; an error with code CONNECTION_BROKEN is still treated as
 * fatal by the processes (they exit and get restarted).
 */
const NEVER_GIVE_UP_MS = 2 ** 31 - 1;

/**
 * node_redis (v3) options for bee-queue's own connections.
 * @param offlineQueue false for producers in request paths: commands fail at once while Redis is
 *   unreachable instead of waiting for the reconnect.
 */
export function beeQueueRedisOptions(connection: RedisConnection, offlineQueue: boolean): ClientOpts {
  return {
    host: connection.host,
    port: connection.port,
    db: connection.db,
    ...(connection.password === undefined ? {} : { password: connection.password }),
    ...(connection.username === undefined ? {} : { user: connection.username }),
    ...(connection.tls ? { tls: { servername: connection.host } } : {}),
    enable_offline_queue: offlineQueue,
    connect_timeout: NEVER_GIVE_UP_MS,
    retry_strategy: (options: RetryStrategyOptions) => redisRetryDelayMs(options.attempt, options.error),
  } as ClientOpts;
}

/** Called when a queue's Redis client gave up for good (the process should exit and restart). */
export type BrokenConnectionHandler = (queue: QueueName, err: Error) => void;

/**
 * Attaches the `error` listener every queue must have: without it a Redis error event crashes the
 * process and leaves its jobs orphaned in `active`. Logs the first error, then at most one line a
 * minute with a count, so an outage does not flood the log.
 */
function attachErrorHandling(queue: Queue, name: QueueName, logger: Logger<string>, onBroken: BrokenConnectionHandler): void {
  const log = logger.child({ component: 'queue', queue: name });
  let lastLoggedAt = 0;
  let suppressed = 0;
  queue.on('error', (err: Error) => {
    if ((err as { code?: unknown }).code === 'CONNECTION_BROKEN') {
      log.fatal({ err }, 'queue Redis connection gave up');
      onBroken(name, err);
      return;
    }
    const now = Date.now();
    if (now - lastLoggedAt < 60_000) {
      suppressed += 1;
      return;
    }
    log.warn({ err, suppressed, maxClients: isMaxClientsError(err) }, 'queue Redis error; retrying');
    lastLoggedAt = now;
    suppressed = 0;
  });
}

/** bee-queue's Lua script loader (internal module, no types of its own). */
const beeQueueLua = createRequire(import.meta.url)('bee-queue/lib/lua/index.js') as {
  buildCache(client: unknown): Promise<unknown>;
};

/** The node_redis command client bee-queue keeps on the (untyped) `client` field. */
interface CommandClient {
  on(event: 'ready', listener: () => void): void;
}

/**
 * Watches a queue's connection.
 *
 * - bee-queue loads its Lua scripts (enqueue, stall check, delayed jobs) once, when it first
 *   connects, and runs them with EVALSHA. Redis never persists its script cache, so after a Redis
 *   restart every EVALSHA fails with NOSCRIPT and the queue can neither enqueue nor re-queue
 *   stalled jobs until the process restarts. So the scripts are reloaded on every reconnect.
 * - If the first connection is refused with an error reply (a wrong password, or "max number of
 *   clients reached"), bee-queue gives up on the queue for good. That is reported as broken, so
 *   the process exits and is restarted with a backoff (cluster primary / container restart
 *   policy) instead of running on with a dead queue.
 */
function watchConnection(queue: Queue, name: QueueName, log: Logger<string>, onBroken: BrokenConnectionHandler): void {
  queue.ready().then(
    () => {
      const client = (queue as unknown as { client?: CommandClient | null }).client;
      // The first 'ready' has passed; this listener sees reconnects only.
      client?.on('ready', () => {
        beeQueueLua.buildCache(client).then(
          () => log.info('queue Redis reconnected; scripts reloaded'),
          (err: unknown) => log.warn({ err }, 'could not reload queue scripts after reconnect'),
        );
      });
    },
    (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      log.fatal({ err: error, maxClients: isMaxClientsError(error) }, 'queue could not connect to Redis; giving up on this process');
      onBroken(name, error);
    },
  );
}

/** Options of the queue constructors. */
export interface QueueFactoryOptions {
  logger: Logger<string>;
  onBroken: BrokenConnectionHandler;
}

/**
 * A producer queue for the web process: 1 Redis connection, enqueues and reads job state only.
 * Job objects are not kept in memory (`storeJobs: false`): with no event subscription nothing
 * would ever remove them.
 */
export function createProducerQueue(config: Config, name: QueueName, options: QueueFactoryOptions): Queue {
  const queue = new Queue(name, {
    prefix: config.QUEUE_NAME_PREFIX,
    redis: beeQueueRedisOptions(config.redis, false),
    isWorker: false,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    activateDelayedJobs: false,
  });
  attachErrorHandling(queue, name, options.logger, options.onBroken);
  watchConnection(queue, name, options.logger.child({ component: 'queue', queue: name }), options.onBroken);
  return queue;
}

/**
 * A worker queue for the worker process: 3 Redis connections (command, blocking, delayed-job
 * subscriber). Finished jobs stay in Redis so their status can be read.
 */
export function createWorkerQueue(config: Config, name: QueueName, options: QueueFactoryOptions): Queue {
  const queue = new Queue(name, {
    prefix: config.QUEUE_NAME_PREFIX,
    redis: beeQueueRedisOptions(config.redis, true),
    isWorker: true,
    getEvents: false,
    sendEvents: false,
    storeJobs: false,
    activateDelayedJobs: true,
    stallInterval: STALL_INTERVAL_MS,
    removeOnSuccess: false,
    removeOnFailure: false,
  });
  attachErrorHandling(queue, name, options.logger, options.onBroken);
  watchConnection(queue, name, options.logger.child({ component: 'queue', queue: name }), options.onBroken);
  return queue;
}

/** bee-queue keeps its node_redis clients on these (untyped) fields. */
interface QueueClients {
  client?: { end(flush: boolean): void } | null;
  bclient?: { end(flush: boolean): void } | null;
  eclient?: { end(flush: boolean): void } | null;
}

/**
 * Closes a queue: a worker stops taking jobs and waits up to `timeoutMs` for its active jobs, then
 * the connections close. If Redis is unreachable the graceful close cannot finish, so after the
 * timeout (plus 1 s) the sockets are dropped. Never throws.
 *
 * @returns `'closed'`, or `'forced'` when active jobs were still running or Redis was gone (those
 *   jobs are picked up again by the stall check of the next worker).
 */
export async function closeQueue(queue: Queue, timeoutMs: number): Promise<'closed' | 'forced'> {
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<'forced'>((resolve) => {
    timer = setTimeout(() => resolve('forced'), timeoutMs + 1_000);
  });
  const graceful = queue.close(timeoutMs).then(
    () => 'closed' as const,
    () => 'forced' as const,
  );
  const outcome = await Promise.race([graceful, forced]);
  clearTimeout(timer);
  if (outcome === 'forced') {
    const clients = queue as unknown as QueueClients;
    for (const c of [clients.client, clients.bclient, clients.eclient]) c?.end(false);
  }
  return outcome;
}
