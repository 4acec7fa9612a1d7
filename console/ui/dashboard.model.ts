/**
 * View models of the dashboard: pure functions from the data layer's figures (stack status,
 * metrics sample, history) to lines of text no wider than the terminal. The Ink components only
 * colour and place these lines, so layout, truncation and number formatting are tested here
 * without a renderer.
 */
import type { MetricsSample } from '../metrics/metrics.window.js';
import { QUEUE_STATES } from '../metrics/metric.names.js';
import type { ServiceStatus, StackStatus } from '../ops/status.ops.js';
import type { DashboardData, DashboardHistory } from './dashboard.feed.js';
import type { FiringAlert } from '../ops/alerts.ops.js';
import { sparkline } from './sparkline.js';

/** Colour of a piece of text; the component maps it to Ink colours. */
export type Tone = 'ok' | 'warn' | 'bad' | 'dim' | 'plain';

/** A piece of one line with its tone. The texts of a line's segments join to the whole line. */
export interface Segment {
  text: string;
  tone: Tone;
}

/** One line of the view: segments whose total length is at most the width it was built for. */
export type Line = Segment[];

/** Plain text of a line (for tests and width checks). Pure. */
export function lineText(line: Line): string {
  return line.map((s) => s.text).join('');
}

/** Cut `text` to at most `width` characters, ending with `…` when cut. Pure. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return `${chars.slice(0, width - 1).join('')}…`;
}

const pad = (text: string, width: number, right = false) => {
  const t = truncate(text, width);
  const n = width - [...t].length;
  return right ? ' '.repeat(n) + t : t + ' '.repeat(n);
};

/** Cut a line to `width` characters, segment by segment. Pure. */
export function fitLine(line: Line, width: number): Line {
  const out: Line = [];
  let left = width;
  for (const s of line) {
    if (left <= 0) break;
    const len = [...s.text].length;
    if (len <= left) {
      out.push(s);
      left -= len;
    } else {
      out.push({ text: truncate(s.text, left), tone: s.tone });
      left = 0;
    }
  }
  return out;
}

// ---- number formats ------------------------------------------------------------------------

