/**
 * Headroom in the hospital's unit, for `status` and the console: the load of the last minute
 * (actions per second and active sessions) against the install's capacity (the proven
 * `carebox loadtest` figure, else the planner's estimate), as percentages; and whether the stack
 * runs overcommitted (more web processes than usable CPUs, or container limits over usable memory).
 *
 * - Requests: nginx's access log of the last minute (`"METHOD /api/…"` lines; the log carries no
 *   query strings), so every replica's traffic counts once and the console's own scrapes of
 *   /metrics (not logged at the edge) do not.
 * - Actions: requests ÷ the profile's requests per action.
 * - Active sessions: session keys in Redis (`<prefix>:s:*`); each expires after the server's idle
 *   timeout, so an open key is a person with a session open.
 * Pure, except the two readers at the end.
 */
import type Docker from 'dockerode';
import { isStaffMeasurement, planProfile } from '../../installer/plan/capacity.estimate.js';
import type { Plan } from '../../installer/plan/plan.types.js';
import { requestsPerAction } from '../../installer/plan/workload.profile.js';
import { demuxDockerLogs } from '../../installer/runtime/container.logs.js';
import { execIn } from '../../installer/runtime/container.exec.js';
import { parseAccessLine } from '../../installer/render/access-log.format.js';

/** The window the load is averaged over, seconds. */
export const LOAD_WINDOW_S = 60;
/** Redis key prefix of the server's sessions (QUEUE_NAME_PREFIX, default `carebox`; Carebox renders no other). */
export const SESSION_KEY_PATTERN = 'carebox:s:*';

/** Load against capacity. */
export interface Headroom {
  windowS: number;
  /** API requests through nginx in the window (null when the log could not be read). */
  requests: number | null;
  actionsPerSecond: number | null;
  /** Sessions open now (null when Redis could not be read). */
  activeSessions: number | null;
  capacity: { source: 'measured' | 'estimated'; actionsPerSecond: number; staff: number; unit: string };
  /** The profile's requests per action (to turn request rates into action rates). */
  requestsPerAction: number;
  /** actionsPerSecond as a percentage of the capacity's action rate. */
  actionsPercent: number | null;
  /** activeSessions as a percentage of the capacity's staff. */
  sessionsPercent: number | null;
  /** Why the stack runs overcommitted (empty when it does not). */
  overcommitted: string[];
}

/**
 * API requests in nginx access-log text (Carebox's `log_format carebox`, parsed by
 * parseAccessLine) whose time is at or after `sinceMs`. Pure.
 */
export function countApiRequests(logText: string, sinceMs: number): number {
  let n = 0;
  for (const line of logText.split('\n')) {
    const l = parseAccessLine(line);
    if (l && l.path.startsWith('/api/') && l.timeMs >= sinceMs - 999) n += 1; // $time_iso8601 has whole seconds
  }
  return n;
}

/** Whether the sizing runs overcommitted on the host it was planned for: CPUs and memory. Pure. */
export function overcommitReasons(plan: Pick<Plan, 'budget' | 'host'>): string[] {
  const out: string[] = [];
  const w = plan.budget.workerProcesses;
  if (w.demand > w.limit) out.push(`${w.demand} web/queue processes on ${w.limit} usable CPUs (redundancy, not throughput)`);
  const m = plan.budget.memoryBytes;
  if (m.demand > m.limit)
    out.push(
      `container memory limits ${(m.demand / 1024 ** 3).toFixed(2)} GiB over ${(m.limit / 1024 ** 3).toFixed(2)} GiB usable (borrowed from PostgreSQL's page cache)`,
    );
  return out;
}

/**
 * Headroom of a plan for a load. Capacity: the proven measurement when carebox.json holds one in
 * active staff, else the estimate's low end. Pure.
 */
export function headroom(plan: Plan, load: { requests: number | null; activeSessions: number | null; windowS?: number }): Headroom {
  const windowS = load.windowS ?? LOAD_WINDOW_S;
  const rpa = requestsPerAction(planProfile(plan));
  const c = plan.capacity;
  const m = c.measured;
  const capacity = isStaffMeasurement(m)
    ? { source: 'measured' as const, actionsPerSecond: m.actionsPerSecond, staff: m.concurrentUsers }
    : { source: 'estimated' as const, actionsPerSecond: c.actionsPerSecond?.[0] ?? 0, staff: c.concurrentUsers[0] };
  const actionsPerSecond = load.requests === null ? null : Math.round((load.requests / windowS / rpa) * 100) / 100;
  const pct = (x: number | null, of: number): number | null => (x === null || !(of > 0) ? null : Math.round((x / of) * 1000) / 10);
  return {
    windowS,
    requests: load.requests,
    actionsPerSecond,
    activeSessions: load.activeSessions,
    capacity: { ...capacity, unit: c.unit ?? 'active staff' },
    requestsPerAction: Math.round(rpa * 100) / 100,
    actionsPercent: pct(actionsPerSecond, capacity.actionsPerSecond),
    sessionsPercent: pct(load.activeSessions, capacity.staff),
    overcommitted: overcommitReasons(plan),
  };
}

/** One line for `status` and the console. Pure. */
export function formatHeadroom(h: Headroom): string {
  const acts =
    h.actionsPerSecond === null
      ? 'actions/s unknown (nginx log unreadable)'
      : `${h.actionsPerSecond} actions/s (${h.actionsPercent ?? '–'} % of ${h.capacity.actionsPerSecond})`;
  const sess =
    h.activeSessions === null
      ? 'sessions unknown (Redis unreadable)'
      : `${h.activeSessions} active sessions (${h.sessionsPercent ?? '–'} % of ${h.capacity.staff} ${h.capacity.unit})`;
  return `Load (last ${h.windowS} s): ${acts}, ${sess}; capacity ${h.capacity.source}`;
}

/** Reads the API requests of the last `windowS` seconds from every nginx container's log. Null when none could be read. */
export async function recentApiRequests(docker: Docker, nginxIds: string[], windowS = LOAD_WINDOW_S, now = Date.now()): Promise<number | null> {
  let total: number | null = null;
  const since = Math.floor(now / 1000) - windowS;
  for (const id of nginxIds) {
    try {
      const raw = (await docker.getContainer(id).logs({ stdout: true, stderr: false, since, follow: false })) as unknown;
      const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
      const text = demuxDockerLogs(buf)
        .frames.map((f) => f.text)
        .join('');
      total = (total ?? 0) + countApiRequests(text, since * 1000);
    } catch {
      // this container's log could not be read
    }
  }
  return total;
}

/**
 * Counts open sessions in Redis (SCAN, never KEYS). Null when Redis could not be asked.
 * @param auth Redis's password (from the install's .env): passed in the exec's own REDISCLI_AUTH,
 *   never on a command line; the redis container itself holds no password (users.acl).
 */
export async function activeSessions(docker: Docker, redisId: string | undefined, auth: string | null = null): Promise<number | null> {
  if (!redisId) return null;
  try {
    const out = await execIn(docker, redisId, ['redis-cli', '-h', '127.0.0.1', '--scan', '--pattern', SESSION_KEY_PATTERN], {
      timeoutMs: 15_000,
      ...(auth ? { env: [`REDISCLI_AUTH=${auth}`] } : {}),
    });
    if (out.code !== 0) return null;
    return out.stdout.split('\n').filter((l) => l.trim() !== '').length;
  } catch {
    return null;
  }
}
