/**
 * Per-service sizing formulas besides PostgreSQL's (postgres.sizing.ts) and the tier layouts
 * (tier.shapes.ts). Each function returns the number with its one-line derivation and names its
 * source in its docstring: a public anchor (GitLab Omnibus, PgTune, Discourse, nginx/Redis/PgBouncer
 * docs), the seed document, or Carebox's own measurement/choice (constants in sizing.constants.ts).
 * All pure. Bytes are bytes, CPUs are (possibly fractional) CPUs, times are ms unless named `S`.
 */
import { b, c, clamp, derived, floorMiB, type Derived } from './derived.js';
import type { NginxUpstreamSizing } from './plan.types.js';
import {
  CLUSTER_PRIMARY_BYTES,
  DRAIN_IDLE_CLOSE_MARGIN_MS,
  HEAP_SHARE,
  JSON_PARSE_HEAP_PER_BYTE,
  JSON_PARSE_HEAP_SHARE,
  JSON_WRITE_BODY_BYTES,
  MAX_CLUSTER_NODES,
  MiB,
  MIN_CLUSTER_NODES,
  NGINX_BASE_BYTES,
  NGINX_CONNECTION_HEADROOM,
  NGINX_FDS_PER_CONNECTION,
  NGINX_KEEPALIVE_TIMEOUT_S,
  NGINX_MAX_WORKER_CONNECTIONS,
  NGINX_MAX_WORKERS,
  NGINX_MEMORY_PER_WORKER_SLOT,
  MIN_NGINX_VERSION,
  NGINX_RESOLVER_VALID_S,
  NGINX_UPSTREAM_FAIL_TIMEOUT_S,
  NGINX_UPSTREAM_KEEPALIVE_MAX,
  NGINX_UPSTREAM_KEEPALIVE_MIN,
  NGINX_UPSTREAM_KEEPALIVE_REQUESTS,
  NGINX_UPSTREAM_KEEPALIVE_TIMEOUT_S,
  NGINX_MIN_WORKER_CONNECTIONS,
  NGINX_PER_WORKER_BYTES,
  NGINX_SOCKETS_PER_USER,
  PGBOUNCER_BYTES,
  POOL_ACQUIRE_TIMEOUT_MS,
  POOL_MIN,
  QUEUE_ACQUIRE_TIMEOUT_MS,
  QUEUE_POOL_MIN,
  QUEUE_WORKER_BYTES,
  REDIS_CLIENT_HEADROOM_EXTRA,
  REDIS_CLIENT_HEADROOM_FACTOR,
  REDIS_CONTAINER_EXTRA_BYTES,
  REDIS_CONTAINER_FACTOR,
  REDIS_MAX_BYTES,
  REDIS_MEMORY_FRACTION,
  REDIS_MIN_BYTES,
  WEB_WORKER_BYTES,
} from './sizing.constants.js';

/** A container's limits with their derivations (rendered as Compose `cpus:` and `mem_limit:`). */
export interface DerivedLimits {
  cpus: Derived;
  memoryBytes: Derived;
}

/** CPU figures in limits: rounded down to 1/100 CPU, so a limit never exceeds usable CPUs. */
export const cpuLimit = (x: number): number => Math.floor(x * 100) / 100;

/**
 * A CPU limit of `min(want, usable CPUs)`. CFS quotas are caps, not reservations: the sum over
 * containers may exceed usable CPUs (they rarely peak together), but no single container's cap may
 * (invariant 3; checkBudgets asserts it).
 */
function cappedCpus(service: string, want: number, wantText: string, cpus: number): Derived {
  const v = cpuLimit(Math.min(want, cpus));
  return derived(v, `${service} cpus ${v} = min(${wantText}, usable CPUs ${c(cpus)})`);
}

// ---- node processes --------------------------------------------------------------------------

/**
 * Backend container limits: one CPU per cluster worker (a node worker runs JavaScript on one
 * thread), memory = workers × 160 MiB + 48 MiB for the cluster primary. Source: Carebox's
 * measurement (`npm run bench`: 70–110 MiB RSS per worker under the read mix, plus heap headroom).
 */
