/**
 * Planning constants. Each says where it comes from: a public anchor (GitLab Omnibus, PgTune,
 * Discourse, PostgreSQL's defaults), the seed document, or Carebox's own measurement on the
 * reference machine (2 CPUs, Debian 12, Node 20; `npm run bench` re-measures them).
 */

const KiB = 1024;
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

// ---- Host reserves ---------------------------------------------------------------------------

/**
 * Memory left to the OS, the Docker engine and page cache: 10 % of effective memory, at least
 * 256 MiB and at most 4 GiB. GitLab Omnibus reserves 1.5 GiB on its 4 GiB+ reference hosts; we scale
 * it down for 1–2 GiB VMs, where a 1.5 GiB reserve would leave nothing to run.
 */
export const OS_HEADROOM_FRACTION = 0.1;
export const OS_HEADROOM_MIN_BYTES = 256 * MiB;
export const OS_HEADROOM_MAX_BYTES = 4 * GiB;

/**
 * Share of the memory after headroom that the node processes (web + queue) may take; PostgreSQL,
 * Redis and nginx get the rest. Our choice: half keeps PostgreSQL's shared_buffers + cache useful
 * on small hosts while still allowing one worker per CPU on typical 4 GiB-per-CPU servers.
 */
export const APP_MEMORY_SHARE = 0.5;

// ---- Node processes --------------------------------------------------------------------------

/**
 * Memory budget of one web worker (node cluster worker), bytes. Carebox measurement
 * (`npm run bench`, 2026-11-29, Node 20.20): a worker's RSS is 125–163 MiB after the runs and
 * peaks at 171–174 MiB under 1,000 connections; 192 MiB keeps that peak inside the container
 * limit. GitLab's 1 GiB per Puma worker is for Ruby.
 */
export const WEB_WORKER_BYTES = 192 * MiB;
/** The cluster primary of each backend replica (it only forks, supervises and merges metrics): measured 62–66 MiB. */
export const CLUSTER_PRIMARY_BYTES = 64 * MiB;
/**
 * One queue worker process (bee-queue + knex + file/SMTP transports), bytes. Measured: 27 MiB of
 * container memory idle (`carebox status`); jobs are small (one patient's CSV, a day's summary).
 */
export const QUEUE_WORKER_BYTES = 96 * MiB;
/** V8 old space as a share of a process's budget, leaving room for buffers and native memory. */
export const HEAP_SHARE = 0.75;

/**
 * Hard ceiling on web worker processes per host, whatever the CPUs: beyond it PostgreSQL becomes the
 * bottleneck long before node does, and the connection budget needs PgBouncer. Our choice.
 */
export const MAX_WEB_PROCESSES = 64;

/** Discourse caps unicorn workers at 8 per container (`clamp(2 × cores, 1, 8)`); we cap a replica likewise. */
export const MAX_WORKERS_PER_REPLICA = 8;

// ---- Pools -----------------------------------------------------------------------------------

/**
 * Target knex pool.max per web process. GitLab documents DB demand per web process as
 * `threads + 10`; a node worker is one thread with async I/O, so 10 in-flight queries per process
 * (knex's own default max). The seed's 20 + 40 overflow = 60 per process is what overruns max_connections.
 */
export const WEB_POOL_TARGET = 10;
/** Below this pool.max a web worker stalls on acquire under moderate load; PgBouncer goes in front instead. */
export const WEB_POOL_FLOOR = 4;
/**
 * Connections a web process keeps warm (knex pool.min), so the first requests after an idle spell
 * skip the TCP + SCRAM handshake. Our choice: 2 covers the health probe plus one request.
 */
export const POOL_MIN = 2;
/**
 * Connections a queue worker keeps warm: none. Jobs arrive in bursts and are not latency-bound;
 * idle queue workers should not pin PostgreSQL connections. Our choice.
 */
