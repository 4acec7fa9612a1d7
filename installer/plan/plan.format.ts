import { formatBytes } from '../detect/size.js';
import type { Budget, Plan } from './plan.types.js';
import { isStaffMeasurement, planProfile } from './capacity.estimate.js';
import { describeProfile, staffUnit } from './workload.profile.js';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** Host line: usable figures next to host figures, with their sources. */
export function formatHost(plan: Plan): string {
  const h = plan.host;
  return `${h.cpus} usable CPUs (${h.cpusSource}; host ${h.hostCpus}), ${formatBytes(h.memoryBytes)} usable memory (${h.memorySource}; host ${formatBytes(h.hostMemoryBytes)})`;
}

/** One line per service: the sizing an admin cares about. */
export function formatSizing(plan: Plan): string[] {
  const s = plan.sizing;
  const lim = (l: { cpus: number; memoryBytes: number }) => `${l.cpus} CPU / ${formatBytes(l.memoryBytes)}`;
  const lines = [
    `backend    ${s.backend.replicas} replica(s) × ${s.backend.workers} worker(s), pool ${s.backend.pool.min}–${s.backend.pool.max}, acquire timeout ${s.backend.pool.acquireTimeoutMs} ms, limit ${lim(s.backend.limits)} each`,
    `queue      ${s.queue.replicas} worker(s) × concurrency ${s.queue.concurrency}, pool ${s.queue.pool.min}–${s.queue.pool.max}, limit ${lim(s.queue.limits)} each`,
    `postgres   max_connections ${s.postgres.maxConnections}, shared_buffers ${formatBytes(s.postgres.sharedBuffersBytes)}, work_mem ${formatBytes(s.postgres.workMemBytes)}, effective_cache_size ${formatBytes(s.postgres.effectiveCacheSizeBytes)}, limit ${lim(s.postgres.limits)}`,
    s.pgbouncer
      ? `pgbouncer  ${s.pgbouncer.poolMode} pooling, default_pool_size ${s.pgbouncer.defaultPoolSize} (+${s.pgbouncer.reservePoolSize}), max_client_conn ${s.pgbouncer.maxClientConn}, limit ${lim(s.pgbouncer.limits)}`
      : `pgbouncer  none (backends connect to PostgreSQL directly; --pgbouncer ${plan.intent.pgbouncer ?? 'auto'})`,
    `redis      maxclients ${s.redis.maxClients}, maxmemory ${formatBytes(s.redis.maxMemoryBytes)} (${s.redis.maxMemoryPolicy}), limit ${lim(s.redis.limits)}`,
    `nginx      ${s.nginx.workerProcesses} worker(s) × ${s.nginx.workerConnections} connections, rlimit_nofile ${s.nginx.workerRlimitNofile}, keepalive ${s.nginx.keepaliveTimeoutS} s, body limit ${formatBytes(s.bodyLimitBytes)}, limit ${lim(s.nginx.limits)}`,
    ...(s.logs
      ? [`logs       json-file, ${formatBytes(s.logs.maxSizeBytes)} × ${s.logs.maxFiles} files per container (at most ${formatBytes(s.logs.diskBytes)} in all)`]
      : []),
  ];
  return lines;
}

function budgetLine(name: string, b: Budget, fmt: (n: number) => string): string {
  return `${pad(name, 26)}${pad(fmt(b.demand), 12)} ≤ ${fmt(b.limit)}${b.demand <= b.limit ? '' : '   ✗ OVER'}`;
}

/** The invariants as `demand ≤ limit` lines. */
export function formatBudgets(plan: Plan): string[] {
  const b = plan.budget;
  const n = (x: number) => String(x);
  const lines = [
    budgetLine('DB connections', b.dbConnections, n),
    budgetLine('Redis clients', b.redisConnections, n),
    budgetLine('Memory (containers)', b.memoryBytes, formatBytes),
    budgetLine('PostgreSQL memory', b.postgresMemoryBytes, formatBytes),
    budgetLine('Web workers vs CPUs', b.workerProcesses, n),
  ];
  if (b.pgbouncerClients) lines.splice(1, 0, budgetLine('PgBouncer clients', b.pgbouncerClients, n));
  return lines;
}

