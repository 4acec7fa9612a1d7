/**
 * Drift between compose.yml and the running containers, as Compose itself decides it: Compose
 * recreates a container when the `com.docker.compose.config-hash` label differs from the hash of
 * the service's current config (`docker compose config --hash`). Replica counts and depends_on are
 * outside the hash (Compose v2), which is why scale and retier can change counts without
 * recreating anything.
 */
import type { ComposeCli } from './compose.cli.js';
import type { StackContainer } from './stack.containers.js';

/** Parse `docker compose config --hash '*'` output (`service hash` per line). Pure. */
export function parseConfigHashes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9._-]+)\s+([0-9a-f]{64})\s*$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The config hash of every service in the compose.yml the CLI is bound to. */
export async function configHashes(compose: ComposeCli): Promise<Record<string, string>> {
  const r = await compose.run(['config', '--hash', '*'], { timeoutMs: 60_000 });
  return parseConfigHashes(r.stdout);
}

/** One service that does not match compose.yml. */
export interface ServiceDrift {
  service: string;
  /** Containers whose config hash differs (Compose would recreate them). */
  stale: { id: string; number: number }[];
  /** Containers running vs the replicas expected. */
  running: number;
  expected: number;
  /** Containers of a service that is no longer in compose.yml (Compose would remove them as orphans). */
  orphan: boolean;
}

/**
 * Compare containers with compose.yml's hashes and the expected replica counts. Pure.
 * @returns only the services that drift (empty: a plain `up` would change nothing).
 */
export function findDrift(containers: StackContainer[], hashes: Record<string, string>, expected: Record<string, number>): ServiceDrift[] {
  const services = [...new Set([...Object.keys(expected), ...containers.map((c) => c.service)])].sort();
  const out: ServiceDrift[] = [];
  for (const service of services) {
    const cs = containers.filter((c) => c.service === service && !c.oneoff);
    const want = hashes[service];
    const stale = want ? cs.filter((c) => c.configHash !== want).map((c) => ({ id: c.id, number: c.number })) : [];
    const running = cs.filter((c) => c.state === 'running').length;
    const exp = expected[service] ?? 0;
    const orphan = want === undefined && cs.length > 0;
    if (stale.length > 0 || running !== exp || orphan) out.push({ service, stale, running, expected: exp, orphan });
  }
  return out;
}

/** One line per drifting service, for messages. Pure. */
export function formatDrift(drift: ServiceDrift[]): string {
  return drift
    .map((d) =>
      d.orphan
        ? `${d.service}: ${d.running} container(s) of a service no longer in compose.yml`
        : `${d.service}: ${d.running}/${d.expected} running${d.stale.length ? `, ${d.stale.length} with an outdated config (${d.stale.map((s) => `#${s.number}`).join(', ')})` : ''}`,
    )
    .join('; ');
}