export const QUEUE_POOL_MIN = 0;
/**
 * knex acquire timeout of a web process, ms. FAILURES.md: a short timeout answers 503 +
 * Retry-After instead of hanging 60 s (knex's default). 2 s = 10 × the seed's p95 target of 200 ms:
 * a request still waiting after that has already failed its user. Also the server's TCP connect timeout.
 */
export const POOL_ACQUIRE_TIMEOUT_MS = 2_000;
/**
 * knex acquire timeout of a queue worker, ms: 5 × the web one. A job has no user waiting on it, and
 * a job that gives up is retried with backoff; waiting longer beats burning a retry. Our choice.
 */
export const QUEUE_ACQUIRE_TIMEOUT_MS = 5 * POOL_ACQUIRE_TIMEOUT_MS;

/** Direct PostgreSQL connections the console may hold (status query, pg_dump/pg_restore). */
export const CONSOLE_DB_CONNECTIONS = 2;
/** Direct PostgreSQL connections a migration run holds (knex migrate: lock + work). */
export const MIGRATION_DB_CONNECTIONS = 1;
/** PostgreSQL's default `superuser_reserved_connections`. */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;

// ---- PostgreSQL ------------------------------------------------------------------------------

/** PostgreSQL's default max_connections: the floor we never go below when memory allows. */
export const PG_DEFAULT_MAX_CONNECTIONS = 100;
/** GitLab: `max_connections` of about 2–10 × vCPUs; beyond that PgBouncer. We use the upper end. */
export const PG_CONNECTIONS_PER_CPU = 10;
/** Private memory of one idle-to-busy backend besides work_mem (catalog caches, stack), bytes. */
export const PG_CONNECTION_OVERHEAD_BYTES = 3 * MiB;
/** PgTune/DESIGN.md: work_mem never below 4 MiB. */
export const PG_WORK_MEM_FLOOR_BYTES = 4 * MiB;
/** WAL buffers, background workers, autovacuum launcher: fixed PostgreSQL overhead, bytes. */
export const PG_FIXED_OVERHEAD_BYTES = 48 * MiB;
/** Smallest PostgreSQL container we will run, bytes. */
export const PG_MIN_BYTES = 160 * MiB;
/** Cap on shared_buffers: beyond 8 GiB the OS page cache serves about as well (PostgreSQL docs' 40 % advice). */
export const PG_SHARED_BUFFERS_MAX_BYTES = 8 * GiB;
/** PgTune caps maintenance_work_mem at 2 GiB. */
export const PG_MAINTENANCE_WORK_MEM_MAX_BYTES = 2 * GiB;

// ---- PgBouncer -------------------------------------------------------------------------------

/**
 * PgBouncer container memory, bytes. PgBouncer holds about 2 KiB per client plus pkt_buf (4 KiB)
 * per active link (PgBouncer docs); 32 MiB covers thousands of clients. Our estimate.
 */
export const PGBOUNCER_BYTES = 32 * MiB;
/** Server connections kept back for bursts (PgBouncer reserve_pool_size). Our choice. */
export const PGBOUNCER_RESERVE_POOL = 5;
/** Smallest useful PgBouncer server pool; below it the host is under the minimum. Our choice. */
export const PGBOUNCER_MIN_SERVER_POOL = 5;
/**
 * PgBouncer server connections per app process (web or queue) it multiplexes: 2, at least 10 in
 * all. In transaction mode a process holds a server connection only while a transaction runs;
 * GitLab's PgBouncer guidance sizes the server pool in small multiples of the app processes.
 */
export const PGBOUNCER_SERVER_CONNS_PER_PROCESS = 2;
export const PGBOUNCER_MIN_DEFAULT_POOL = 10;
/** max_client_conn over the counted app pools: × 1.2 + 50 (reconnect overlap during restarts). Our choice. */
export const PGBOUNCER_CLIENT_HEADROOM_FACTOR = 1.2;
export const PGBOUNCER_CLIENT_HEADROOM_EXTRA = 50;

// ---- Redis -----------------------------------------------------------------------------------

