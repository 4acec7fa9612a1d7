import type Docker from 'dockerode';
import { UnhealthyError } from '../errors.js';
import { containerLogTail } from './container.logs.js';
import { listStackContainers, type StackContainer } from './stack.containers.js';

/** Per service: how many replicas must be up. */
export type ExpectedReplicas = Record<string, number>;

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
 * @param timeoutMs give up after this long (ms).
 * @throws UnhealthyError (exit 4) on timeout, with each service's state and the last log lines of
 *   every container that is not ready.
 */
export async function waitHealthy(
  docker: Docker,
  project: string,
  expected: ExpectedReplicas,
  opts: { timeoutMs: number; intervalMs?: number; onProgress?: (line: string) => void },
): Promise<StackContainer[]> {
  const deadline = Date.now() + opts.timeoutMs;
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
    if (Date.now() > deadline) {
      const bad = containers.filter((c) => expected[c.service] !== undefined && !isReady(c));
      const logs: string[] = [];
      for (const c of bad.slice(0, 6)) {
        const tail = await containerLogTail(docker, c.id, 15).catch(() => '(logs unavailable)');
        logs.push(`--- ${c.service} #${c.number} (${c.status}) ---\n${tail.trimEnd()}`);
      }
      throw new UnhealthyError(
        `the stack did not become healthy within ${Math.round(opts.timeoutMs / 1000)} s: ${text}${logs.length ? `\n${logs.join('\n')}` : ''}`,
        `inspect with \`carebox status\` and \`carebox logs SERVICE\`; fix the cause and rerun the same command (it is safe to repeat)`,
        { services: lines },
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
  }
}
