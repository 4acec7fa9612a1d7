import type Docker from 'dockerode';
import { UnhealthyError } from '../errors.js';
import { containerLogTail } from './container.logs.js';
import { listStackContainers, type StackContainer } from './stack.containers.js';

/** Per service: how many replicas must be up. */
export type ExpectedReplicas = Record<string, number>;

/**
 * Restarts while waiting after which a container counts as crash-looping: Docker's restart backoff
 * (100 ms, doubling) makes 3 restarts of a process that dies at start take a few seconds, while a
 * healthy start restarts 0 times.
 */
export const CRASH_LOOP_RESTARTS = 3;

/** What `docker inspect` says about one container, as far as readiness is concerned. */
export interface ContainerHealthFacts {
  running: boolean;
  /** Docker is between two starts of the restart policy. */
  restarting: boolean;
  exitCode: number;
  /** The healthcheck's status (`starting`, `healthy`, `unhealthy`); undefined without a healthcheck. */
  health?: string;
  /** Starts by the restart policy since the container was created. */
  restartCount: number;
  /** `no`, `always`, `unless-stopped`, `on-failure`. */
  restartPolicy: string;
}

/** The readiness facts of a `docker inspect` result. Pure. */
export function healthFacts(info: Docker.ContainerInspectInfo): ContainerHealthFacts {
  return {
    running: info.State.Running,
    restarting: info.State.Restarting,
    exitCode: info.State.ExitCode,
    ...(info.State.Health?.Status === undefined ? {} : { health: info.State.Health.Status }),
    restartCount: info.RestartCount,
    restartPolicy: info.HostConfig.RestartPolicy?.Name || 'no',
  };
}

/** Ready: running, not between restarts, and healthy when it has a healthcheck. Pure. */
export function factsReady(f: ContainerHealthFacts): boolean {
  return f.running && !f.restarting && (f.health === undefined || f.health === 'healthy');
}

/** A short state for progress lines: `restarting`, `exited (1)`, `starting`, `unhealthy`. Pure. */
export function notReadyState(f: ContainerHealthFacts): string {
  return f.restarting ? 'restarting' : !f.running ? `exited (${f.exitCode})` : (f.health ?? 'starting');
}

/**
 * Why waiting longer for a container is pointless, or null while it may still come up: it
 * restarted {@link CRASH_LOOP_RESTARTS} times since the wait began (`restartsAtStart`), or it
 * exited and its restart policy will not start it again. Pure.
 */
export function crashLoopReason(f: ContainerHealthFacts, restartsAtStart: number): string | null {
  const restarts = f.restartCount - restartsAtStart;
  if (restarts >= CRASH_LOOP_RESTARTS) return `restarted ${restarts} times while starting${f.exitCode !== 0 ? ` (last exit code ${f.exitCode})` : ''}`;
  if (!f.running && !f.restarting && f.restartPolicy === 'no') return `exited (${f.exitCode}) and is not restarted`;
  return null;
}

/** A container is ready when it runs and, if it has a healthcheck, Docker says healthy. */
export function isReady(c: StackContainer): boolean {
  return c.state === 'running' && (c.health === 'healthy' || c.health === 'none');
}

/** Per-service readiness summary: `backend 2/3 healthy`. Pure. */
export function summarize(containers: StackContainer[], expected: ExpectedReplicas): { ready: boolean; lines: string[] } {
  let ready = true;
  const lines: string[] = [];
  for (const [svc, want] of Object.entries(expected)) {
    const cs = containers.filter((c) => c.service === svc);
    const ok = cs.filter(isReady).length;
    if (ok < want || cs.length > want) ready = false;
    const states = cs.filter((c) => !isReady(c)).map((c) => `#${c.number} ${c.state}${c.health !== 'none' ? `/${c.health}` : ''}`);
    lines.push(`${svc} ${ok}/${want} ready${states.length ? ` (${states.join(', ')})` : ''}`);
  }
  return { ready, lines };
}

/**
 * Poll the Docker API until every expected service has exactly its replicas running and healthy.
 * Gives up early when a container is crash-looping or exited for good ({@link crashLoopReason}):
 * a failing install reports its cause in seconds instead of waiting out the whole timeout.
 * @param timeoutMs give up after this long (ms).
 * @throws UnhealthyError (exit 4) on timeout or a crash loop, with each service's state and the last
 *   log lines of every container that is not ready.
 */
export async function waitHealthy(
  docker: Docker,
  project: string,
  expected: ExpectedReplicas,
  opts: { timeoutMs: number; intervalMs?: number; onProgress?: (line: string) => void },
): Promise<StackContainer[]> {
  const deadline = Date.now() + opts.timeoutMs;
  const restartsAtStart = new Map<string, number>();
  let last = '';
  for (;;) {
    const containers = await listStackContainers(docker, project);
    const { ready, lines } = summarize(containers, expected);
    const text = lines.join(', ');
    if (text !== last) {
      opts.onProgress?.(text);
      last = text;
    }
    if (ready) return containers;
    const bad = containers.filter((c) => expected[c.service] !== undefined && !isReady(c));
    // Only the containers that are not ready are inspected (the list has no restart count).
    let crashLoop: string | null = null;
    for (const c of bad) {
      const info = await docker
        .getContainer(c.id)
        .inspect()
        .catch(() => null);
      if (!info) continue;
      const facts = healthFacts(info);
      if (!restartsAtStart.has(c.id)) restartsAtStart.set(c.id, facts.restartCount);
      const why = crashLoopReason(facts, restartsAtStart.get(c.id)!);
      if (why) crashLoop ??= `${c.service} #${c.number} ${why}`;
    }
    if (crashLoop || Date.now() > deadline) {
      const logs: string[] = [];
      for (const c of bad.slice(0, 6)) {
        const tail = await containerLogTail(docker, c.id, 15).catch(() => '(logs unavailable)');
        logs.push(`--- ${c.service} #${c.number} (${c.status}) ---\n${tail.trimEnd()}`);
      }
      const verdict = crashLoop
        ? `the stack cannot become healthy: ${crashLoop}`
        : `the stack did not become healthy within ${Math.round(opts.timeoutMs / 1000)} s`;
      throw new UnhealthyError(
        `${verdict}: ${text}${logs.length ? `\n${logs.join('\n')}` : ''}`,
        `inspect with \`carebox status\` and \`carebox logs SERVICE\`; fix the cause and rerun the same command (it is safe to repeat)`,
        { services: lines },
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
  }
}
