import type { Tier } from './plan.types.js';
import { clamp } from './derived.js';
import { GiB, MAX_WORKERS_PER_REPLICA } from './sizing.constants.js';

/** How a tier lays N web processes out as replicas × workers, and what else it runs. */
export interface TierShape {
  tier: Tier;
  /** One line for tables and the installer UI. */
  summary: string;
  /** The seed document's claim for this configuration, concurrent users [low, high]. */
  seedClaim: [number, number];
  /** Smallest usable CPUs this tier is planned for. */
  minCpus: number;
  /** Smallest usable memory this tier is planned for, bytes. */
  minMemoryBytes: number;
  /** Fewest web processes the shape needs (horizontal needs two replicas). */
  minWebProcesses: number;
  /**
   * Lay out `p` web processes: returns replicas × workers with replicas × workers ≤ p, or null if p
   * is too few. Sources: the seed's shapes (1 container; WEB_CONCURRENCY up to 8; 4 replicas × 4
   * workers), with Discourse's cap of 8 workers per container; horizontal aims at about 4 workers
   * per replica (our choice) so a rolling restart takes out a small share of capacity at a time.
   */
  layout(p: number): { replicas: number; workers: number; derivation: string } | null;
  /**
   * Queue worker containers for a number of backend replicas: one, or one per two replicas (1..4)
   * on the multi-replica tiers. Our choice: jobs (notifications, reports, exports) are a small share
   * of the load, and each queue worker costs 3 Redis clients per queue.
   */
  queueReplicas(replicas: number): number;
  /**
   * Jobs at once per queue worker process (bee-queue concurrency; also its knex pool.max). The
   * seed's Celery runs a prefetch of 4; the default tier uses 2 so a 1-CPU host keeps its CPU and
   * connections for requests. Our choice.
   */
  queueConcurrency: number;
  /** `always`: PgBouncer fronts PostgreSQL in every plan; `auto`: only when direct pools don't fit. */
  pgbouncer: 'auto' | 'always';
  /** Spans several hosts through an orchestrator (Docker Swarm). */
  multiHost: boolean;
}

/** The four tiers of DESIGN.md, corrected: each layout keeps replicas × workers within the process budget. */
export const TIER_SHAPES: Record<Tier, TierShape> = {
  default: {
    tier: 'default',
    summary: 'one backend container (up to 2 workers), nginx, PostgreSQL, Redis, one queue worker',
    seedClaim: [500, 1000],
    minCpus: 1,
    minMemoryBytes: 1 * GiB,
    minWebProcesses: 1,
    layout: (p) => {
      const workers = Math.min(2, p);
      return { replicas: 1, workers, derivation: `replicas 1; workers ${workers} = min(2, processes ${p})` };
    },
    queueReplicas: () => 1,
    queueConcurrency: 2,
    pgbouncer: 'auto',
    multiHost: false,
  },
  optimized: {
    tier: 'optimized',
    summary: 'one backend container with a worker per usable CPU (up to 8), bigger pools',
    seedClaim: [1000, 3000],
    minCpus: 2,
    minMemoryBytes: 4 * GiB,
    minWebProcesses: 1,
    layout: (p) => {
      const workers = Math.min(MAX_WORKERS_PER_REPLICA, p);
      return {
        replicas: 1,
        workers,
        derivation: `replicas 1; workers ${workers} = min(${MAX_WORKERS_PER_REPLICA} (Discourse cap), processes ${p})`,
      };
    },
    queueReplicas: () => 1,
    queueConcurrency: 4,
    pgbouncer: 'auto',
    multiHost: false,
  },
  horizontal: {
    tier: 'horizontal',
    summary: 'N backend replicas behind nginx, rolling restarts without downtime',
    seedClaim: [5000, 10000],
    // Two replicas need two web processes, hence two CPUs. The planner only *chooses* horizontal
    // by itself from 4 CPUs / 8 GiB (AUTO_HORIZONTAL), where it also adds capacity; below that
    // an admin may still ask for it for the redundancy of several replicas.
    minCpus: 2,
    minMemoryBytes: 4 * GiB,
    minWebProcesses: 2,
    layout: (p) => {
      if (p < 2) return null;
      const replicas = clamp(Math.ceil(p / 4), 2, 8);
      const workers = Math.min(MAX_WORKERS_PER_REPLICA, Math.max(1, Math.floor(p / replicas)));
      return {
        replicas,
        workers,
        derivation: `replicas ${replicas} = clamp(ceil(processes ${p} / 4), 2, 8); workers ${workers} = min(${MAX_WORKERS_PER_REPLICA}, floor(${p} / ${replicas}))`,
      };
    },
    queueReplicas: (replicas) => clamp(Math.ceil(replicas / 2), 1, 4),
    queueConcurrency: 4,
    pgbouncer: 'auto',
    multiHost: false,
  },
  cluster: {
    tier: 'cluster',
    summary: 'several hosts under Docker Swarm (same Compose files), PgBouncer in front of PostgreSQL',
    seedClaim: [10000, 50000],
    minCpus: 4,
    minMemoryBytes: 8 * GiB,
    minWebProcesses: 2,
    layout: (p) => TIER_SHAPES.horizontal.layout(p),
    queueReplicas: (replicas) => clamp(Math.ceil(replicas / 2), 1, 4),
    queueConcurrency: 4,
    pgbouncer: 'always',
    multiHost: true,
  },
};