export function backendLimits(workers: number, cpus: number): DerivedLimits {
  const mem = workers * WEB_WORKER_BYTES + CLUSTER_PRIMARY_BYTES;
  return {
    cpus: cappedCpus('backend', workers, `${workers} workers × 1 CPU`, cpus),
    memoryBytes: derived(
      mem,
      `backend memory ${b(mem)} = ${workers} workers × ${b(WEB_WORKER_BYTES)} + primary ${b(CLUSTER_PRIMARY_BYTES)} (Carebox measurement)`,
    ),
  };
}

/**
 * Queue worker container limits: one node process, so at most 1 CPU; 128 MiB (bee-queue + knex +
 * transports). Source: Carebox's measurement.
 */
export function queueLimits(cpus: number): DerivedLimits {
  return {
    cpus: cappedCpus('queue', 1, '1 node process', cpus),
    memoryBytes: derived(QUEUE_WORKER_BYTES, `queue memory ${b(QUEUE_WORKER_BYTES)} per worker (constant; Carebox measurement: bee-queue + knex + transports)`),
  };
}

/**
 * V8 old-space cap (`--max-old-space-size`, MiB) for a process with `processBytes` of memory:
 * 75 % of it, leaving room for buffers, native memory and the young generation, so a worker hits
 * its own heap limit (and restarts cleanly) before the container's OOM killer. Our choice.
 */
export function heapLimitMb(service: string, processBytes: number): Derived {
  const v = Math.floor((processBytes * HEAP_SHARE) / MiB);
  return derived(v, `${service} heap ${v} MiB = floor(${b(processBytes)} × ${HEAP_SHARE})`);
}

/**
 * Largest JSON request body a web worker accepts, bytes: the write routes' need
 * ({@link JSON_WRITE_BODY_BYTES}), capped so that the worst case of `JSON.parse` (deep nesting:
 * {@link JSON_PARSE_HEAP_PER_BYTE} heap bytes per body byte, Carebox's measurement) fits in
 * {@link JSON_PARSE_HEAP_SHARE} of the worker's V8 heap:
 * `min(JSON_WRITE_BODY_BYTES, floor(heapLimitMb MiB × share / heap-per-byte / 1 KiB) KiB)`.
 * Rendered as BODY_LIMIT_BYTES (server) and nginx `client_max_body_size`; the server re-checks the
 * cap against its own heap at start.
 */
export function jsonBodyLimitBytes(heapLimitMb: number): Derived {
  const heapBytes = heapLimitMb * MiB;
  const cap = Math.floor((heapBytes * JSON_PARSE_HEAP_SHARE) / JSON_PARSE_HEAP_PER_BYTE / 1024) * 1024;
  const v = Math.min(JSON_WRITE_BODY_BYTES, cap);
  return derived(
    v,
    `JSON body limit ${b(v)} = min(write routes' need ${b(JSON_WRITE_BODY_BYTES)}, heap ${heapLimitMb} MiB × ${JSON_PARSE_HEAP_SHARE} / ${JSON_PARSE_HEAP_PER_BYTE} heap bytes per JSON byte (measured worst case: deep nesting) = ${b(cap)}); no route takes an upload`,
  );
}

/** knex pool settings of one process, each with its derivation. */
export interface DerivedPool {
  min: Derived;
  max: Derived;
  acquireTimeoutMs: Derived;
}

/**
 * A web process's knex pool: max from the connection plan (postgres.sizing.ts), min = min(2, max)
 * warm connections, acquire timeout 2 s. Sources: FAILURES.md (a short acquire timeout answers 503
 * + Retry-After rather than hanging 60 s); 2 s = 10 × the seed's p95 target of 200 ms.
 */
export function webPool(poolMax: Derived): DerivedPool {
  const min = Math.min(POOL_MIN, poolMax.value);
  return {
    min: derived(min, `pool.min ${min} = min(${POOL_MIN} warm connections, pool.max ${poolMax.value})`),
    max: poolMax,
    acquireTimeoutMs: derived(
      POOL_ACQUIRE_TIMEOUT_MS,
      `acquire timeout ${POOL_ACQUIRE_TIMEOUT_MS} ms = 10 × the seed's p95 target 200 ms; then 503 + Retry-After (FAILURES.md)`,
    ),
  };
}

