import type Docker from 'dockerode';
import { listStackContainers, type StackContainer } from '../../installer/runtime/stack.containers.js';
import { expectedReplicas } from '../../installer/plan/stack.services.js';
import { isReady } from '../../installer/runtime/health.wait.js';
import type { Manifest } from '../../installer/manifest/manifest.js';
import { edgeUrls } from '../../installer/apply/edge.tls.js';
import { readMaintenance, type MaintenanceState } from './maintenance.ops.js';
import { isStaffMeasurement, planProfile } from '../../installer/plan/capacity.estimate.js';
import type { MeasuredCapacity } from '../../installer/plan/plan.types.js';
import { staffUnit } from '../../installer/plan/workload.profile.js';
import { activeSessions, headroom, recentApiRequests, type Headroom } from './headroom.js';
import { loadSecrets } from '../../installer/apply/secrets.store.js';

/** Resource use of one container from a one-shot `docker stats`. */
export interface ContainerUsage {
  /** CPU use as a percentage of one CPU (200 = two CPUs busy). */
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
}

export interface ContainerStatus extends StackContainer {
  usage: ContainerUsage | null;
  /** Seconds since the container started, null when not running. */
  uptimeS: number | null;
}

export interface ServiceStatus {
  service: string;
  /** Replicas the plan (or the last scale) asks for. */
  expected: number;
  running: number;
  ready: number;
  /** healthy: expected replicas all ready; degraded: some; down: none. */
  state: 'healthy' | 'degraded' | 'down';
  containers: ContainerStatus[];
}

export interface StackStatus {
  project: string;
  tier: string;
  url: string;
  healthy: boolean;
  services: ServiceStatus[];
  /** Maintenance mode (nginx refusing writes, or everything); null when off or not read (no `root`). */
  maintenance?: MaintenanceState | null;
  /** The plan's capacity estimate and, once `carebox loadtest` ran, the measured figure (always set by stackStatus). */
  capacity?: {
    /** Estimated active staff, [low, high], in `unit`. */
    estimate: [number, number];
    /** e.g. `active staff (one action every 30 s)`. */
    unit: string;
    basis: string;
    /** The last proven `carebox loadtest` (null before it, or when carebox.json holds a pre-active-staff figure). */
    measured: MeasuredCapacity | null;
  };
  /**
   * Load of the last minute against capacity (actions/s, active sessions, %) and overcommit; set
   * when asked for (`opts.load`; `status` does, the console reads sessions only).
   */
  load?: Headroom;
}

/**
 * CPU % from a Docker stats sample, as the Docker CLI computes it:
 * (Δ container CPU / Δ system CPU) × online CPUs × 100. Pure.
 */
export function cpuPercent(s: { cpu_stats?: any; precpu_stats?: any }): number {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const online = s.cpu_stats?.online_cpus ?? s.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 1;
  if (cpuDelta <= 0 || sysDelta <= 0) return 0;
  return Math.round((cpuDelta / sysDelta) * online * 10000) / 100;
}

/** Memory in use as the Docker CLI shows it: usage minus page cache (cgroup v1 `cache`, v2 `inactive_file`). Pure. */
export function memoryUsed(s: { memory_stats?: any }): number {
  const m = s.memory_stats ?? {};
  const cache = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? m.stats?.cache ?? 0;
  return Math.max(0, (m.usage ?? 0) - cache);
}

async function usageOf(docker: Docker, c: StackContainer): Promise<ContainerUsage | null> {
  if (c.state !== 'running') return null;
  try {
    const s = (await docker.getContainer(c.id).stats({ stream: false })) as any;
    return { cpuPercent: cpuPercent(s), memoryBytes: memoryUsed(s), memoryLimitBytes: s.memory_stats?.limit ?? 0 };
  } catch {
    return null;
  }
}

/** Expected replicas: the plan's (`carebox scale` writes its counts into the manifest's plan). */
export function expectedFor(m: Manifest): Record<string, number> {
  // The backup scheduler runs once when compose.yml has it (a CLI image recorded for it).
  return expectedReplicas(m.plan, m.images);
}

/** Redis's password from the install's .env (null when the file does not hold one). */
async function redisAuth(root: string): Promise<string | null> {
  const env = await loadSecrets(root).catch(() => null);
  return env && !env.generated.includes('REDIS_PASSWORD') ? env.secrets.REDIS_PASSWORD : null;
}

/**
 * The stack's status through the Docker API: every service the plan expects (and any other
 * container carrying the project label), replicas, state, health, CPU and memory; with `opts.root`
 * (the install root) also the maintenance mode.
 */
export async function stackStatus(
  docker: Docker,
  m: Manifest,
  opts: { usage: boolean; root?: string; load?: 'full' | 'sessions' | 'none' } = { usage: true },
): Promise<StackStatus> {
  const containers = await listStackContainers(docker, m.project);
  const expected = expectedFor(m);
  const names = [...new Set([...Object.keys(expected), ...containers.map((c) => c.service)])];
  const now = Date.now() / 1000;
  const withUsage: ContainerStatus[] = await Promise.all(
    containers.map(async (c) => {
      let uptimeS: number | null = null;
      if (c.state === 'running') {
        const info = await docker
          .getContainer(c.id)
          .inspect()
          .catch(() => null);
        const started = info ? Date.parse(info.State.StartedAt) / 1000 : NaN;
        uptimeS = Number.isFinite(started) ? Math.max(0, Math.round(now - started)) : null;
      }
      return { ...c, usage: opts.usage ? await usageOf(docker, c) : null, uptimeS };
    }),
  );
  const services: ServiceStatus[] = names.map((service) => {
    const cs = withUsage.filter((c) => c.service === service);
    const want = expected[service] ?? 0;
    const ready = cs.filter(isReady).length;
    const running = cs.filter((c) => c.state === 'running').length;
    const state: ServiceStatus['state'] = want > 0 && ready >= want ? 'healthy' : ready > 0 ? 'degraded' : want === 0 && cs.length === 0 ? 'healthy' : 'down';
    return { service, expected: want, running, ready, state, containers: cs };
  });
  const running = (svc: string) => containers.filter((c) => c.service === svc && c.state === 'running').map((c) => c.id);
  const load =
    opts.load === 'full' || opts.load === 'sessions'
      ? headroom(m.plan, {
          requests: opts.load === 'full' ? await recentApiRequests(docker, running('nginx')) : null,
          activeSessions: await activeSessions(docker, running('redis')[0], opts.root ? await redisAuth(opts.root) : null),
        })
      : undefined;
  return {
    ...(load ? { load } : {}),
    project: m.project,
    tier: m.plan.tier,
    url: edgeUrls(m.http).public,
    healthy: services.every((s) => s.state === 'healthy'),
    services,
    maintenance: opts.root ? await readMaintenance(opts.root) : null,
    capacity: {
      estimate: m.plan.capacity.concurrentUsers,
      unit: m.plan.capacity.unit ?? staffUnit(planProfile(m.plan)),
      basis: m.plan.capacity.basis,
      measured: isStaffMeasurement(m.plan.capacity.measured) ? m.plan.capacity.measured : null,
    },
  };
}
