import type Docker from 'dockerode';
import { OperationError } from '../errors.js';
import type { Plan } from '../plan/plan.types.js';
import { listStackContainers } from '../runtime/stack.containers.js';

/** Planned limits per Compose service: CPUs (nano-CPUs in Docker) and memory bytes. */
export function plannedLimits(plan: Plan): Record<string, { cpus: number; memoryBytes: number }> {
  const s = plan.sizing;
  const r: Record<string, { cpus: number; memoryBytes: number }> = {
    db: s.postgres.limits,
    redis: s.redis.limits,
    backend: s.backend.limits,
    worker: s.queue.limits,
    nginx: s.nginx.limits,
  };
  if (s.pgbouncer) r.pgbouncer = s.pgbouncer.limits;
  return r;
}

/**
 * Check with `docker inspect` that every running container got the planned limits. Compose
 * versions differ on which keys they honour (FAILURES.md); this catches one that silently ignored them.
 * @returns the number of containers checked.
 * @throws OperationError listing each container whose HostConfig.NanoCpus/Memory differ from the plan.
 */
export async function verifyLimits(docker: Docker, project: string, plan: Plan): Promise<number> {
  const want = plannedLimits(plan);
  const bad: string[] = [];
  let n = 0;
  for (const c of await listStackContainers(docker, project)) {
    const w = want[c.service];
    if (!w || c.state !== 'running') continue;
    const info = await docker.getContainer(c.id).inspect();
    const nano = info.HostConfig.NanoCpus ?? 0;
    const quota = info.HostConfig.CpuQuota ?? 0;
    const period = info.HostConfig.CpuPeriod || 100_000;
    const cpus = nano > 0 ? nano / 1e9 : quota > 0 ? quota / period : 0;
    const mem = info.HostConfig.Memory ?? 0;
    n++;
    if (Math.abs(cpus - w.cpus) > 0.011 || mem !== w.memoryBytes) {
      bad.push(`${c.service} #${c.number}: cpus ${cpus || 'unlimited'} (planned ${w.cpus}), memory ${mem || 'unlimited'} (planned ${w.memoryBytes})`);
    }
  }
  if (bad.length > 0) {
    throw new OperationError(
      `containers run without the planned limits (this Compose ignored them):\n  ${bad.join('\n  ')}`,
      'upgrade Docker Compose to v2 ≥ 2.17, then rerun `carebox install`',
    );
  }
  return n;
}
