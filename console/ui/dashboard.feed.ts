/**
 * The dashboard's data layer (no Ink): every interval it reads the stack status (replicas, state,
 * health, CPU, memory, uptime through dockerode) and scrapes the backends' `/metrics`, turns the
 * scrape rounds into rates, and keeps the last minutes of each figure in ring buffers for the
 * sparklines. React reads it through subscribe/getSnapshot (useSyncExternalStore).
 */
import type Docker from 'dockerode';
import type { Manifest } from '../../installer/manifest/manifest.js';
import { scrapeBackends } from '../metrics/metrics.scrape.js';
import { metricsSample, type MetricsSample, type TargetScrape } from '../metrics/metrics.window.js';
import { stackStatus, type StackStatus } from '../ops/status.ops.js';
import { listAlerts, type FiringAlert } from '../ops/alerts.ops.js';
import { RingBuffer } from './ring.buffer.js';

/** Where the feed reads from; the Docker one is {@link dockerDashboardSource}. */
export interface DashboardSource {
  /** The stack status (throws when the engine or the manifest cannot be read). */
  status(): Promise<StackStatus>;
  /** One scrape round over the backend containers (throws only when they cannot be listed). */
  scrape(): Promise<TargetScrape[]>;
  /** Alerts firing now (Alertmanager), or null when the stack runs none (`--alerts external|off`). */
  alerts?(): Promise<FiringAlert[] | null>;
}

/** The last minutes of each figure, oldest first, one entry per refresh (null = no value then). */
export interface DashboardHistory {
  /** Requests per second. */
  requestRate: (number | null)[];
  /** p95 latency, seconds. */
  p95Seconds: (number | null)[];
  /** 5xx share, 0..1. */
  errorRatio: (number | null)[];
  /** DB connections in use, summed over backend containers. */
  poolUsed: (number | null)[];
  /** Jobs waiting, summed over queues. */
  queueWaiting: (number | null)[];
  /** CPU % per service (summed over its containers; 100 = one CPU). */
  cpuByService: Record<string, (number | null)[]>;
}

/** One state of the dashboard's data. Immutable: every refresh makes a new object. */
export interface DashboardData {
  /** Refreshes done so far. */
  refreshes: number;
  /** When the last refresh finished, ms since the epoch; null before the first. */
  updatedAtMs: number | null;
  /** The last status read; kept (stale) while a later read fails. */
  status: StackStatus | null;
  /** Why the last status read failed, or null. */
  statusError: string | null;
  /** The last metrics figures; null before the first scrape round. */
  metrics: MetricsSample | null;
  /** Why the last scrape round failed as a whole, or null. */
  metricsError: string | null;
  history: DashboardHistory;
  /** Alerts firing at the last refresh (null: the stack runs no Alertmanager, or not read yet). */
  alerts?: FiringAlert[] | null;
  /** Why the last alert read failed, or null. */
  alertsError?: string | null;
  /** Seconds between refreshes. */
  intervalS: number;
}

/** Options of the feed. */
export interface FeedOptions {
  /** Time between the end of one refresh and the start of the next, ms (default 2000). */
  intervalMs?: number;
  /** How much history the sparklines keep, ms (default 5 minutes). */
  historyMs?: number;
  /** Clock, ms since the epoch (default Date.now). */
  now?: () => number;
}

const errMessage = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

/**
 * Polls a {@link DashboardSource} on a timer (never two refreshes at once) and publishes
 * {@link DashboardData}. Listeners are called after each refresh.
 */
export class DashboardFeed {
  readonly intervalMs: number;
  private readonly capacity: number;
  private readonly now: () => number;
  private data: DashboardData;
  private lastScrape: TargetScrape[] | null = null;
  private readonly series = {
    requestRate: null as RingBuffer<number | null> | null,
    p95Seconds: null as RingBuffer<number | null> | null,
    errorRatio: null as RingBuffer<number | null> | null,
    poolUsed: null as RingBuffer<number | null> | null,
    queueWaiting: null as RingBuffer<number | null> | null,
  };
  private readonly cpu = new Map<string, RingBuffer<number | null>>();
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inFlight: Promise<DashboardData> | null = null;

  constructor(
    private readonly source: DashboardSource,
    opts: FeedOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 2000;
    this.capacity = Math.max(2, Math.round((opts.historyMs ?? 5 * 60_000) / this.intervalMs));
    this.now = opts.now ?? Date.now;
    for (const k of Object.keys(this.series) as (keyof typeof this.series)[]) this.series[k] = new RingBuffer(this.capacity);
    this.data = {
      refreshes: 0,
      updatedAtMs: null,
      status: null,
      statusError: null,
      metrics: null,
      metricsError: null,
      history: { requestRate: [], p95Seconds: [], errorRatio: [], poolUsed: [], queueWaiting: [], cpuByService: {} },
      intervalS: this.intervalMs / 1000,
    };
  }

