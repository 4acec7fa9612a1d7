/**
 * Per-container pids limits (Compose `pids_limit`, the cgroup's `pids.max`): a fork bomb or a
 * thread leak in one container stops at its own limit instead of exhausting the host's PID space.
 * The kernel counts tasks, so a process's threads count too. Each figure is the container's
 * steady-state tasks, plus what `docker exec` and healthchecks add, plus headroom. Pure.
 */
import { derived, type Derived } from './derived.js';
import type { PlanSizing } from './plan.types.js';

/**
 * Tasks of one Node.js process: 7 threads idle (main, 4 V8 platform workers, inspector/signal
 * watcher; measured with Node 20 via /proc/<pid>/task) plus libuv's 4-thread pool once crypto,
 * DNS or fs work starts (SCRAM authentication does). 16 leaves room for a larger pool.
 */
export const NODE_PROCESS_TASKS = 16;
/**
 * PostgreSQL processes besides backends: postmaster, checkpointer, background writer, WAL
 * writer, autovacuum launcher and its 3 workers (autovacuum_max_workers default), logical
 * replication launcher, archiver, startup (PostgreSQL 15 docs, "Server Processes"). Rounded up.
 */
export const PG_AUXILIARY_PROCESSES = 16;
/** Tasks that `docker exec` (psql, pg_dump, pg_restore, redis-cli, nginx -s reload) and a healthcheck add at once. */
export const EXEC_TASKS = 16;
/**
 * Redis 7: main thread, 3 bio threads (close, fsync, lazy free), io-threads 1, jemalloc's
 * background thread, and one forked child (AOF rewrite) with its own threads. Rounded up.
 */
export const REDIS_TASKS = 32;
/** PgBouncer is one single-threaded process (PgBouncer docs); the rest is exec and headroom. */
export const PGBOUNCER_TASKS = 16;
/** Headroom on every computed figure: a limit that is just met would refuse the next legitimate fork. */
export const PIDS_HEADROOM = 32;

/** pids limit per service of the stack, by Compose service name. */
export interface PidsLimits {
  db: number;
  redis: number;
  pgbouncer: number;
  backend: number;
  worker: number;
  nginx: number;
}

/**
 * The pids limit of every service from the sizing that sets its process counts:
 * - backend: (WEB_CONCURRENCY workers + cluster primary + the healthcheck, itself a node process)
 *   × 16 tasks + exec + headroom;
 * - worker: (1 node process + its node healthcheck) × 16 + exec + headroom;
 * - db: max_connections backends + max_worker_processes (parallel workers) + 16 auxiliary
 *   processes + exec + headroom (PostgreSQL forks one process per connection);
 * - nginx: master + 2 × worker_processes (a graceful reload runs old and new workers side by
 *   side until the old ones drain) + exec + headroom;
 * - redis, pgbouncer: fixed, see the constants.
 * Source: the process models in each program's docs; the constants are Carebox's choices.
 */
export function pidsLimits(s: Pick<PlanSizing, 'backend' | 'postgres' | 'nginx'>): { [K in keyof PidsLimits]: Derived } {
  const node = (processes: number, what: string): Derived => {
    const v = (processes + 1) * NODE_PROCESS_TASKS + EXEC_TASKS + PIDS_HEADROOM;
    return derived(v, `pids ${v} = (${what} + 1 healthcheck) × ${NODE_PROCESS_TASKS} tasks + ${EXEC_TASKS} exec + ${PIDS_HEADROOM} headroom`);
  };
  const pg = s.postgres.maxConnections + s.postgres.maxWorkerProcesses + PG_AUXILIARY_PROCESSES + EXEC_TASKS + PIDS_HEADROOM;
  const ngx = 1 + 2 * s.nginx.workerProcesses + EXEC_TASKS + PIDS_HEADROOM;
  return {
    backend: node(s.backend.workers + 1, `${s.backend.workers} workers + 1 primary`),
    worker: node(1, '1 queue process'),
    db: derived(
      pg,
      `pids ${pg} = max_connections ${s.postgres.maxConnections} + max_worker_processes ${s.postgres.maxWorkerProcesses} + ${PG_AUXILIARY_PROCESSES} auxiliary + ${EXEC_TASKS} exec + ${PIDS_HEADROOM} headroom`,
    ),
    nginx: derived(
      ngx,
      `pids ${ngx} = 1 master + 2 × ${s.nginx.workerProcesses} workers (old and new during a reload) + ${EXEC_TASKS} exec/healthcheck + ${PIDS_HEADROOM} headroom`,
    ),
    redis: derived(
      REDIS_TASKS + EXEC_TASKS + PIDS_HEADROOM,
      `pids ${REDIS_TASKS + EXEC_TASKS + PIDS_HEADROOM} = ${REDIS_TASKS} redis tasks (main, bio, io threads, AOF rewrite child) + ${EXEC_TASKS} exec + ${PIDS_HEADROOM} headroom`,
    ),
    pgbouncer: derived(
      PGBOUNCER_TASKS + EXEC_TASKS + PIDS_HEADROOM,
      `pids ${PGBOUNCER_TASKS + EXEC_TASKS + PIDS_HEADROOM} = ${PGBOUNCER_TASKS} (one single-threaded process) + ${EXEC_TASKS} exec + ${PIDS_HEADROOM} headroom`,
    ),
  };
}