/** The whole plan as text for `carebox plan`. */
export function formatPlan(plan: Plan): string {
  const c = plan.capacity;
  const out = [
    `Carebox plan: tier ${plan.tier}${plan.nodes > 1 ? ` on ${plan.nodes} nodes` : ''}`,
    `Host: ${formatHost(plan)}`,
    '',
    'Why this tier:',
    ...plan.reasons.map((r) => `  - ${r}`),
    '',
    'Sizing:',
    ...formatSizing(plan).map((l) => `  ${l}`),
    '',
    'Budgets (demand ≤ limit):',
    ...formatBudgets(plan).map((l) => `  ${l}`),
    '',
    ...formatCapacity(plan),
  ];
  if (c.measured) out.push(formatMeasured(c.measured));
  if (plan.shortfall) out.push('', `Shortfall: ${plan.shortfall.message}`);
  out.push('', 'Derivations:', ...Object.entries(plan.derivations).map(([k, v]) => `  ${k}: ${v}`));
  out.push('', 'Tiers on this host:', ...plan.tiers.map((t) => `  ${pad(t.tier, 11)} ${t.feasible ? 'yes' : 'no '}  ${t.reason}`));
  return out.join('\n');
}

/** One line for the installer's summary: `Capacity: about 4442–5601 active staff (one action every 30 s); web-cpu binds.` Pure. */
export function capacityLine(plan: Plan): string {
  const c = plan.capacity;
  return `Capacity: about ${c.concurrentUsers[0]}–${c.concurrentUsers[1]} ${c.unit ?? staffUnit(planProfile(plan))}${c.bottleneck ? `; ${c.bottleneck} binds` : ''} (estimate; \`carebox loadtest\` measures it).`;
}

/**
 * The capacity lines of `plan` (and the installer's summary): active staff with the unit, the
 * request and action rates they rest on, the binding resource, and the profile. Pure.
 */
export function formatCapacity(plan: Plan): string[] {
  const c = plan.capacity;
  const profile = planProfile(plan);
  const unit = c.unit ?? staffUnit(profile);
  const lines = [`Capacity: about ${c.concurrentUsers[0]}–${c.concurrentUsers[1]} ${unit}`];
  if (c.requestsPerSecond && c.actionsPerSecond) {
    lines.push(
      `  = ${c.actionsPerSecond[0]}–${c.actionsPerSecond[1]} actions/s × (R ${c.responseTimeS} s + Z ${c.thinkTimeS} s) by Little's law; ${c.requestsPerSecond[0]}–${c.requestsPerSecond[1]} req/s sustained at p95 ≤ 200 ms; ${c.bottleneck} binds`,
    );
  }
  lines.push(`  profile ${profile.name}: ${describeProfile(profile)}`, `  estimate: ${c.basis}`);
  if (c.measured && isStaffMeasurement(c.measured)) lines.push(formatMeasured(c.measured, unit));
  return lines;
}

/**
 * The "Measured:" line of `plan` and `status`: the last proven `carebox loadtest` figure, marked as
 * a lower bound when every rate up to --max-rate was sustained. Pure.
 */
export function formatMeasured(m: NonNullable<Plan['capacity']['measured']>, unit = 'active staff'): string {
  const staff = m.limitedByMaxRate ? `at least ${m.concurrentUsers} ${unit} (every rate up to --max-rate was sustained)` : `${m.concurrentUsers} ${unit}`;
  const sat = m.saturationConnections ? `; saturation: ${m.saturationConnections} connections without pause` : '';
  return `Measured: ${staff} = X* ${m.actionsPerSecond} actions/s × (R ${m.responseTimeS} s + Z ${m.thinkTimeS} s), proven by a closed-loop run; p95 ${m.p95Ms} ms, ${m.requestsPerSecond} req/s${sat} (${m.measuredAt}, carebox loadtest)`;
}
