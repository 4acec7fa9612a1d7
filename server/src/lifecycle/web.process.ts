/**
 * One web process (a cluster worker): builds the dependencies and the app, listens, and shuts
 * down gracefully on SIGTERM/SIGINT:
 *   1. readiness answers 503 `shutting_down`;
 *   2. the server stops accepting connections and answers every request with `Connection: close`;
 *      a keep-alive connection idle between requests is left for nginx to close (its upstream
 *      keepalive_timeout) and closed here only after DRAIN_IDLE_CLOSE_MS (connection-drain.ts);
 *   3. requests in flight (including ones on connections accepted but not yet read) finish, for at
 *      most SHUTDOWN_TIMEOUT_MS, then the rest are cut off;
 *   4. the producer queues, the knex pool and Redis close (≤ 2 s);
 *   5. the process exits 0.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { Logger } from 'pino';
import { createApp } from '../app.js';
import { withLivenessFastPath } from '../health/liveness.fast-path.js';
import { clusterWorkerMetricsSource } from '../observability/cluster-metrics.js';
import type { Config } from '../config/env.config.js';
import { ConnectionDrain } from './connection-drain.js';
import { installFatalHandlers, onTerminationSignal } from './process-guards.js';
import { createWebDependencies, type WebDependencies } from './web.dependencies.js';

/**
 * Node closes idle keep-alive sockets after this, in ms. Longer than nginx's upstream keepalive
 * timeout (the plan's `upstream.keepaliveTimeoutS`, 4 s; nginx's own default is 60 s), so nginx
 * never reuses a socket Node is closing (a source of stray 502s).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Connections the kernel queues for accept(), at most (it caps this at net.core.somaxconn). Node's
 * default, 511, overflowed when a thousand clients connected at once (nginx opens one connection
 * per request): the dropped SYNs were retried by the clients after 1, 3, 7 s, which showed up as
 * 10 s timeouts in `npm run bench` at 1,000 connections.
 */
export const LISTEN_BACKLOG = 4_096;

/**
 * Drains and closes: readiness off, stop accepting, let every request that reached the server
 * finish (bounded), close the dependencies. See connection-drain.ts for why this does not use
 * `server.close()`'s own idle-connection handling.
 * @param timeoutMs most time to wait for in-flight requests, in ms.
 * @returns whether every request finished in time.
 */
export async function shutdownWebServer(
  drain: ConnectionDrain,
  deps: Pick<WebDependencies, 'readiness' | 'close' | 'logger'>,
  timeoutMs: number,
): Promise<{ drained: boolean }> {
  deps.readiness.beginShutdown();
  const drained = await drain.drain(timeoutMs);
  if (!drained) {
    deps.logger.warn({ timeoutMs, connections: drain.size }, 'requests still in flight at SHUTDOWN_TIMEOUT_MS; closing their connections');
    drain.destroyAll();
  }
  await deps.close();
  return { drained };
}

/** Runs the web process until a termination signal; then exits the process. */
export function runWebProcess(config: Config, logger: Logger<string>): void {
  installFatalHandlers(logger);
  let stopping = false;
  const stop = async (reason: string, exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down: draining requests');
    const { drained } = await shutdownWebServer(drain, deps, config.SHUTDOWN_TIMEOUT_MS);
    logger.info({ drained }, 'shutdown complete');
    process.exit(exitCode);
  };

  const deps = createWebDependencies(config, logger, () => void stop('queue Redis connection broken', 1));
  if (cluster.isWorker) deps.metricsSource = clusterWorkerMetricsSource(deps.metrics.registry, logger);
  const app = createApp(deps);
  const server = createServer(withLivenessFastPath(app, deps.metrics));
  const drain = new ConnectionDrain(server, { idleCloseMs: Math.min(config.DRAIN_IDLE_CLOSE_MS, config.SHUTDOWN_TIMEOUT_MS) });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  server.on('error', (err) => {
    logger.fatal({ err }, 'HTTP server error; exiting');
    process.exit(1);
  });
  server.listen({ port: config.PORT, host: config.HOST, backlog: LISTEN_BACKLOG }, () => {
    logger.info({ port: config.PORT, host: config.HOST }, 'listening');
  });
  onTerminationSignal(logger, (signal) => void stop(signal, 0));
}