/**
 * A queue worker's knex pool: max = its job concurrency (a job holds at most one connection at a
 * time), min 0 (idle workers pin nothing), acquire timeout 10 s (5 × web: no user waits on a job,
 * and a job that gives up burns a retry). Our choice.
 */
export function queuePool(concurrency: number): DerivedPool {
  return {
    min: derived(QUEUE_POOL_MIN, `pool.min ${QUEUE_POOL_MIN}: idle queue workers hold no connections`),
    max: derived(concurrency, `pool.max ${concurrency} = concurrency ${concurrency} (one connection per running job)`),
    acquireTimeoutMs: derived(
      QUEUE_ACQUIRE_TIMEOUT_MS,
      `acquire timeout ${QUEUE_ACQUIRE_TIMEOUT_MS} ms = 5 × web ${POOL_ACQUIRE_TIMEOUT_MS} ms (jobs retry with backoff; no user waits)`,
    ),
  };
}

// ---- Redis -----------------------------------------------------------------------------------

/**
 * Redis `maxmemory`: 5 % of the memory after OS headroom, between 64 MiB and 4 GiB. Source: the
 * seed's resource table (Redis 512 MB for 500 users up to a 4 GB cluster for 5,000), scaled to the host.
 */
export function redisMaxMemory(availBytes: number): Derived {
  const v = floorMiB(clamp(availBytes * REDIS_MEMORY_FRACTION, REDIS_MIN_BYTES, REDIS_MAX_BYTES));
  return derived(v, `maxmemory ${b(v)} = clamp(${REDIS_MEMORY_FRACTION * 100} % of ${b(availBytes)}, ${b(REDIS_MIN_BYTES)}, ${b(REDIS_MAX_BYTES)})`);
}

/**
 * Redis container limits: maxmemory × 1.5 + 32 MiB (allocator fragmentation, client buffers, and
 * the copy-on-write fork of an AOF rewrite; Redis docs' advice to leave room beyond maxmemory),
 * and 1 CPU (Redis executes commands on one thread).
 */
export function redisLimits(maxMemoryBytes: number, cpus: number): DerivedLimits {
  const mem = floorMiB(maxMemoryBytes * REDIS_CONTAINER_FACTOR + REDIS_CONTAINER_EXTRA_BYTES);
  return {
    cpus: cappedCpus('redis', 1, '1 (single-threaded)', cpus),
    memoryBytes: derived(
      mem,
      `redis memory ${b(mem)} = maxmemory ${b(maxMemoryBytes)} × ${REDIS_CONTAINER_FACTOR} + ${b(REDIS_CONTAINER_EXTRA_BYTES)} (fragmentation, buffers, AOF rewrite fork)`,
    ),
  };
}

/**
 * Redis `maxclients` from the counted clients (budget.check.ts: ioredis + bee-queue producers per
 * web process, 3 clients per queue per worker, console, healthcheck): × 1.5 + 64 for reconnect
 * overlap during restarts and redis-cli sessions. Invariant 4. Our headroom choice.
 */
export function redisMaxClients(countedClients: number): Derived {
  const v = Math.ceil(countedClients * REDIS_CLIENT_HEADROOM_FACTOR) + REDIS_CLIENT_HEADROOM_EXTRA;
  return derived(v, `maxclients ${v} = ceil(counted clients ${countedClients} × ${REDIS_CLIENT_HEADROOM_FACTOR}) + ${REDIS_CLIENT_HEADROOM_EXTRA}`);
}

/**
 * Redis eviction policy for one Redis holding both the cache and the job queue: `volatile-lru`.
 * Only keys with a TTL (cache entries, sessions, rate-limit windows) are evicted; bee-queue's keys
 * carry no TTL, so jobs are never evicted. When memory holds nothing evictable, writes fail with
 * OOM (the enqueue errors, the caller sees it) instead of silently dropping jobs, which
 * `allkeys-lru` would do. Source: Redis docs on eviction policies.
 */
export const REDIS_EVICTION_POLICY = 'volatile-lru' as const;

// ---- nginx -----------------------------------------------------------------------------------

