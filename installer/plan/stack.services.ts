import type { StackImages } from '../render/images.map.js';
import { MONITORING_SERVICES } from './monitoring.sizing.js';
import type { Plan } from './plan.types.js';

/**
 * The services a stack runs and how many replicas of each, in start order: db, redis, pgbouncer
 * (when planned), backend, worker, nginx, the monitoring services (with `--alerts stack`), and the
 * backup scheduler (one) when `images` names its CLI image (compose.yml then has the service).
 * Install's health wait, status, drift checks and `carebox restart SERVICE` all read it. Pure.
 */
export function expectedReplicas(plan: Plan, images?: Pick<StackImages, 'scheduler'> | null): Record<string, number> {
  const s = plan.sizing;
  const r: Record<string, number> = { db: 1, redis: 1 };
  if (s.pgbouncer) r.pgbouncer = 1;
  r.backend = s.backend.replicas;
  r.worker = s.queue.replicas;
  r.nginx = 1;
  if (s.monitoring) for (const name of MONITORING_SERVICES) r[name] = 1;
  if (images?.scheduler) r.scheduler = 1;
  return r;
}
