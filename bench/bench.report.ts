/**
 * The bench's results file and markdown table, and the issue-6 targets checked against them.
 * Pure: figures in, JSON-able object and text out. Every ratio is against baseline (a) measured in
 * the same run at the same connection count, never against a stored figure.
 */
import type { LoadStats } from '../console/ops/loadtest.load.js';

/** One measured row: a scenario at one connection count. */
export interface BenchRow {
  /** Scenario letter, `a`…`g`. */
  id: string;
  /** What was measured, e.g. `/health direct`. */
  name: string;
  stats: LoadStats;
  /**
   * CPU time per response during the measured run, in µs (user + system), per process group.
   * Host rows (a–g), from /proc: `server` (primary + workers), `nginx` (its container), `postgres`
   * (the postmaster's tree), `redis` (shared with anything else using the test Redis), `loadgen`
   * (this process). Installed-stack rows (h–m), from each container's cgroup: `backend`, `nginx`,
   * `postgres`, `redis`, `worker`; from /proc: `shims` (this stack's containerd shims), `dockerd`,
   * `containerd`, `dockerProxy` (host-wide: shared with anything else on the engine), `loadgen`.
   */
  cpuUsPerRequest?: Record<string, number>;
}

/** Everything one run of `npm run bench` measured. */
export interface BenchResults {
  meta: {
    /** ISO-8601 UTC start of the run. */
    date: string;
    machine: { cpus: number; cpuModel: string; memoryBytes: number; kernel: string; node: string };
    /** 1-minute load average before the run started (others' work on a shared machine). */
    loadAverageBefore: number;
    /** 1-minute load average after the run (includes the bench's own load). */
    loadAverageAfter: number;
    /** Git commit of the code under test, when known. */
    commit: string | null;
    /** Root of the server build under test (dist/server/src/main.js). */
    serverRoot: string;
    /** The plan the server ran with (the installer's for this host). */
    plan: { tier: string; webWorkers: number; poolMax: number; nginxWorkers: number; nginxWorkerConnections: number };
    durationS: number;
    connections: number[];
  };
  rows: BenchRow[];
  /** Wall time of `carebox plan --json`, ms: each run, median and max. */
  planWallMs: { runs: number[]; median: number; max: number };
  /** Resident memory of each web worker after the runs, bytes. */
  memory: { workers: Array<{ pid: number; rssBytes: number; peakRssBytes: number }>; primaryRssBytes: number | null };
  /** The installed stack of rows h–m (null when they were not run). */
  stack?: { project: string; images: Record<string, string>; webWorkerRssBytes: number[]; upstreamKeepalive: boolean } | null;
}

/** One target of issue 6 and whether this run meets it. */
export interface TargetCheck {
  target: string;
  measured: string;
  holds: boolean;
}

/** Share of baseline (a) at the same connection count; null without a baseline. */
export function ratioToBaseline(results: Pick<BenchResults, 'rows'>, row: BenchRow): number | null {
  const base = results.rows.find((r) => r.id === 'a' && r.stats.connections === row.stats.connections);
  if (!base || base.stats.requestsPerSecond === 0) return null;
  return row.stats.requestsPerSecond / base.stats.requestsPerSecond;
}

const pct = (r: number | null): string => (r === null ? '–' : `${Math.round(r * 1000) / 10} %`);
const ms = (v: number): string => (v >= 100 ? String(Math.round(v)) : v.toFixed(1));
const mib = (b: number): string => `${Math.round(b / 1024 / 102.4) / 10} MiB`;

/** The issue's targets checked against a run. */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const row = (id: string, c: number) => results.rows.find((r) => r.id === id && r.stats.connections === c);
  for (const c of results.meta.connections) {
    const b = row('b', c);
    if (b) {
      const r = ratioToBaseline(results, b);
      checks.push({ target: `/health direct ≥ 70 % of bare Node (${c} conn.)`, measured: pct(r), holds: r !== null && r >= 0.7 });
    }
    const d = row('d', c);
    if (d) {
      const r = ratioToBaseline(results, d);
      checks.push({ target: `cache-hot patient read ≥ 50 % of bare Node (${c} conn.)`, measured: pct(r), holds: r !== null && r >= 0.5 });
    }
    const g = row('g', c);
    if (g) {
      const limit = c <= 100 ? 50 : 200;
      checks.push({
        target: `read mix p95 < ${limit} ms with 0 errors (${c} conn.)`,
        measured: `p95 ${ms(g.stats.latency.p95)} ms, ${g.stats.errors.total} errors`,
        holds: g.stats.latency.p95 < limit && g.stats.errors.total === 0,
      });
    }
  }
  // Issue 12, on the installed stack: the edge's cost as ratios measured in the same run.
  for (const c of results.meta.connections) {
    const k = row('k', c);
    const l = row('l', c);
    if (k && l && k.stats.requestsPerSecond > 0) {
      const r = l.stats.requestsPerSecond / k.stats.requestsPerSecond;
      checks.push({
        target: `cache-hot read through nginx ≥ 80 % of the same read straight to the backend container (${c} conn.)`,
        measured: pct(r),
        holds: r >= 0.8 && l.stats.errors.total === 0,
      });
    }
    const i = row('i', c);
    if (i) {
      const r = ratioToBaseline(results, i);
      checks.push({
        target: `/health through nginx's container address ≥ 50 % of bare Node (${c} conn.)`,
        measured: pct(r),
        holds: r !== null && r >= 0.5 && i.stats.errors.total === 0,
      });
    }
    const j = row('j', c);
    if (j) {
      const r = ratioToBaseline(results, j);
      checks.push({ target: `/health through the published port (docker-proxy), reported (${c} conn.)`, measured: pct(r), holds: true });
    }
  }
  checks.push({
    target: '`carebox plan --json` < 1 s wall time',
    measured: `median ${results.planWallMs.median} ms, max ${results.planWallMs.max} ms`,
    holds: results.planWallMs.max < 1000,
  });
  return checks;
}

