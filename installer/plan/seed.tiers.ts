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
}

export const SEED_TIERS: SeedTier[] = [
  { name: 'default', source: '"Current Configuration": 1 uvicorn worker, pool 20 + 40 overflow, 1 Celery container (2 CPUs); PostgreSQL default max_connections 100', replicas: 1, workersPerReplica: 1, poolPerProcess: 60, celeryProcesses: 2, maxConnections: 100, claim: [500, 1000] },
  { name: 'optimized', source: '"Vertical Scaling": WEB_CONCURRENCY=8, pool 50 + 100 overflow; POSTGRES_MAX_CONNECTIONS=200', replicas: 1, workersPerReplica: 8, poolPerProcess: 150, celeryProcesses: 4, maxConnections: 200, claim: [2000, 3000] },
  { name: 'horizontal', source: '"Horizontal Scaling" + "Add Uvicorn workers": 4 replicas × --workers 4, pool 20 + 40; POSTGRES_MAX_CONNECTIONS=200', replicas: 4, workersPerReplica: 4, poolPerProcess: 60, celeryProcesses: 4, maxConnections: 200, claim: [5000, 10000] },
  { name: 'cluster', source: '"Cloud Auto-Scaling": up to 10 tasks × 4 workers, pool 20 + 40; RDS MaxConnections 200 behind PgBouncer', replicas: 10, workersPerReplica: 4, poolPerProcess: 60, celeryProcesses: 8, maxConnections: 200, claim: [10000, 50000] },
];

/** The seed tier's DB connection demand against its max_connections (3 superuser slots reserved). */
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
