/**
 * Scrape `/metrics` of every running backend container directly, from the host, at
 * `http://<container IP on the stack network>:<PORT>/metrics`. nginx refuses /metrics at the edge,
 * and going through it would reach one replica at random anyway.
 */
import type Docker from 'dockerode';
import { listStackContainers } from '../../installer/runtime/stack.containers.js';
import { DEFAULT_BACKEND_PORT } from './metric.names.js';
import { snapshotFrom } from './metrics.snapshot.js';
import type { TargetScrape } from './metrics.window.js';
import { parsePrometheusText } from './prom.parse.js';

/** Compose service whose containers serve `/metrics`. */
export const METRICS_SERVICE = 'backend';

/** Where to scrape one backend container. */
export interface BackendTarget {
  id: string;
  name: string;
  /** `http://IP:PORT/metrics`, or null when the container has no address we can reach. */
  url: string | null;
  /** Why `url` is null. */
  reason: string | null;
}

/** The parts of `docker inspect` this module reads. */
export interface InspectForTarget {
  Config?: { Env?: string[] | null } | null;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string | null } | undefined> | null } | null;
}

/**
 * The metrics URL of a container from its inspect data: the IP on the project's `internal`
 * network (Compose names it `<project>_internal`), else on any network that gave it one; the
 * port from its `PORT` env, else the server's default 3000. Pure.
 */
export function metricsUrlFromInspect(info: InspectForTarget, project: string): { url: string | null; reason: string | null } {
  const nets = info.NetworkSettings?.Networks ?? {};
  const preferred = nets[`${project}_internal`]?.IPAddress;
  const any = Object.values(nets).find((n) => n?.IPAddress)?.IPAddress;
  const ip = preferred || any || null;
  if (!ip) return { url: null, reason: 'no IP address on the stack network' };
  const env = info.Config?.Env ?? [];
  const portText = env.find((e) => e.startsWith('PORT='))?.slice('PORT='.length);
  const port = portText && /^\d+$/.test(portText) ? Number(portText) : DEFAULT_BACKEND_PORT;
  return { url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}/metrics`, reason: null };
}

/**
 * The running backend containers of `project` and their metrics URLs (found by Compose labels).
 * @throws the dockerode error when listing fails.
 */
export async function backendTargets(docker: Docker, project: string): Promise<BackendTarget[]> {
  const containers = (await listStackContainers(docker, project)).filter((c) => c.service === METRICS_SERVICE && c.state === 'running');
  return Promise.all(
    containers.map(async (c): Promise<BackendTarget> => {
      try {
        const info = (await docker.getContainer(c.id).inspect()) as InspectForTarget;
        return { id: c.id, name: c.name, ...metricsUrlFromInspect(info, project) };
      } catch (err) {
        return { id: c.id, name: c.name, url: null, reason: `inspect failed: ${(err as Error).message}` };
      }
    }),
  );
}

/** Options of {@link scrapeTarget}. */
export interface ScrapeOptions {
  /** Per-request timeout in ms (default 2000). */
  timeoutMs?: number;
  /** Injected for tests; default the global fetch. */
  fetchFn?: typeof fetch;
  /** Clock in ms since the epoch; default Date.now. */
  now?: () => number;
}

/**
 * Fetch and parse one target's `/metrics`. Never throws: a refused connection, a timeout, a non-200
 * answer or an unparseable body gives `snapshot: null` with the reason in `error`.
 */
export async function scrapeTarget(t: BackendTarget, opts: ScrapeOptions = {}): Promise<TargetScrape> {
  const now = opts.now ?? Date.now;
  const base = { target: t.id, name: t.name };
  if (!t.url) return { ...base, atMs: now(), snapshot: null, error: t.reason ?? 'no address' };
  try {
    const res = await (opts.fetchFn ?? fetch)(t.url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 2000) });
    const text = await res.text();
    if (res.status !== 200) return { ...base, atMs: now(), snapshot: null, error: `HTTP ${res.status} from ${t.url}` };
    return { ...base, atMs: now(), snapshot: snapshotFrom(parsePrometheusText(text)), error: null };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs ?? 2000} ms` : (e.cause?.code ?? e.message);
    return { ...base, atMs: now(), snapshot: null, error: `${why} (${t.url})` };
  }
}

/**
 * Scrape every running backend container of `project` in parallel.
 * @returns one TargetScrape per container (failed ones carry `error`).
 * @throws the dockerode error when the containers cannot be listed.
 */
export async function scrapeBackends(docker: Docker, project: string, opts: ScrapeOptions = {}): Promise<TargetScrape[]> {
  const targets = await backendTargets(docker, project);
  return Promise.all(targets.map((t) => scrapeTarget(t, opts)));
}
