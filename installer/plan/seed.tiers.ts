/**
 * The seed document's tiers (../shared/seed/capacity-analysis.md), taken literally, so Carebox can
 * show where they overrun PostgreSQL. Each process has its own SQLAlchemy pool of
 * pool_size + max_overflow connections; Celery's prefork workers (concurrency = CPUs by default)
 * each hold a pool too.
 */
export interface SeedTier {
  name: string;
  /** Where in the seed the figures come from. */
  source: string;
  replicas: number;
  workersPerReplica: number;
  /** pool_size + max_overflow per process. */
  poolPerProcess: number;
  /** Celery worker processes (1 container × prefork concurrency = its CPUs). */
  celeryProcesses: number;
  /** PostgreSQL max_connections the seed assumes. */
  maxConnections: number;
  claim: [number, number];
  /**
   * The hardware the seed names for this configuration (its "Resource Requirements" and scaling
   * sections), so Carebox can plan the same tier on the same host: CPUs and bytes per node.
   */
  host: { cpus: number; memoryBytes: number; nodes: number; source: string };
  /** What else the seed says that bears on the figures, or null. */
  note: string | null;
}

const GiB = 1024 ** 3;

export const SEED_TIERS: SeedTier[] = [
  {
    name: 'default',
    source: '"Current Configuration": 1 uvicorn worker, pool 20 + 40 overflow, 1 Celery container (2 CPUs); PostgreSQL default max_connections 100',
    replicas: 1,
    workersPerReplica: 1,
    poolPerProcess: 60,
    celeryProcesses: 2,
    maxConnections: 100,
    claim: [500, 1000],
    host: { cpus: 2, memoryBytes: 4 * GiB, nodes: 1, source: '"For 500 Concurrent Users": 2 cores, 4GB' },
    note: null,
  },
  {
    name: 'optimized',
    source: '"Vertical Scaling": WEB_CONCURRENCY=8, pool 50 + 100 overflow; POSTGRES_MAX_CONNECTIONS=200',
    replicas: 1,
    workersPerReplica: 8,
    poolPerProcess: 150,
    celeryProcesses: 4,
    maxConnections: 200,
    claim: [2000, 3000],
    host: { cpus: 4, memoryBytes: 8 * GiB, nodes: 1, source: '"Vertical Scaling": limits cpus 4.0, memory 8G ("For 1,000 Concurrent Users": 4 cores, 8GB)' },
    note: '8 workers on a 4-CPU limit: twice as many processes as CPUs',
  },
  {
    name: 'horizontal',
    source: '"Horizontal Scaling" + "Add Uvicorn workers": 4 replicas × --workers 4, pool 20 + 40; POSTGRES_MAX_CONNECTIONS=200',
    replicas: 4,
    workersPerReplica: 4,
    poolPerProcess: 60,
    celeryProcesses: 4,
    maxConnections: 200,
    claim: [5000, 10000],
    host: { cpus: 16, memoryBytes: 32 * GiB, nodes: 1, source: '"For 5,000 Concurrent Users": 16 cores, 32GB (Carebox plans them as one host)' },
    note: null,
  },
  {
    name: 'cluster',
    source: '"Cloud Auto-Scaling": up to 10 tasks × 4 workers, pool 20 + 40; RDS MaxConnections 200 behind PgBouncer',
    replicas: 10,
    workersPerReplica: 4,
    poolPerProcess: 60,
    celeryProcesses: 8,
    maxConnections: 200,
    claim: [10000, 50000],
    host: { cpus: 4, memoryBytes: 8 * GiB, nodes: 4, source: '"For 5,000 Concurrent Users": 4 × 4-core servers, 4 × 8GB' },
    note: 'the seed names PgBouncer but sizes neither its server pool nor max_client_conn, so the client pools are shown against max_connections',
  },
];

/**
 * The seed tier's DB connection demand against its max_connections (3 superuser slots reserved),
 * taken literally: every process's pool_size + max_overflow. Pure.
 */
export function seedDemand(t: SeedTier): { demand: number; limit: number; overrun: boolean; derivation: string } {
  const web = t.replicas * t.workersPerReplica * t.poolPerProcess;
  const celery = t.celeryProcesses * t.poolPerProcess;
  const demand = web + celery;
  const limit = t.maxConnections - 3;
  return {
    demand,
    limit,
    overrun: demand > limit,
    derivation: `${t.replicas} × ${t.workersPerReplica} workers × ${t.poolPerProcess} + ${t.celeryProcesses} Celery × ${t.poolPerProcess} = ${demand} vs max_connections ${t.maxConnections} − 3 reserved = ${limit}`,
  };
}