/** The markdown report of a run. */
export function renderMarkdown(results: BenchResults): string {
  const m = results.meta;
  const lines = [
    `# Carebox bench — ${m.date}`,
    '',
    `Machine: ${m.machine.cpus} CPUs (${m.machine.cpuModel}), ${mib(m.machine.memoryBytes)}, Linux ${m.machine.kernel}, Node ${m.machine.node}. ` +
      `Load average (1 min) before ${m.loadAverageBefore.toFixed(2)}, after ${m.loadAverageAfter.toFixed(2)}.`,
    `Code: ${m.commit ?? 'unknown commit'} (server from ${m.serverRoot}). Plan for this host: tier ${m.plan.tier}, ${m.plan.webWorkers} web worker(s), pool.max ${m.plan.poolMax}, nginx ${m.plan.nginxWorkers} worker(s) × ${m.plan.nginxWorkerConnections} connections.`,
    `Each row: ${m.durationS} s closed loop (autocannon, pipelining 1) after a warm-up, load generator on the same machine. Ratio = req/s ÷ row (a) at the same connections, same run.`,
    '',
    '| | scenario | conn. | req/s | p50 ms | p95 ms | p99 ms | errors | ratio to (a) | CPU µs/req per process group |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of results.rows) {
    const s = r.stats;
    const errors = s.errors.total === 0 ? '0' : `${s.errors.total} (${(s.errors.rate * 100).toFixed(2)} %)`;
    const c = r.cpuUsPerRequest;
    const cpu = c
      ? Object.entries(c)
          .filter(([, v]) => Math.round(v) !== 0)
          .map(([k, v]) => `${k} ${Math.round(v)}`)
          .join(' · ')
      : '–';
    lines.push(
      `| ${r.id} | ${r.name} | ${s.connections} | ${s.requestsPerSecond} | ${ms(s.latency.p50)} | ${ms(s.latency.p95)} | ${ms(s.latency.p99)} | ${errors} | ${pct(ratioToBaseline(results, r))} | ${cpu} |`,
    );
  }
  lines.push('');
  lines.push(
    `\`carebox plan --json\` wall time: median ${results.planWallMs.median} ms, max ${results.planWallMs.max} ms (${results.planWallMs.runs.length} runs: ${results.planWallMs.runs.join(', ')} ms).`,
  );
  const w = results.memory.workers;
  lines.push(
    `Resident memory per server worker after the runs: ${w.length === 0 ? 'n/a' : w.map((x) => `${mib(x.rssBytes)} (peak ${mib(x.peakRssBytes)})`).join(', ')}` +
      `${results.memory.primaryRssBytes === null ? '' : `; cluster primary ${mib(results.memory.primaryRssBytes)}`}.`,
  );
  if (results.stack) {
    const st = results.stack;
    lines.push(
      `Installed stack (rows h–m): ${st.project}, images ${Object.entries(st.images)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; upstream keep-alive in nginx.conf: ${st.upstreamKeepalive ? 'yes' : 'no'}; ` +
        `web worker resident memory ${st.webWorkerRssBytes.map(mib).join(', ') || 'n/a'}.`,
    );
  }
  lines.push('', '## Targets (issues 6 and 12)', '', '| target | measured | holds |', '|---|---|:-:|');
  for (const t of checkTargets(results)) lines.push(`| ${t.target} | ${t.measured} | ${t.holds ? 'yes' : '**no**'} |`);
  const failing = results.rows.filter((r) => r.stats.errors.total > 0);
  if (failing.length > 0) {
    lines.push('', '## Errors by status', '');
    for (const r of failing) {
      const e = r.stats.errors;
      lines.push(
        `- ${r.id} ${r.name} @ ${r.stats.connections}: socket ${e.socket}, timeouts ${e.timeouts}, non-2xx ${e.non2xx} (${Object.entries(e.statusCodes)
          .map(([k, v]) => `${k}×${v}`)
          .join(', ')})`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
