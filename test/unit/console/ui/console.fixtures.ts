/** Stack statuses and metrics samples for the console's view-model and component tests. */
import type { ContainerStatus, ServiceStatus, StackStatus } from '../../../../console/ops/status.ops.js';
import type { MetricsSample } from '../../../../console/metrics/metrics.window.js';

const MiB = 1024 ** 2;

/** One container of a service. */
export function container(service: string, number: number, over: Partial<ContainerStatus> = {}): ContainerStatus {
  return {
    id: `${service}-${number}-id`,
    name: `carebox-${service}-${number}`,
    service,
    number,
    state: 'running',
    health: 'healthy',
    image: `carebox/${service}:test`,
    created: 1_700_000_000,
    status: 'Up 5 minutes (healthy)',
    oneoff: false,
    configHash: null,
    usage: { cpuPercent: 2.5, memoryBytes: 80 * MiB, memoryLimitBytes: 512 * MiB },
    uptimeS: 300,
    ...over,
  };
}

/** A service from its containers; state as status.ops computes it. */
export function service(name: string, expected: number, containers: ContainerStatus[]): ServiceStatus {
  const ready = containers.filter((c) => c.state === 'running' && (c.health === 'healthy' || c.health === 'none')).length;
  const running = containers.filter((c) => c.state === 'running').length;
  const state: ServiceStatus['state'] = expected > 0 && ready >= expected ? 'healthy' : ready > 0 ? 'degraded' : 'down';
  return { service: name, expected, running, ready, state, containers };
}

/** The default-tier stack, all healthy, unless services are replaced. */
export function stack(over: Partial<Record<string, ServiceStatus>> = {}, tier = 'default'): StackStatus {
  const base: Record<string, ServiceStatus> = {
    db: service('db', 1, [container('db', 1, { usage: { cpuPercent: 1.2, memoryBytes: 120 * MiB, memoryLimitBytes: 1024 * MiB } })]),
    redis: service('redis', 1, [container('redis', 1, { usage: { cpuPercent: 0.4, memoryBytes: 9 * MiB, memoryLimitBytes: 256 * MiB } })]),
    backend: service('backend', 1, [container('backend', 1)]),
    worker: service('worker', 1, [container('worker', 1)]),
    nginx: service('nginx', 1, [container('nginx', 1, { usage: { cpuPercent: 0.1, memoryBytes: 4 * MiB, memoryLimitBytes: 128 * MiB } })]),
  };
  const services = Object.values({ ...base, ...over }).filter((s): s is ServiceStatus => s !== undefined);
  return { project: 'carebox-root-abc123', tier, url: 'http://127.0.0.1:8080/', healthy: services.every((s) => s.state === 'healthy'), services };
}

/** A stack with a degraded backend (1 of 2 ready: one starting) and a worker that is down (exited). */
export function troubledStack(): StackStatus {
  return stack({
    backend: service('backend', 2, [
      container('backend', 1),
      container('backend', 2, { health: 'starting', uptimeS: 4, status: 'Up 4 seconds (health: starting)' }),
    ]),
    worker: service('worker', 1, [container('worker', 1, { state: 'exited', health: 'none', usage: null, uptimeS: null, status: 'Exited (1) 3 seconds ago' })]),
  });
}

/** A metrics sample with every figure present. */
export function sample(over: Partial<MetricsSample> = {}): MetricsSample {
  return {
    atMs: 0,
    requestRate: 12.34,
    windowS: 2,
    p95Seconds: 0.045,
    errorRatio: 0.01,
    pool: { used: 2, free: 3, pending: 0, max: 10 },
    queues: { system: { waiting: 3, active: 1, delayed: 0, succeeded: 40, failed: 0 } },
    targets: 1,
    scraped: 1,
    errors: [],
    workersMissing: 0,
    ...over,
  };
}
