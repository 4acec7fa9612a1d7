import type Docker from 'dockerode';

/** Compose's labels, the same in v1 and v2 (container *names* differ: `_` vs `-`, so never match names). */
export const LABEL_PROJECT = 'com.docker.compose.project';
export const LABEL_SERVICE = 'com.docker.compose.service';
export const LABEL_NUMBER = 'com.docker.compose.container-number';
export const LABEL_ONEOFF = 'com.docker.compose.oneoff';
export const LABEL_CONFIG_HASH = 'com.docker.compose.config-hash';

/** One container of the stack, as `status` and the health wait see it. */
export interface StackContainer {
  id: string;
  name: string;
  service: string;
  /** Replica number within the service (1, 2, …). */
  number: number;
  /** Docker state: running, exited, restarting, created, paused, dead. */
  state: string;
  /** healthy, unhealthy, starting, or `none` when the container has no healthcheck. */
  health: 'healthy' | 'unhealthy' | 'starting' | 'none';
  image: string;
  /** Unix seconds when the container was created. */
  created: number;
  /** Human status from Docker, e.g. `Up 5 minutes (healthy)`. */
  status: string;
  oneoff: boolean;
  configHash: string | null;
}

function healthOf(status: string): StackContainer['health'] {
  if (/\(healthy\)/.test(status)) return 'healthy';
  if (/\(unhealthy\)/.test(status)) return 'unhealthy';
  if (/\(health: starting\)/.test(status)) return 'starting';
  return 'none';
}

/**
 * List the stack's containers (running or not) by the Compose project label, one-off `run`
 * containers excluded unless asked. Sorted by service then replica number.
 * @throws the dockerode error when the engine call fails.
 */
export async function listStackContainers(docker: Docker, project: string, opts: { includeOneoff?: boolean } = {}): Promise<StackContainer[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_PROJECT}=${project}`] } });
  return list
    .map((c): StackContainer => {
      const labels = c.Labels ?? {};
      return {
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
        service: labels[LABEL_SERVICE] ?? '?',
        number: Number(labels[LABEL_NUMBER] ?? 0),
        state: c.State,
        health: healthOf(c.Status ?? ''),
        image: c.Image,
        created: c.Created,
        status: c.Status ?? '',
        oneoff: (labels[LABEL_ONEOFF] ?? 'False').toLowerCase() === 'true',
        configHash: labels[LABEL_CONFIG_HASH] ?? null,
      };
    })
    .filter((c) => opts.includeOneoff || !c.oneoff)
    .sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number);
}