/**
 * nginx `worker_processes`: clamp(floor(CPUs / 2), 1, min(8, floor(CPUs), floor(memory / 512 MiB))).
 * Explicit, never `auto` (FAILURES.md: `auto` counts host CPUs in a limited container). Half the
 * CPUs because nginx only proxies here and node needs the cores; capped by memory as well
 * (FAILURES.md: many cores, little memory). Our choice, below nginx's one-per-core advice.
 */
export function nginxWorkerProcesses(cpus: number, availBytes: number): Derived {
  const memCap = Math.max(1, Math.floor(availBytes / NGINX_MEMORY_PER_WORKER_SLOT));
  const v = clamp(Math.floor(cpus / 2), 1, Math.min(NGINX_MAX_WORKERS, Math.max(1, Math.floor(cpus)), memCap));
  return derived(
    v,
    `worker_processes ${v} = clamp(floor(${c(cpus)} CPUs / 2), 1, min(${NGINX_MAX_WORKERS}, ${memCap} = ${b(availBytes)} / ${b(NGINX_MEMORY_PER_WORKER_SLOT)})) (explicit, never auto)`,
  );
}

/**
 * nginx `worker_connections`: the high estimate of concurrent users on this host × 2 sockets
 * (client + proxied; nginx docs count both) × 1.5 headroom, split over the workers, rounded up to
 * a multiple of 1024, between 4096 (NGINX_MIN_WORKER_CONNECTIONS: idle keep-alive clients and
 * bursts) and 16384. Our choice.
 */
export function nginxWorkerConnections(usersHigh: number, workers: number): Derived {
  const want = Math.ceil((usersHigh * NGINX_SOCKETS_PER_USER * NGINX_CONNECTION_HEADROOM) / workers / 1024) * 1024;
  const v = clamp(want, NGINX_MIN_WORKER_CONNECTIONS, NGINX_MAX_WORKER_CONNECTIONS);
  return derived(
    v,
    `worker_connections ${v} = clamp(ceil(users ${usersHigh} × ${NGINX_SOCKETS_PER_USER} sockets × ${NGINX_CONNECTION_HEADROOM} / ${workers} workers) to 1024s, ${NGINX_MIN_WORKER_CONNECTIONS}, ${NGINX_MAX_WORKER_CONNECTIONS})`,
  );
}

/**
 * nginx `worker_rlimit_nofile` = 2 × worker_connections, so a worker runs out of connections
 * before file descriptors (logs, buffered-body temp files). nginx docs: keep the rlimit above
 * worker_connections.
 */
export function nginxRlimitNofile(workerConnections: number): Derived {
  const v = workerConnections * NGINX_FDS_PER_CONNECTION;
  return derived(v, `worker_rlimit_nofile ${v} = ${NGINX_FDS_PER_CONNECTION} × worker_connections ${workerConnections}`);
}

/** nginx client `keepalive_timeout`, seconds: constant 65 (see NGINX_KEEPALIVE_TIMEOUT_S). */
export function nginxKeepaliveTimeout(): Derived {
  return derived(
    NGINX_KEEPALIVE_TIMEOUT_S,
    `keepalive_timeout ${NGINX_KEEPALIVE_TIMEOUT_S} s (constant): above the 60 s idle timeout of common load balancers, below nginx's default 75 s`,
  );
}

/**
 * Upstream keep-alive with live DNS (nginx ≥ MIN_NGINX_VERSION): `server backend:3000 resolve` in
 * an `upstream` with a shared `zone` re-resolves the name in the background, so scaled replicas
 * get traffic, removed ones stop getting it, and the edge starts while no backend runs, and the
 * connections to Node stay open between requests (before: one TCP connect + accept per request).
 * `keepalive` = clamp(ceil(users high × 1.5 headroom / nginx workers), 32, min(1024,
 * worker_connections / 4)): enough idle connections per worker that the estimated concurrent users'
 * requests find one instead of opening a new one (nginx docs: the cache holds idle connections
 * only; busy ones are not capped), and at most a quarter of a worker's connections. Our choice.
 * @param usersHigh high estimate of concurrent users on this host.
 * @param workers nginx worker_processes. @param workerConnections nginx worker_connections.
 */
