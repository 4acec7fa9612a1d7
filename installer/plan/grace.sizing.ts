import { derived, type Derived } from './derived.js';

/** Services whose stop_grace_period the plan sets. */
export type GraceService = 'backend' | 'worker' | 'db' | 'redis' | 'nginx';

/** Seconds Docker waits after SIGTERM before SIGKILL, per service (Compose `stop_grace_period`). */
export type StopGracePeriods = Record<GraceService, number>;

/** The cluster primary force-kills its web workers this long after SHUTDOWN_TIMEOUT_MS (server/src/lifecycle/cluster.primary.ts), ms. */
const PRIMARY_GRACE_MS = 5_000;
/** A queue worker closes its Redis and PostgreSQL connections after its jobs finished (server/src/worker.ts), ms at most. */
const WORKER_CLOSE_MS = 15_000;
/**
 * Time a queue worker's active jobs get beyond the web drain, ms: a job (a report, an export) runs
 * longer than a request. Our choice.
 */
export const WORKER_JOBS_EXTRA_MS = 15_000;
/** Margin over a process's own deadline before Docker's SIGKILL, s. */
const MARGIN_S = 10;

/**
 * stop_grace_period of each service, from the server's drain time (`shutdownTimeoutMs`, ms):
 * - backend: drain rounded up to seconds + 10 s, which covers the primary's force-kill 5 s after the drain;
 * - worker: active jobs (drain) + 15 s closing connections, + 10 s margin;
 * - db 60 s: a fast shutdown with a checkpoint of up to shared_buffers of dirty pages (a SIGKILL
 *   means crash recovery at the next start);
 * - redis 30 s: the shutdown save of its RDB/AOF;
 * - nginx 20 s: a graceful quit lets in-flight proxied requests finish.
 * Pure.
 */
export function stopGracePeriods(shutdownTimeoutMs: number): Record<GraceService, Derived> {
  const backend = Math.ceil(shutdownTimeoutMs / 1000) + MARGIN_S;
  const worker = Math.ceil((shutdownTimeoutMs + WORKER_CLOSE_MS) / 1000) + MARGIN_S;
  return {
    backend: derived(
      backend,
      `backend ${backend} s = ceil(drain ${shutdownTimeoutMs} ms / 1000) + ${MARGIN_S} s (covers the primary's force-kill ${PRIMARY_GRACE_MS} ms after the drain)`,
    ),
    worker: derived(
      worker,
      `worker ${worker} s = ceil((active jobs ${shutdownTimeoutMs} ms + closing connections ${WORKER_CLOSE_MS} ms) / 1000) + ${MARGIN_S} s margin`,
    ),
    db: derived(60, 'db 60 s (constant): a fast shutdown writes a checkpoint; SIGKILL would mean crash recovery at the next start'),
    redis: derived(30, 'redis 30 s (constant): the shutdown save of its data'),
    nginx: derived(20, 'nginx 20 s (constant): a graceful quit lets proxied requests in flight finish'),
  };
}

/** The seconds of {@link stopGracePeriods} without their derivations. Pure. */
export function stopGraceSeconds(shutdownTimeoutMs: number): StopGracePeriods {
  const d = stopGracePeriods(shutdownTimeoutMs);
  return { backend: d.backend.value, worker: d.worker.value, db: d.db.value, redis: d.redis.value, nginx: d.nginx.value };
}

/**
 * The queue worker's SHUTDOWN_TIMEOUT_MS, ms: how long it waits for its active jobs after SIGTERM
 * (server/src/worker.ts), the web drain `shutdownTimeoutMs` + {@link WORKER_JOBS_EXTRA_MS}. Its
 * stop_grace_period ({@link stopGracePeriods}) covers it. Pure.
 */
export function workerShutdownTimeout(shutdownTimeoutMs: number): Derived {
  const ms = shutdownTimeoutMs + WORKER_JOBS_EXTRA_MS;
  return derived(
    ms,
    `queue worker SHUTDOWN_TIMEOUT_MS ${ms} ms = drain ${shutdownTimeoutMs} ms + ${WORKER_JOBS_EXTRA_MS} ms (a job runs longer than a request)`,
  );
}
