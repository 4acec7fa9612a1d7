import type { Plan } from './plan.types.js';
import { clamp, derived, type Derived } from './derived.js';

/**
 * Concurrent users one web worker serves at p95 < 200 ms, [low, high], per usable CPU it gets.
 * "Concurrent user" = one closed-loop client running the read/write mix of `carebox loadtest`
 * (no think time), the strictest reading of the seed's figure.
 * Basis: the seed claims 100–200 per single uvicorn worker; Carebox's measurement replaces this
 * (see CAPACITY_BASIS) and `carebox loadtest` records the figure measured on each install.
 */
export const USERS_PER_WORKER_CPU: [number, number] = [100, 200];

/** Where USERS_PER_WORKER_CPU comes from; printed with every estimate. */
export const CAPACITY_BASIS =
  'seed estimate of 100–200 concurrent users per web worker CPU (uncalibrated; run `carebox loadtest` for this host\'s measured figure)';

/**
 * Share of usable CPUs left to node web workers when PostgreSQL, Redis, nginx and the queue share
 * the host. Our estimate; on the 2-CPU reference host PostgreSQL and nginx take about a third under the mix.
 */
export const WEB_CPU_SHARE = 0.65;

/**
 * Estimated concurrent users for `webProcesses` workers on `cpus` usable CPUs, across `nodes` hosts:
 * USERS_PER_WORKER_CPU × min(web processes, max(0.5, cpus × WEB_CPU_SHARE)) × nodes.
 */
export function estimateCapacity(webProcesses: number, cpus: number, nodes: number): Derived<[number, number]> {
  const webCpus = Math.min(webProcesses, clamp(cpus * WEB_CPU_SHARE, 0.5, Number.MAX_SAFE_INTEGER));
  const low = Math.floor(USERS_PER_WORKER_CPU[0] * webCpus * nodes);
  const high = Math.floor(USERS_PER_WORKER_CPU[1] * webCpus * nodes);
  const webCpusText = Math.round(webCpus * 100) / 100;
  return derived(
    [low, high],
    `concurrent users ${low}–${high} = ${USERS_PER_WORKER_CPU[0]}–${USERS_PER_WORKER_CPU[1]} per worker CPU × min(${webProcesses} web processes, ${cpus} CPUs × ${WEB_CPU_SHARE}) = ${webCpusText}${nodes > 1 ? ` × ${nodes} nodes` : ''}`,
  );
}

/**
 * `plan` with the measured capacity of `installed` (carebox.json's plan) when both describe the
 * same stack (same tier, nodes and sizing): a measurement holds for the shape it was taken on, so
 * a plan for another tier, size or host shows none. Pure.
 */
export function withMeasuredFrom(plan: Plan, installed: Pick<Plan, 'tier' | 'nodes' | 'sizing' | 'capacity'> | null | undefined): Plan {
  const measured = installed?.capacity?.measured ?? null;
  if (measured === null || installed === null || installed === undefined) return plan;
  const same = installed.tier === plan.tier && installed.nodes === plan.nodes && JSON.stringify(installed.sizing) === JSON.stringify(plan.sizing);
  return same ? { ...plan, capacity: { ...plan.capacity, measured } } : plan;
}