/** Redis maxmemory as a share of memory after headroom: 5 %, between 64 MiB and 4 GiB (seed: 512 MiB–4 GB). */
export const REDIS_MEMORY_FRACTION = 0.05;
export const REDIS_MIN_BYTES = 64 * MiB;
export const REDIS_MAX_BYTES = 4 * GiB;
/** Container limit over maxmemory: fragmentation, client buffers, the fork for BGSAVE. */
export const REDIS_CONTAINER_FACTOR = 1.5;
export const REDIS_CONTAINER_EXTRA_BYTES = 32 * MiB;
/** Headroom on counted Redis clients: ×1.5 + 64 (redis-cli healthchecks, reconnect overlap). */
export const REDIS_CLIENT_HEADROOM_FACTOR = 1.5;
export const REDIS_CLIENT_HEADROOM_EXTRA = 64;
/** Redis connections the console opens (queue inspection, requeue). */
export const CONSOLE_REDIS_CONNECTIONS = 2;

// ---- nginx -----------------------------------------------------------------------------------

/** nginx container memory: master + shared zones, plus per worker (connection buffers). Our estimate. */
export const NGINX_BASE_BYTES = 32 * MiB;
export const NGINX_PER_WORKER_BYTES = 16 * MiB;
/**
 * Ceiling on nginx workers. nginx's own advice is one worker per core (`auto`); as a reverse proxy
 * in front of node it is I/O-bound, so half the CPUs and at most 8 leave the cores to the app. Our choice.
 */
export const NGINX_MAX_WORKERS = 8;
/**
 * Sockets one concurrent user costs nginx: the client connection and the proxied one to a backend
 * (nginx docs: worker_connections counts both).
 */
export const NGINX_SOCKETS_PER_USER = 2;
/** Headroom on worker_connections over the estimated concurrent users (keep-alive idlers, bursts). */
export const NGINX_CONNECTION_HEADROOM = 1.5;
/**
 * Floor of worker_connections per worker: 4096. The capacity estimate counts users served at
 * p95 < 200 ms, but browsers also hold idle keep-alive connections and bursts queue at the edge;
 * a 1,024 floor refused sockets at 1,000 concurrent clients (`npm run bench`, scenario c). An idle
 * connection costs nginx a few hundred bytes. Our measurement.
 */
export const NGINX_MIN_WORKER_CONNECTIONS = 4096;
export const NGINX_MAX_WORKER_CONNECTIONS = 16_384;
/**
 * worker_rlimit_nofile per worker connection: 2, so a worker never hits its file-descriptor limit
 * before worker_connections (log files, temp files for buffered bodies). nginx docs advise the
 * rlimit above worker_connections.
 */
export const NGINX_FDS_PER_CONNECTION = 2;
/**
 * Client keep-alive timeout, seconds: 65. Above the 60 s idle timeout of common load balancers and
 * reverse proxies in front of Carebox, so nginx is never the side that drops an idle connection
 * a peer is about to reuse; below nginx's default 75 s. Our choice.
 */
export const NGINX_KEEPALIVE_TIMEOUT_S = 65;
/**
 * Oldest nginx the rendered edge runs on: 1.27.3, the first open-source release whose `upstream`
 * servers take `resolve` (live DNS with a shared `zone`), which upstream keep-alive needs here.
 * Source: nginx CHANGES, 1.27.3 ("the 'resolve' parameter of the 'server' directive in the
 * 'upstream' block"). Debian 12 has 1.22 and Debian 13 1.26, both older.
 */
export const MIN_NGINX_VERSION = '1.27.3';
/** Floor and ceiling of idle upstream keep-alive connections per nginx worker (`keepalive`). Our choice. */
export const NGINX_UPSTREAM_KEEPALIVE_MIN = 32;
export const NGINX_UPSTREAM_KEEPALIVE_MAX = 1024;
/**
 * Idle timeout of a cached upstream connection, seconds: 4. nginx, never Node, closes an idle
 * connection: Node's own keep-alive timeout is 65 s (KEEP_ALIVE_TIMEOUT_MS, server/src/lifecycle/
 * web.process.ts), and a request nginx writes on a connection Node is closing fails (a POST is
 * then not retried: a 502). It is short because it is also how long a draining backend waits for
 * nginx to drop the idle connections it cached to it (the server's DRAIN_IDLE_CLOSE_MS is this
 * + DRAIN_IDLE_CLOSE_MARGIN_MS, within SHUTDOWN_TIMEOUT_MS): under load a connection is reused long before 4 s, so
 * keep-alive still saves the connect and accept per request. Our choice.
 */
