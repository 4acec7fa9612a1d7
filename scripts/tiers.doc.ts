/**
 * docs/tiers.md, generated from the planner itself so the docs cannot drift from the code.
 * `npm run docs:tiers` (scripts/gen-tiers-doc.ts) writes it; test/unit/plan/tiers.doc.test.ts
 * regenerates it in memory and fails when the file is stale. Pure and deterministic: no dates,
 * no locale-dependent formatting, the same code gives the same bytes.
 */
import { hypotheticalHost } from '../installer/plan/hypothetical.host.js';
import { formatBytes } from '../installer/detect/size.js';
import { CareboxError } from '../installer/errors.js';
import { CAPACITY_BASIS, RPS_PER_PG_CPU, WEB_CPU_SHARE } from '../installer/plan/capacity.estimate.js';
import { HOSPITAL_SIZES, TIERS, type HospitalSize, type Intent, type Plan, type Tier } from '../installer/plan/plan.types.js';
import { buildIntent } from '../installer/plan/intent.js';
import { DEFAULT_PROFILE, effectiveThinkTimeS, GITLAB_RPS_PER_1000_USERS, requestsPerAction, staffUnit } from '../installer/plan/workload.profile.js';
import { SEED_TIERS, seedDemand } from '../installer/plan/seed.tiers.js';
import { AUTO_HORIZONTAL, AUTO_OPTIMIZED, planCarebox } from '../installer/plan/tier.plan.js';
import { TIER_SHAPES } from '../installer/plan/tier.shapes.js';

/** Where the generated file lives, relative to the repository root. */
export const TIERS_DOC_PATH = 'docs/tiers.md';
/** The command that regenerates it. */
export const TIERS_DOC_COMMAND = 'npm run docs:tiers';
/** The host grid of the docs: usable CPUs × usable memory (GiB). */
export const GRID_CPUS = [1, 2, 4, 8, 16, 32, 64] as const;
export const GRID_MEMORY_GIB = [2, 4, 8, 16, 32, 64, 128] as const;

const GiB = 1024 ** 3;
const AUTO: Intent = { tier: null, users: null, usersSource: null, nodes: null, pgbouncer: 'auto' };

