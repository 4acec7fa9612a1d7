import type { Plan } from './plan.types.js';
import { clamp, derived, type Derived } from './derived.js';

/**
 * Share of usable CPUs left to node web workers when PostgreSQL, Redis, nginx and the queue share
 * the host. Our estimate, consistent with the calibration run below: under the load test's mix the
 * backend container used about 100 % of the 2 CPUs' 200 %, PostgreSQL 56 %, nginx 8 %, Redis 6 %
 * (`docker stats`), i.e. the backend ~0.6 of what the stack used, with the load generator and
 * Docker's proxy taking the rest.
 */
export const WEB_CPU_SHARE = 0.65;

/**
 * The measurement the estimate is calibrated on (`carebox loadtest`, p95 ≤ 200 ms and ≤ 0.1 %
 * errors, through nginx, closed-loop virtual users without think time running the load test's
 * mix: MRN search, cold read, cache-hot read, appointment list, booking).
 *
 * - date: 2026-11-29, after the issue-6 performance work (server image of this commit's tree);
 * - machine: 2 vCPUs (AMD EPYC, Firecracker VM), 23.5 GiB, Linux 6.18, Node 20.20.2, Docker
 *   20.10.24 with Compose 2.26.1, stand-in images (Debian 12: PostgreSQL 15.18 with fsync on,
 *   Redis 7.0.15, nginx 1.22.1);
 * - stack: the planner's choice for that host, tier optimized: 1 backend × 2 web workers (pool.max
 *   10 each), 1 queue worker, nginx 1 worker; load generator on the same host (through Docker's
 *   loopback proxy), so other work competed with the stack as it would not for remote clients;
 * - command: `carebox loadtest --duration 15 --max-users 400`, three runs in a row;
 * - figures: sustained 75, 63 and 75 users (p95 191.6, 154.8, 190.4 ms; 599, 613, 594 req/s;
 *   0 errors); 100 users failed every run (p95 214.6, 263.0, 269.8 ms). The ramp's levels below
 *   (10, 25, 50 users) ran at 490–760 req/s with p95 35–165 ms.
 */
export const CALIBRATION = {
  date: '2026-11-29',
  host: { cpus: 2, webProcesses: 2 },
  sustainedUsers: [75, 63, 75],
} as const;

/** Web-worker CPUs of the calibration host by {@link estimateCapacity}'s rule: min(2, 2 × 0.65) = 1.3. */
const CALIBRATION_WEB_CPUS = Math.min(CALIBRATION.host.webProcesses, CALIBRATION.host.cpus * WEB_CPU_SHARE);

/**
 * Concurrent users one web worker serves at p95 ≤ 200 ms, [low, high], per usable CPU it gets:
 * the fewest and most users sustained in {@link CALIBRATION}, divided by that host's web-worker
 * CPUs (63 / 1.3 = 48.5 and 75 / 1.3 = 57.7, rounded down).
 * "Concurrent user" = one closed-loop client running the read/write mix of `carebox loadtest`
 * with no think time, the strictest reading of the seed's figure: people pause between requests,
 * so one such user stands for several people at a front desk. The seed claimed 100–200 per
 * uvicorn worker; other hosts are extrapolated linearly in web-worker CPUs, and
 * `carebox loadtest` records each install's own figure.
 */
export const USERS_PER_WORKER_CPU: [number, number] = [
  Math.floor(Math.min(...CALIBRATION.sustainedUsers) / CALIBRATION_WEB_CPUS),
  Math.floor(Math.max(...CALIBRATION.sustainedUsers) / CALIBRATION_WEB_CPUS),
];

/** Where USERS_PER_WORKER_CPU comes from; printed with every estimate. */
export const CAPACITY_BASIS =
  `${USERS_PER_WORKER_CPU[0]}–${USERS_PER_WORKER_CPU[1]} concurrent users per web-worker CPU, calibrated on ${Math.min(...CALIBRATION.sustainedUsers)}–${Math.max(...CALIBRATION.sustainedUsers)} users ` +
  `sustained at p95 ≤ 200 ms by \`carebox loadtest\` on a ${CALIBRATION.host.cpus}-CPU host (tier optimized, ${CALIBRATION.date}; users without think time)`;

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