export function nginxUpstream(
  usersHigh: number,
  workers: number,
  workerConnections: number,
): { value: NginxUpstreamSizing; derivations: Record<keyof NginxUpstreamSizing, string> } {
  const want = Math.ceil((usersHigh * NGINX_CONNECTION_HEADROOM) / Math.max(1, workers));
  const hi = Math.min(NGINX_UPSTREAM_KEEPALIVE_MAX, Math.floor(workerConnections / 4));
  const keepalive = clamp(want, NGINX_UPSTREAM_KEEPALIVE_MIN, hi);
  return {
    value: {
      keepalive,
      keepaliveTimeoutS: NGINX_UPSTREAM_KEEPALIVE_TIMEOUT_S,
      keepaliveRequests: NGINX_UPSTREAM_KEEPALIVE_REQUESTS,
      resolverValidS: NGINX_RESOLVER_VALID_S,
      failTimeoutS: NGINX_UPSTREAM_FAIL_TIMEOUT_S,
    },
    derivations: {
      keepalive: `keepalive ${keepalive} idle connections per worker = clamp(ceil(users ${Math.round(usersHigh)} × ${NGINX_CONNECTION_HEADROOM} / ${workers} workers), ${NGINX_UPSTREAM_KEEPALIVE_MIN}, min(${NGINX_UPSTREAM_KEEPALIVE_MAX}, worker_connections ${workerConnections} / 4)); upstream \`server backend:3000 resolve\` in a shared zone keeps live DNS (nginx ≥ ${MIN_NGINX_VERSION})`,
      keepaliveTimeoutS: `upstream keepalive_timeout ${NGINX_UPSTREAM_KEEPALIVE_TIMEOUT_S} s (constant): below the server's keep-alive timeout (65 s), so nginx, never Node, closes an idle connection; a draining backend (SIGTERM) waits this + 2 s for nginx to drop its idle connections before it closes any`,
      keepaliveRequests: `upstream keepalive_requests ${NGINX_UPSTREAM_KEEPALIVE_REQUESTS} (constant; Node has no per-connection cap)`,
      resolverValidS: `resolver valid=${NGINX_RESOLVER_VALID_S} s (constant): a scaled or removed replica is seen within this`,
      failTimeoutS: `max_fails=1 fail_timeout=${NGINX_UPSTREAM_FAIL_TIMEOUT_S} s (constant): a draining replica is skipped until its address left DNS; a backup copy with max_fails=0 keeps one replica from being locked out`,
    },
  };
}

/**
 * The server's DRAIN_IDLE_CLOSE_MS, ms: on SIGTERM a backend leaves its idle keep-alive connections
 * for nginx to close (the upstream `keepalive_timeout`, seconds) and closes the rest only this long
 * after, DRAIN_IDLE_CLOSE_MARGIN_MS later than nginx would have (server/src/lifecycle/connection-drain.ts). Pure.
 */
export function drainIdleCloseMs(upstreamKeepaliveTimeoutS: number): Derived {
  const ms = upstreamKeepaliveTimeoutS * 1000 + DRAIN_IDLE_CLOSE_MARGIN_MS;
  return derived(
    ms,
    `DRAIN_IDLE_CLOSE_MS ${ms} = upstream keepalive_timeout ${upstreamKeepaliveTimeoutS} s × 1000 + ${DRAIN_IDLE_CLOSE_MARGIN_MS} ms margin: a draining backend lets nginx drop its idle connections first`,
  );
}

/**
 * What nginx's /tmp tmpfs may hold, bytes: two request bodies of the plan's limit buffered to temp
 * files at once, plus 8 MiB of slack, rounded up to whole MiB (responses are never buffered to
 * files: `proxy_max_temp_file_size 0`). A tmpfs is memory, so it is capped; a request that finds
 * it full gets an error instead of the edge being OOM-killed. Our choice. Pure.
 */
export function nginxTempBytes(bodyLimitBytes: number): Derived {
  const v = Math.ceil((2 * bodyLimitBytes + 8 * MiB) / MiB) * MiB;
  return derived(
    v,
    `nginx /tmp tmpfs ${b(v)} = 2 × body limit ${b(bodyLimitBytes)} + 8 MiB, rounded up to whole MiB: two request bodies buffered to temp files at once`,
  );
}