/** `45s`, `12m`, `3h04m`, `2d03h`; `—` for null. Pure. */
export function formatUptime(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${String(Math.floor((s % 86_400) / 3600)).padStart(2, '0')}h`;
}

/** Compact binary size for a table cell: `512 B`, `84.1 MiB`, `1.25 GiB`; `—` for null. Pure. */
export function formatMemory(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/** CPU % with one decimal (`3.2%`, `145.0%` = 1.45 CPUs); `—` for null. Pure. */
export function formatCpu(percent: number | null): string {
  return percent === null || !Number.isFinite(percent) ? '—' : `${percent.toFixed(1)}%`;
}

/** Requests per second: `0.45`, `3.2`, `120`; `—` for null. Pure. */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null || !Number.isFinite(perSecond)) return '—';
  if (perSecond < 1) return perSecond.toFixed(2);
  if (perSecond < 10) return perSecond.toFixed(1);
  return perSecond.toFixed(0);
}

/** Latency from seconds: `4.7 ms`, `45 ms`, `1.25 s`; `—` for null. Pure. */
export function formatLatency(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const ms = seconds * 1000;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  return `${seconds.toFixed(2)} s`;
}

/** A share as a percentage: `0.0 %`, `12.5 %`; `—` for null. Pure. */
export function formatRatio(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? '—' : `${(ratio * 100).toFixed(1)} %`;
}

// ---- service table -------------------------------------------------------------------------

/** One service as the table shows it (unpadded cells). */
export interface ServiceRow {
  service: string;
  /** `ready/expected`. */
  replicas: string;
  state: ServiceStatus['state'];
  /** `healthy`, `2 starting`, `1 unhealthy`, `no check`, `—` (no container). */
  health: string;
  healthTone: Tone;
  /** Summed over the service's containers; null when no container had stats. */
  cpuPercent: number | null;
  memoryBytes: number | null;
  /** Of the most recently started running container (a restart shows as a short uptime). */
  uptimeS: number | null;
}

/** The health cell of a service from its containers' health states. Pure. */
export function healthSummary(svc: ServiceStatus): { text: string; tone: Tone } {
  const cs = svc.containers;
  if (cs.length === 0) return { text: '—', tone: svc.expected > 0 ? 'bad' : 'dim' };
  const count = (h: string) => cs.filter((c) => c.health === h).length;
  const unhealthy = count('unhealthy');
  const starting = count('starting');
  const stopped = cs.filter((c) => c.state !== 'running').length;
  if (unhealthy) return { text: `${unhealthy} unhealthy`, tone: 'bad' };
  if (stopped) return { text: stopped === 1 ? cs.find((c) => c.state !== 'running')!.state : `${stopped} not running`, tone: 'bad' };
  if (starting) return { text: `${starting} starting`, tone: 'warn' };
  if (count('none') === cs.length) return { text: 'no check', tone: 'dim' };
  return { text: 'healthy', tone: 'ok' };
}

/** Rows of the service table from a status, in the status' order. Pure. */
export function serviceRows(status: StackStatus): ServiceRow[] {
  return status.services.map((svc) => {
    const withUsage = svc.containers.filter((c) => c.usage);
    const uptimes = svc.containers.map((c) => c.uptimeS).filter((u): u is number => u !== null);
    const h = healthSummary(svc);
    return {
      service: svc.service,
      replicas: `${svc.ready}/${svc.expected}`,
      state: svc.state,
      health: h.text,
      healthTone: h.tone,
      cpuPercent: withUsage.length ? withUsage.reduce((n, c) => n + c.usage!.cpuPercent, 0) : null,
      memoryBytes: withUsage.length ? withUsage.reduce((n, c) => n + c.usage!.memoryBytes, 0) : null,
      uptimeS: uptimes.length ? Math.min(...uptimes) : null,
    };
  });
}

const STATE_TONE: Record<ServiceStatus['state'], Tone> = { healthy: 'ok', degraded: 'warn', down: 'bad' };

/** Column widths of the service table; the CPU sparkline takes what is left. */
const COLS = { marker: 2, service: 11, replicas: 5, state: 10, health: 12, cpu: 8, memory: 10, uptime: 7 } as const;
const FIXED = Object.values(COLS).reduce((a, b) => a + b, 0) + 3; // two spaces after READY, one before the spark

/**
 * The service table: a header line and one line per row, each at most `width` characters; the
 * selected row is marked `▶`. A CPU sparkline column appears when at least 6 columns are left.
 * Pure.
 */
export function serviceTableLines(rows: ServiceRow[], selected: number, width: number, cpuHistory: DashboardHistory['cpuByService'] = {}): Line[] {
  const sparkWidth = width - FIXED >= 6 ? width - FIXED : 0;
  const header: Line = [
    {
      text:
        pad('', COLS.marker) +
        pad('SERVICE', COLS.service) +
        pad('READY', COLS.replicas, true) +
        ' ' +
        ' ' +
        pad('STATE', COLS.state) +
        pad('HEALTH', COLS.health) +
        pad('CPU', COLS.cpu, true) +
        pad('MEMORY', COLS.memory, true) +
        pad('UP', COLS.uptime, true) +
        (sparkWidth ? ` ${pad('CPU trend', sparkWidth)}` : ''),
      tone: 'dim',
    },
  ];
  const body = rows.map((r, i): Line => {
    const line: Line = [
      { text: pad(i === selected ? '▶' : '', COLS.marker), tone: 'plain' },
      { text: pad(r.service, COLS.service), tone: 'plain' },
      { text: pad(r.replicas, COLS.replicas, true) + '  ', tone: r.replicas.split('/')[0] === r.replicas.split('/')[1] ? 'plain' : 'warn' },
      { text: pad(r.state, COLS.state), tone: STATE_TONE[r.state] },
      { text: pad(r.health, COLS.health), tone: r.healthTone },
      { text: pad(formatCpu(r.cpuPercent), COLS.cpu, true), tone: 'plain' },
      { text: pad(formatMemory(r.memoryBytes), COLS.memory, true), tone: 'plain' },
      { text: pad(formatUptime(r.uptimeS), COLS.uptime, true), tone: 'plain' },
    ];
    if (sparkWidth) line.push({ text: ` ${sparkline(cpuHistory[r.service] ?? [], sparkWidth)}`, tone: 'dim' });
    return fitLine(line, width);
  });
  return [fitLine(header, width), ...body];
}

// ---- metrics panel -------------------------------------------------------------------------

const LABEL = 14;
const VALUE = 28;

function metricLine(
  label: string,
  value: string,
  series: (number | null)[],
  width: number,
  tone: Tone = 'plain',
  spark: { min?: number; max?: number } = {},
): Line {
  const sparkWidth = Math.max(0, width - LABEL - VALUE);
  const line: Line = [
    { text: pad(label, LABEL), tone: 'dim' },
    { text: pad(value, sparkWidth ? VALUE : width - LABEL), tone },
  ];
  if (sparkWidth) line.push({ text: sparkline(series, sparkWidth, spark), tone: 'ok' });
  return fitLine(line, width);
}

/**
 * Actions per second over the last minute (the mean request rate of the samples of the last 60 s
 * ÷ requests per action) as a share of the capacity's action rate, e.g. ` · 3.2 act/s 1 %`. Pure.
 */
export function actionsText(requestRate: readonly (number | null)[], intervalS: number, load: NonNullable<StackStatus['load']>): string {
  const n = Math.max(1, Math.ceil(60 / Math.max(intervalS, 0.1)));
  const recent = requestRate.slice(-n).filter((x): x is number => x !== null);
  if (recent.length === 0 || !(load.capacity.actionsPerSecond > 0)) return '';
  const rpa = load.requestsPerAction;
  const actions = recent.reduce((a, x) => a + x, 0) / recent.length / rpa;
  const pct = Math.round((actions / load.capacity.actionsPerSecond) * 100);
  return ` · ${actions >= 10 ? Math.round(actions) : actions.toFixed(1)} act/s ${pct} %`;
}

/**
 * The metrics panel: request rate, p95 latency, 5xx rate, DB pool and jobs waiting, each with the
 * current figure and a sparkline of the history, then one line per queue (at most `maxQueues`).
 * Before the first scrape, or when no backend answered, says so instead. Pure.
 */
export function metricsPanelLines(
  data: Pick<DashboardData, 'metrics' | 'metricsError' | 'history' | 'intervalS'> & { status?: StackStatus | null },
  width: number,
  maxQueues = 3,
): Line[] {
  const m: MetricsSample | null = data.metrics;
  const h = data.history;
  const minutes = Math.max(1, Math.round((h.requestRate.length * data.intervalS) / 60));
  const load = data.status?.load;
  // Headroom in the hospital's unit (issue 16): sessions open against the capacity in active staff.
  const sessions =
    load && load.activeSessions !== null ? ` · ${load.activeSessions} sessions = ${load.sessionsPercent ?? '–'} % of ${load.capacity.staff} staff` : '';
  const title: Line = fitLine([{ text: `Backend metrics (/metrics, last ${minutes} min)${sessions}`, tone: 'dim' }], width);
  if (data.metricsError) return [title, fitLine([{ text: `metrics unavailable: ${data.metricsError}`, tone: 'bad' }], width)];
  if (!m) return [title, fitLine([{ text: 'waiting for the first scrape…', tone: 'dim' }], width)];
  if (m.targets === 0) return [title, fitLine([{ text: 'no running backend container to scrape', tone: 'warn' }], width)];
  const lines: Line[] = [title];
  if (m.scraped === 0) {
    lines.push(fitLine([{ text: `no backend answered /metrics: ${m.errors[0] ?? ''}`, tone: 'bad' }], width));
    return lines;
  }
  const errTone: Tone = m.errorRatio === null ? 'plain' : m.errorRatio >= 0.05 ? 'bad' : m.errorRatio > 0 ? 'warn' : 'ok';
  lines.push(metricLine('Requests', `${formatRate(m.requestRate)} req/s${load ? actionsText(h.requestRate, data.intervalS, load) : ''}`, h.requestRate, width));
  lines.push(metricLine('Latency p95', formatLatency(m.p95Seconds), h.p95Seconds, width));
  lines.push(metricLine('Errors 5xx', formatRatio(m.errorRatio), h.errorRatio, width, errTone, { min: 0 }));
  if (m.pool) {
    const poolTone: Tone = m.pool.pending > 0 ? 'warn' : 'plain';
    lines.push(
      metricLine('DB pool', `${m.pool.used}/${m.pool.max} used · ${m.pool.free} free · ${m.pool.pending} wait`, h.poolUsed, width, poolTone, {
        min: 0,
        max: m.pool.max || undefined,
      }),
    );
  } else {
    lines.push(metricLine('DB pool', '—', h.poolUsed, width, 'dim'));
  }
  const queues = Object.keys(m.queues).sort();
  const waiting = queues.reduce((n, q) => n + (m.queues[q]!.waiting ?? 0), 0);
  lines.push(metricLine('Jobs waiting', queues.length ? String(waiting) : '— (Redis unreachable)', h.queueWaiting, width, queues.length ? 'plain' : 'warn'));
  for (const q of queues.slice(0, maxQueues)) {
    const states = m.queues[q]!;
    const parts = QUEUE_STATES.filter((s) => s !== 'succeeded' && s in states).map((s) => `${s} ${states[s]}`);
    // One space always separates a long queue name (cut with …) from its figures.
    lines.push(
      fitLine(
        [
          { text: `${pad(`  ${q}`, LABEL - 1)} `, tone: 'dim' },
          { text: parts.join(' · '), tone: (states.failed ?? 0) > 0 ? 'warn' : 'plain' },
        ],
        width,
      ),
    );
  }
  if (queues.length > maxQueues) lines.push(fitLine([{ text: `  … ${queues.length - maxQueues} more queues`, tone: 'dim' }], width));
  if (m.errors.length) lines.push(fitLine([{ text: `scraped ${m.scraped}/${m.targets} backends; ${m.errors[0]}`, tone: 'warn' }], width));
  else if (m.workersMissing > 0)
    lines.push(
      fitLine(
        [{ text: `${m.workersMissing} web worker${m.workersMissing === 1 ? '' : 's'} did not answer the scrape: figures are partial`, tone: 'warn' }],
        width,
      ),
    );
  return lines;
}

// ---- header --------------------------------------------------------------------------------

/** The title line: project, tier, overall health and URL; or the read error. Pure. */
export function headerLine(status: StackStatus | null, statusError: string | null, width: number): Line {
  if (!status)
    return fitLine(
      [{ text: statusError ? `Carebox: cannot read the stack: ${statusError}` : 'Carebox: reading the stack…', tone: statusError ? 'bad' : 'dim' }],
      width,
    );
  const down = status.services.filter((s) => s.state === 'down').length;
  const overall = status.healthy
    ? { text: 'healthy', tone: 'ok' as Tone }
    : down
      ? { text: `${down} down`, tone: 'bad' as Tone }
      : { text: 'degraded', tone: 'warn' as Tone };
  return fitLine(
    [
      { text: `Carebox ${status.project} · tier ${status.tier} · `, tone: 'plain' },
      { text: overall.text, tone: overall.tone },
      ...(status.maintenance
        ? [{ text: ` · MAINTENANCE: ${status.maintenance.mode === 'full' ? 'all requests' : 'writes'} paused`, tone: 'warn' as Tone }]
        : []),
      ...(status.load?.overcommitted.length ? [{ text: ' · overcommitted', tone: 'warn' as Tone }] : []),
      { text: ` · ${status.url}`, tone: 'dim' },
      ...(statusError ? [{ text: ` · stale: ${statusError}`, tone: 'bad' as Tone }] : []),
    ],
    width,
  );
}

/**
 * The firing alerts shown at the top of the dashboard: one line each (severity, name, summary),
 * critical first, at most `max` lines (the last says how many more); nothing when none fire or the
 * stack runs no Alertmanager. A failed read says so on one line. Pure.
 */
export function alertLines(alerts: readonly FiringAlert[] | null | undefined, error: string | null | undefined, width: number, max = 3): Line[] {
  const out: Line[] = [];
  if (error) out.push(fitLine([{ text: `alerts: cannot read Alertmanager (${error})`, tone: 'warn' }], width));
  const list = alerts ?? [];
  if (list.length === 0) return out;
  const shown = list.length > max ? list.slice(0, max - 1) : list;
  for (const a of shown) {
    const tone: Tone = a.severity === 'critical' ? 'bad' : 'warn';
    out.push(
      fitLine(
        [
          { text: `ALERT ${a.severity.toUpperCase()} `, tone },
          { text: `${a.name}`, tone },
          { text: a.summary ? `  ${a.summary}` : '', tone: 'plain' },
        ],
        width,
      ),
    );
  }
  if (shown.length < list.length) out.push(fitLine([{ text: `… ${list.length - shown.length} more firing (carebox alerts)`, tone: 'warn' }], width));
  return out;
}