  /** Samples each sparkline keeps (history ÷ interval). */
  get historyCapacity(): number {
    return this.capacity;
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  };

  getSnapshot = (): DashboardData => this.data;

  /**
   * Read the status and scrape once (in parallel), update the history and notify listeners.
   * A refresh already running is joined, not repeated. Never throws: failures land in
   * `statusError` / `metricsError`.
   */
  refresh(): Promise<DashboardData> {
    this.inFlight ??= this.doRefresh().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async doRefresh(): Promise<DashboardData> {
    const [st, sc, al] = await Promise.allSettled([
      this.source.status(),
      this.source.scrape(),
      this.source.alerts ? this.source.alerts() : Promise.resolve(null),
    ]);
    const at = this.now();
    const prev = this.data;
    const status = st.status === 'fulfilled' ? st.value : prev.status;
    let metrics: MetricsSample | null = prev.metrics;
    if (sc.status === 'fulfilled') {
      metrics = metricsSample(this.lastScrape, sc.value, at);
      this.lastScrape = sc.value;
    }
    const s = this.series;
    const fresh = sc.status === 'fulfilled' ? metrics : null;
    s.requestRate!.push(fresh?.requestRate ?? null);
    s.p95Seconds!.push(fresh?.p95Seconds ?? null);
    s.errorRatio!.push(fresh?.errorRatio ?? null);
    s.poolUsed!.push(fresh?.pool ? fresh.pool.used : null);
    s.queueWaiting!.push(fresh && Object.keys(fresh.queues).length ? Object.values(fresh.queues).reduce((n, q) => n + (q.waiting ?? 0), 0) : null);
    if (st.status === 'fulfilled') {
      for (const svc of st.value.services) {
        let ring = this.cpu.get(svc.service);
        if (!ring) this.cpu.set(svc.service, (ring = new RingBuffer(this.capacity)));
        const used = svc.containers.filter((c) => c.usage);
        ring.push(used.length ? used.reduce((n, c) => n + c.usage!.cpuPercent, 0) : null);
      }
    }
    this.data = {
      refreshes: prev.refreshes + 1,
      updatedAtMs: at,
      status,
      statusError: st.status === 'rejected' ? errMessage(st.reason) : null,
      metrics,
      metricsError: sc.status === 'rejected' ? errMessage(sc.reason) : null,
      // A failed read keeps the last list (stale beats empty: an alert does not vanish with Alertmanager).
      alerts: al.status === 'fulfilled' ? al.value : (prev.alerts ?? null),
      alertsError: al.status === 'rejected' ? errMessage(al.reason) : null,
      history: {
        requestRate: s.requestRate!.toArray(),
        p95Seconds: s.p95Seconds!.toArray(),
        errorRatio: s.errorRatio!.toArray(),
        poolUsed: s.poolUsed!.toArray(),
        queueWaiting: s.queueWaiting!.toArray(),
        cpuByService: Object.fromEntries([...this.cpu.entries()].map(([k, r]) => [k, r.toArray()])),
      },
      intervalS: this.intervalMs / 1000,
    };
    this.listeners.forEach((l) => l());
    return this.data;
  }

  /** Refresh now and then every interval until {@link stop}. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      await this.refresh();
      if (this.running) this.timer = setTimeout(loop, this.intervalMs);
    };
    void loop();
  }

  /** Stop refreshing (a refresh in flight finishes, nothing is scheduled after it). */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * The real source: re-reads the manifest every time (scale and re-tier change the expected
 * replicas), reads the status through dockerode with CPU/memory stats, and scrapes the backends.
 */
export function dockerDashboardSource(
  docker: Docker,
  loadManifest: () => Promise<Manifest>,
  opts: { scrapeTimeoutMs?: number; root?: string } = {},
): DashboardSource {
  return {
    status: async () => stackStatus(docker, await loadManifest(), { usage: true, root: opts.root, load: 'sessions' }),
    scrape: async () => scrapeBackends(docker, (await loadManifest()).project, { timeoutMs: opts.scrapeTimeoutMs ?? 2000 }),
    alerts: async () => {
      const m = await loadManifest();
      return m.plan.sizing.monitoring ? listAlerts(docker, m) : null;
    },
  };
}