/**
 * nginx container limits: 32 MiB + 16 MiB per worker (connection buffers at worker_connections),
 * and one CPU per worker. Our estimate.
 */
export function nginxLimits(workers: number, cpus: number): DerivedLimits {
  const mem = NGINX_BASE_BYTES + NGINX_PER_WORKER_BYTES * workers;
  return {
    cpus: cappedCpus('nginx', workers, `${workers} workers × 1 CPU`, cpus),
    memoryBytes: derived(mem, `nginx memory ${b(mem)} = ${b(NGINX_BASE_BYTES)} + ${workers} workers × ${b(NGINX_PER_WORKER_BYTES)}`),
  };
}

// ---- PostgreSQL and PgBouncer containers -----------------------------------------------------

/**
 * PostgreSQL's CPU limit: every usable CPU. It is the shared bottleneck of every tier, and the
 * quota is a cap, not a reservation. (Its memory is the remainder of the host; see tier.plan.ts.)
 */
export function postgresCpus(cpus: number): Derived {
  const v = cpuLimit(cpus);
  return derived(v, `postgres cpus ${v} = usable CPUs ${c(cpus)} (the shared bottleneck; a quota caps, it does not reserve)`);
}

/**
 * PgBouncer container limits: 1 CPU (PgBouncer is single-threaded, PgBouncer docs) and 64 MiB
 * (about 2 KiB per client + 4 KiB pkt_buf per active link; our estimate).
 */
export function pgbouncerLimits(cpus: number): DerivedLimits {
  return {
    cpus: cappedCpus('pgbouncer', 1, '1 (single-threaded)', cpus),
    memoryBytes: derived(PGBOUNCER_BYTES, `pgbouncer memory ${b(PGBOUNCER_BYTES)} (constant: ~2 KiB per client + 4 KiB per active link)`),
  };
}

// ---- Cluster ---------------------------------------------------------------------------------

/** What decides the cluster tier's node count. */
export interface NodesInput {
  multiHost: boolean;
  /** `--nodes N`, or null. */
  nodes: number | null;
  /** Expected active staff (`--users`/`--size`), or null. */
  users: number | null;
  /**
   * Active staff (low estimate) that `n` nodes like this host serve (capacity.estimate.ts): not
   * linear in n, since one PostgreSQL primary and one Redis serve every node.
   */
  staffAt: (nodes: number) => number;
}

/**
 * Swarm nodes the plan spans: 1 for single-host tiers; for the cluster tier `--nodes N` when
 * given, else the fewest nodes like this one (2..64) whose low estimate serves the users asked
 * for; when none does, the fewest nodes that reach the most any count serves (beyond them
 * PostgreSQL or Redis binds and more nodes add nothing); else the minimum 2.
 */
export function clusterNodes(i: NodesInput): Derived {
  if (!i.multiHost) return derived(1, 'nodes 1 (single-host tier)');
  if (i.nodes !== null) return derived(i.nodes, `nodes ${i.nodes} = --nodes ${i.nodes}`);
  if (i.users !== null) {
    let best = MIN_CLUSTER_NODES;
    let bestStaff = i.staffAt(best);
    for (let n = MIN_CLUSTER_NODES; n <= MAX_CLUSTER_NODES; n += 1) {
      const staff = i.staffAt(n);
      if (staff >= i.users)
        return derived(
          n,
          `nodes ${n} = the fewest nodes like this host whose low estimate (${staff} active staff) serves ${i.users} (from ${MIN_CLUSTER_NODES} to ${MAX_CLUSTER_NODES})`,
        );
      if (staff > bestStaff) {
        best = n;
        bestStaff = staff;
      }
    }
    return derived(
      best,
      `nodes ${best}: no count up to ${MAX_CLUSTER_NODES} nodes like this host serves ${i.users}; ${best} reach the most (${bestStaff} active staff), beyond them the shared PostgreSQL or Redis binds`,
    );
  }
  return derived(MIN_CLUSTER_NODES, `nodes ${MIN_CLUSTER_NODES} = the cluster minimum (no --nodes or --users given)`);
}