export const NGINX_UPSTREAM_KEEPALIVE_TIMEOUT_S = 4;
/**
 * On SIGTERM the server closes a leftover idle connection this long after nginx would have closed
 * it, in ms: slack for nginx's timer and event loop on a loaded host. Our choice.
 */
export const DRAIN_IDLE_CLOSE_MARGIN_MS = 2_000;
/** Requests on one upstream connection before nginx closes it (nginx default 1000; Node has no cap). */
export const NGINX_UPSTREAM_KEEPALIVE_REQUESTS = 10_000;
/**
 * How long nginx keeps an answer of Docker's DNS for `backend`, seconds: 2. A scaled-out replica
 * gets traffic, and a removed one stops getting it, within this; the re-resolve runs in the
 * background once per period for the whole upstream zone, not per request.
 */
export const NGINX_RESOLVER_VALID_S = 2;
/**
 * How long nginx skips a replica after one refused connection (`max_fails=1 fail_timeout=`),
 * seconds: 10 (nginx's default), longer than a typical drain (in-flight requests finish in well
 * under a second) plus NGINX_RESOLVER_VALID_S, so the replica's address has left the DNS answer
 * before nginx would try it again. A `backup` copy of the server with max_fails=0 keeps a
 * one-replica tier from being locked out meanwhile.
 */
export const NGINX_UPSTREAM_FAIL_TIMEOUT_S = 10;
/**
 * Access log buffer per nginx worker, bytes: 4 KiB (PIPE_BUF), flushed at least every second. A
 * write to the log pipe that large is atomic, so two workers' lines never interleave, and about
 * 30 lines go out in one write instead of 30.
 */
export const NGINX_ACCESS_LOG_BUFFER_BYTES = 4096;
export const NGINX_ACCESS_LOG_FLUSH_S = 1;
/** One nginx worker per this much usable memory at most (our choice: keeps 1 GiB hosts at one worker). */
export const NGINX_MEMORY_PER_WORKER_SLOT = 512 * MiB;

// ---- Product settings ------------------------------------------------------------------------

/**
 * Largest JSON body a write route needs, bytes: 32 KiB. The biggest legitimate body is an
 * appointment with 2,000 characters of notes (≤ 12 KiB even as `\uXXXX` escapes); no route takes an
 * upload. Our choice.
 */
export const JSON_WRITE_BODY_BYTES = 32 * KiB;
/**
 * Worst-case V8 heap bytes per byte of JSON that `JSON.parse` builds, peak: 32. Measured on Node 20
 * (V8 11.3): deep nesting `[[[[…]]]]` peaks at ~29 heap bytes per input byte (2 MiB parses and
 * 2.5 MiB aborts under a 64 MiB old space), `[{},{},…]` retains ~22, `[[],[],…]` ~14, a string ~2.
 * Rounded up. Source: Carebox's measurement.
 */
export const JSON_PARSE_HEAP_PER_BYTE = 32;
/** Share of a worker's heap one body parse may take (parses run one at a time per worker). Our choice. */
export const JSON_PARSE_HEAP_SHARE = 0.25;
/** Drain time of a web worker on SIGTERM, ms. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

// ---- Cluster ---------------------------------------------------------------------------------

/** Fewest Swarm nodes the cluster tier plans for (one node is a single-host tier). */
export const MIN_CLUSTER_NODES = 2;
/** Most Swarm nodes Carebox plans for (`--nodes` range); beyond it, use bigger nodes. */
export const MAX_CLUSTER_NODES = 64;