/** `12345` → `12,345`, independent of the locale. */
export function thousands(n: number): string {
  const s = String(Math.trunc(Math.abs(n)));
  return (n < 0 ? '-' : '') + s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const range = ([lo, hi]: readonly [number, number]) => `${thousands(lo)}–${thousands(hi)}`;
const cell = (s: string) => s.replace(/\|/g, '\\|');
const row = (cells: (string | number)[]) => `| ${cells.map((x) => cell(String(x))).join(' | ')} |`;
const table = (head: string[], rows: (string | number)[][]) => [row(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(row)];

/** Plan or the planner's refusal, never throwing for a host the planner refuses (exit 3). */
function tryPlan(cpus: number, memoryBytes: number, intent: Intent): Plan | { error: string } {
  try {
    return planCarebox(hypotheticalHost(cpus, memoryBytes), intent);
  } catch (err) {
    if (err instanceof CareboxError) return { error: err.message };
    throw err;
  }
}

function pgbouncerCell(p: Plan): string {
  const b = p.sizing.pgbouncer;
  return b ? `pool ${b.defaultPoolSize}+${b.reservePoolSize}, clients ≤ ${thousands(b.maxClientConn)}` : 'no';
}

function tiersSection(): string[] {
  return [
    '## Tiers',
    '',
    ...table(
      ['tier', 'shape', 'minimum (usable)', 'PgBouncer', "seed's claim (concurrent users)"],
      TIERS.map((t) => {
        const s = TIER_SHAPES[t];
        return [
          t,
          s.summary,
          `${s.minCpus} CPU${s.minCpus > 1 ? 's' : ''}, ${formatBytes(s.minMemoryBytes)}${s.multiHost ? ' per node' : ''}`,
          s.pgbouncer === 'always' ? 'always' : 'when direct pools cannot fit (or `--pgbouncer on`)',
          range(s.seedClaim),
        ];
      }),
    ),
    '',
    `Without \`--tier\` or \`--users\`, the planner picks horizontal from ${AUTO_HORIZONTAL.cpus} CPUs and ${formatBytes(AUTO_HORIZONTAL.memoryBytes)}, optimized from ${AUTO_OPTIMIZED.cpus} CPUs and ${formatBytes(AUTO_OPTIMIZED.memoryBytes)}, and default below. \`--pgbouncer on\` puts PgBouncer (transaction mode) in front on any tier; \`--pgbouncer off\` refuses (exit 3) where the budget needs it, as on the cluster tier.`,
  ];
}

function seedSection(): string[] {
  const out = [
    "## The seed's tiers next to Carebox's",
    '',
    "The seed's capacity analysis, taken literally: every process opens its own pool of `pool_size + max_overflow` connections, and the Celery workers each hold one too. Carebox's column is `planCarebox` for the same tier on the hardware the seed names for it.",
    '',
    `Both claims are in the same unit: the seed's \"concurrent users\" are people with a session open (it counts 30–50 concurrent among 100–200 daily users), which is what Carebox calls ${UNIT}. The last column says plainly where the seed was too optimistic (it claims more than Carebox estimates) and where too pessimistic (it claims far less).`,
    '',
  ];
  const rows: (string | number)[][] = [];
  const details: string[] = [];
  for (const s of SEED_TIERS) {
    const d = seedDemand(s);
    const tier = s.name as Tier;
    const intent: Intent = { ...AUTO, tier, nodes: TIER_SHAPES[tier].multiHost ? s.host.nodes : null };
    const p = tryPlan(s.host.cpus, s.host.memoryBytes, intent);
    const hostText = `${s.host.nodes > 1 ? `${s.host.nodes} × ` : ''}${s.host.cpus} CPUs, ${formatBytes(s.host.memoryBytes)}`;
    const over = d.demand - d.limit;
    const seedVerdict = d.overrun ? `**overrun by ${thousands(over)}** (${(d.demand / d.limit).toFixed(1)}×)` : 'fits';
    if ('error' in p) {
      rows.push([s.name, hostText, `${thousands(d.demand)} vs ${d.limit}`, seedVerdict, range(s.claim), 'refused', '—', '—', '—']);
      details.push(
        `- **${s.name}** — seed: ${d.derivation}${d.overrun ? `, overrun by ${thousands(over)} connections` : ''}. Carebox on ${hostText}: ${p.error}.`,
      );
      continue;
    }
    const db = p.budget.dbConnections;
    const sz = p.sizing;
    rows.push([
      s.name,
      hostText,
      `${thousands(d.demand)} vs ${d.limit}`,
      seedVerdict,
      range(s.claim),
      `${thousands(db.demand)} ≤ ${thousands(db.limit)}${sz.pgbouncer ? ' (via PgBouncer)' : ''}`,
      `${sz.backend.replicas} × ${sz.backend.workers} workers, pool ${sz.backend.pool.max}`,
      `${range(p.capacity.concurrentUsers)} (${p.capacity.bottleneck} binds)`,
      claimVerdict(s.claim, p.capacity.concurrentUsers),
    ]);
    const carebox = sz.pgbouncer
      ? `PgBouncer server pool ${sz.pgbouncer.defaultPoolSize} + reserve ${sz.pgbouncer.reservePoolSize} + fixed = ${thousands(db.demand)} ≤ max_connections ${thousands(db.limit)}; the app's pools (${thousands(p.budget.pgbouncerClients!.demand)}) fit max_client_conn ${thousands(sz.pgbouncer.maxClientConn)}`
      : `${db.items.map((i) => `${i.name} ${i.amount}`).join(' + ')} = ${thousands(db.demand)} ≤ max_connections ${thousands(db.limit)}`;
    details.push(
      `- **${s.name}** (${s.source}) — seed: ${d.derivation}${d.overrun ? `: **overrun by ${thousands(over)} connections**` : ''}${s.note ? ` (${s.note})` : ''}. Carebox on ${hostText}${p.nodes > 1 ? ` (${p.nodes} nodes)` : ''}: ${carebox}.`,
    );
  }
  out.push(
    ...table(
      [
        'tier',
        "seed's host",
        "seed's DB connections vs usable max_connections",
        "seed's budget",
        "seed's claim (concurrent users)",
        'Carebox DB connections',
        'Carebox backend',
        `Carebox estimate (${UNIT})`,
        'the seed was',
      ],
      rows,
    ),
    '',
    ...details,
  );
  return out;
}

/** Where the seed's claim stands against Carebox's estimate, in words. Pure. */
export function claimVerdict(claim: readonly [number, number], estimate: readonly [number, number]): string {
  if (claim[0] > estimate[1]) return `**too optimistic**: claims ${(claim[0] / Math.max(1, estimate[1])).toFixed(1)}× Carebox's high estimate`;
  if (claim[1] < estimate[0]) return `**too pessimistic**: Carebox estimates ${(estimate[0] / claim[1]).toFixed(1)}× its high claim`;
  return 'about right: the ranges overlap';
}

function gridPlanSection(): string[] {
  const rows: (string | number)[][] = [];
  for (const cpus of GRID_CPUS) {
    for (const gib of GRID_MEMORY_GIB) {
      const p = tryPlan(cpus, gib * GiB, AUTO);
      if ('error' in p) {
        rows.push([cpus, `${gib} GiB`, 'refused', p.error, ...Array<string>(10).fill('')]);
        continue;
      }
      const s = p.sizing;
      rows.push([
        cpus,
        `${gib} GiB`,
        p.tier,
        `${s.backend.replicas} × ${s.backend.workers}`,
        `${s.backend.pool.min}–${s.backend.pool.max}`,
        `${s.queue.replicas} × ${s.queue.concurrency}`,
        `${thousands(p.budget.dbConnections.demand)} ≤ ${thousands(s.postgres.maxConnections)}`,
        formatBytes(s.postgres.sharedBuffersBytes),
        pgbouncerCell(p),
        `${thousands(p.budget.redisConnections.demand)} ≤ ${thousands(s.redis.maxClients)}`,
        `${s.nginx.workerProcesses} × ${thousands(s.nginx.workerConnections)}`,
        `${formatBytes(p.budget.memoryBytes.demand)} ≤ ${formatBytes(p.budget.memoryBytes.limit)}`,
        range(p.capacity.concurrentUsers),
        `${range(p.capacity.requestsPerSecond!)} (${p.capacity.bottleneck})`,
      ]);
    }
  }
  return [
    '## Plans for a grid of hosts',
    '',
    'The tier the planner picks by itself (no `--tier` or `--users`) on a host with these usable CPUs and memory, and the numbers it derives. `carebox plan --cpus N --memory SIZE` prints the same plan with a one-line derivation for each number.',
    '',
    ...table(
      [
        'CPUs',
        'memory',
        'tier',
        'backend replicas × workers',
        'pool min–max',
        'queue workers × concurrency',
        'DB connections ≤ max_connections',
        'shared_buffers',
        'PgBouncer',
        'Redis clients ≤ maxclients',
        'nginx workers × connections',
        'container memory ≤ usable − headroom',
        `${UNIT} (estimate)`,
        'req/s (binding resource)',
      ],
      rows,
    ),
  ];
}

function feasibilitySection(): string[] {
  const rows: (string | number)[][] = [];
  for (const cpus of GRID_CPUS) {
    for (const gib of GRID_MEMORY_GIB) {
      const p = tryPlan(cpus, gib * GiB, AUTO);
      const cells = TIERS.map((t) => {
        if ('error' in p) return 'no';
        const o = p.tiers.find((x) => x.tier === t)!;
        if (!o.feasible) return `no: ${o.reason.split(';')[0]}`;
        return `${range(o.concurrentUsers!)}${TIER_SHAPES[t].multiHost ? ' (2 nodes)' : ''}`;
      });
      rows.push([cpus, `${gib} GiB`, ...cells]);
    }
  }
  return [
    '## Which tiers each host can run',
    '',
    `Each cell is the estimate (${UNIT}) when the host can run the tier, or why it cannot. The cluster tier is shown for its minimum of 2 nodes like this host; \`--users N\` derives the node count.`,
    '',
    ...table(['CPUs', 'memory', ...TIERS], rows),
  ];
}

const UNIT = staffUnit(DEFAULT_PROFILE);

function profileSection(): string[] {
  const p = DEFAULT_PROFILE;
  const rpa = requestsPerAction(p);
  const per1000 = Math.round((rpa / (effectiveThinkTimeS(p) + 0.1)) * 1000);
  return [
    '## The unit: active staff',
    '',
    `Every capacity figure is in **${UNIT}**: people with a session open who act, read, talk to a patient and act again. One *action* is one step at the desk, the requests its screen sends; the *think time* Z is the pause between one person's actions. With X the sustained action rate and R the mean response time of an action, Little's law gives the staff N = X × (R + Z). \`carebox plan --json\` holds the profile (\`capacity.profile\`), \`capacity.requestsPerSecond\` and \`capacity.concurrentUsers\`; \`--think-time SECONDS\` or \`--profile FILE\` (JSON of the same shape) on \`plan\`, \`install\`, \`retier\` and \`loadtest\` state a hospital's own.`,
    '',
    `Profile \`${p.name}\` (version ${p.version}): ${rpa.toFixed(2)} requests per action; think time ${p.thinkTime.distribution}, mean ${p.thinkTime.meanS} s (${p.thinkTime.source}).`,
    '',
    ...table(
      ['action', 'what the person does', 'share', 'requests', 'source'],
      p.actions.map((a) => [a.name, a.description, `${Math.round(a.share * 100)} %`, a.requests, a.source]),
    ),
    '',
    ...p.notes.map((n) => `- ${n}`),
    `- So ${thousands(1000)} active staff send about ${per1000} requests/s (GitLab's reference architectures: ${GITLAB_RPS_PER_1000_USERS} per ${thousands(1000)} users).`,
    '',
    `The request rate a stack sustains at p95 ≤ 200 ms is the tightest of: web-worker CPU (calibrated per CPU; web workers get ${WEB_CPU_SHARE * 100} % of the host's CPUs), PostgreSQL (${RPS_PER_PG_CPU} req/s per CPU the web workers leave it, and its connections; one primary for every node of a cluster) and Redis (one thread). Each plan names the resource that binds.`,
  ];
}

function sizesSection(): string[] {
  const rows = (Object.keys(HOSPITAL_SIZES) as HospitalSize[]).map((size) => {
    const r = HOSPITAL_SIZES[size];
    const p = tryPlan(1, 4 * GiB, buildIntent({ size }));
    if ('error' in p) return [size, `${thousands(r.low)}–${thousands(r.high)}`, p.error];
    const s = p.shortfall;
    const answer =
      s === null ? `a 1-CPU / 4 GiB host (${p.tier} tier, about ${range(p.capacity.concurrentUsers)})` : s.message.replace(/^this host serves[^;]*; /, '');
    return [size, `${thousands(r.low)}–${thousands(r.high)}`, answer];
  });
  return [
    "## The seed's hospital sizes",
    '',
    `\`--size\` takes the top of the seed's range, in ${UNIT}. The smallest host that serves it, by the same model:`,
    '',
    ...table(['size', `${UNIT}`, 'smallest host that serves the top of the range'], rows),
  ];
}

/** The whole of docs/tiers.md. */
export function renderTiersDoc(): string {
  const lines = [
    '# Carebox tiers',
    '',
    `<!-- Generated by \`${TIERS_DOC_COMMAND}\` (scripts/gen-tiers-doc.ts) from the planner itself. Do not edit by hand: test/unit/plan/tiers.doc.test.ts fails when this file is stale. -->`,
    '',
    'Every number on this page comes from `planCarebox`, the same code `carebox plan` and `carebox install` run. For every plan below the planner has proved its budgets: database connections ≤ `max_connections`, Redis clients ≤ `maxclients`, container memory ≤ usable memory − OS headroom, and worker processes (and nginx workers) ≤ usable CPUs.',
    '',
    `Capacity figures are estimates: ${CAPACITY_BASIS}. \`carebox loadtest\` measures and proves an install's own figure.`,
    '',
    ...profileSection(),
    '',
    ...sizesSection(),
    '',
    ...tiersSection(),
    '',
    ...seedSection(),
    '',
    ...gridPlanSection(),
    '',
    ...feasibilitySection(),
    '',
  ];
  return lines.join('\n');
}
