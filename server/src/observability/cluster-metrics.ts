/**
 * Container-wide `/metrics` with WEB_CONCURRENCY > 1.
 *
 * Every cluster worker keeps its own prom-client registry, and a scrape lands on whichever worker
 * the cluster hands the connection to. So the worker that receives `GET /metrics` asks the cluster
 * primary over IPC; the primary asks every worker for a snapshot of its registry
 * (`getMetricsAsJSON`), merges them with prom-client's `AggregatorRegistry.aggregate` (each metric
 * by its declared aggregator), adds its own process metrics and the recomputed cache hit ratio,
 * and sends the text back. A worker that does not answer within the timeout is left out and
 * counted in `carebox_cluster_workers{state="missing"}`.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, collectDefaultMetrics, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Logger } from 'pino';
import { CACHE_HIT_RATIO_METRIC } from './metric-names.js';

const REQUEST = 'carebox:metrics:request';
const RESPONSE = 'carebox:metrics:response';
const COLLECT = 'carebox:metrics:collect';
const SNAPSHOT = 'carebox:metrics:snapshot';

/** How long the primary waits for worker snapshots, and a worker for the primary, in ms. */
export const SNAPSHOT_TIMEOUT_MS = 2_000;
export const REQUEST_TIMEOUT_MS = 4_000;

type Snapshot = MetricObjectWithValues<MetricValue<string>>[];
interface Message {
  type?: unknown;
  requestId?: unknown;
  collectId?: unknown;
  metrics?: unknown;
  text?: unknown;
  error?: unknown;
}

/** What `/metrics` answers. */
export interface MetricsPayload {
  contentType: string;
  body: string;
  /** `container` (merged by the primary) or `process` (this process only). */
  scope: 'container' | 'process';
}

/** Produces the `/metrics` payload. */
export type MetricsSource = () => Promise<MetricsPayload>;

/** This process's registry only (single process, tests). */
export function processMetricsSource(registry: Registry): MetricsSource {
  return async () => ({ contentType: registry.contentType, body: await registry.metrics(), scope: 'process' });
}

/**
 * Worker side: answers the primary's snapshot requests from `registry`, and returns the source for
 * `/metrics` that asks the primary (falling back to this process's registry if the primary does
 * not answer in time, with scope `process`).
 */
export function clusterWorkerMetricsSource(registry: Registry, logger: Logger<string>): MetricsSource {
  let nextId = 0;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on('message', (raw: unknown) => {
    const message = raw as Message;
    if (message?.type === COLLECT) {
      void registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: SNAPSHOT, collectId: message.collectId, metrics }),
        (err: unknown) => process.send?.({ type: SNAPSHOT, collectId: message.collectId, error: String(err) }),
      );
    } else if (message?.type === RESPONSE && typeof message.requestId === 'number') {
      const pending = waiting.get(message.requestId);
      waiting.delete(message.requestId);
      if (pending === undefined) return;
      if (typeof message.text === 'string') pending.resolve(message.text);
      else pending.reject(new Error(String(message.error ?? 'no metrics')));
    }
  });
  const local = processMetricsSource(registry);
  return async () => {
    if (typeof process.send !== 'function') return local();
    const requestId = nextId++;
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(requestId);
          reject(new Error('the cluster primary did not answer'));
        }, REQUEST_TIMEOUT_MS);
        waiting.set(requestId, {
          resolve: (text) => {
            clearTimeout(timer);
            resolve(text);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        });
        process.send!({ type: REQUEST, requestId });
      });
      return { contentType: registry.contentType, body, scope: 'container' };
    } catch (err) {
      logger.warn({ err }, 'container-wide metrics unavailable; answering with this process only');
      return local();
    }
  };
}

/**
 * Primary side: serves the workers' requests for container-wide metrics. The primary's own
 * registry (its process metrics, and whatever the primary registers in it) is merged in.
 * @returns the primary's own registry.
 */
export function startClusterMetricsAggregator(logger: Logger<string>): Registry {
  const own = new Registry();
  collectDefaultMetrics({ register: own });
  let nextCollect = 0;
  const collections = new Map<number, { snapshots: Snapshot[]; pending: Set<number>; done: () => void }>();

  cluster.on('message', (worker, raw: unknown) => {
    const message = raw as Message;
    if (message?.type === SNAPSHOT && typeof message.collectId === 'number') {
      const collection = collections.get(message.collectId);
      if (collection === undefined) return;
      if (Array.isArray(message.metrics)) collection.snapshots.push(message.metrics as Snapshot);
      collection.pending.delete(worker.id);
      if (collection.pending.size === 0) collection.done();
    } else if (message?.type === REQUEST) {
      void aggregate().then(
        (text) => worker.isConnected() && worker.send({ type: RESPONSE, requestId: message.requestId, text }),
        (err: unknown) => {
          logger.warn({ err }, 'could not merge worker metrics');
          if (worker.isConnected()) worker.send({ type: RESPONSE, requestId: message.requestId, error: String(err) });
        },
      );
    }
  });

  async function aggregate(): Promise<string> {
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is NonNullable<typeof w> => w !== undefined && w.isConnected());
    const collectId = nextCollect++;
    const snapshots: Snapshot[] = [];
    const pending = new Set(workers.map((w) => w.id));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, SNAPSHOT_TIMEOUT_MS);
      collections.set(collectId, {
        snapshots,
        pending,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      for (const w of workers) w.send({ type: COLLECT, collectId });
      if (workers.length === 0) resolve();
    });
    collections.delete(collectId);

    const merged = AggregatorRegistry.aggregate([...snapshots, await own.getMetricsAsJSON()]);
    const workersGauge = new Gauge<'state'>({
      name: 'carebox_cluster_workers',
      help: 'Web worker processes of this container: reporting (in these metrics) and missing (did not answer in time).',
      labelNames: ['state'],
      registers: [merged],
    });
    workersGauge.set({ state: 'reporting' }, snapshots.length);
    workersGauge.set({ state: 'missing' }, pending.size);
    await addHitRatio(merged);
    return merged.metrics();
  }
  return own;
}

/** Recomputes `carebox_cache_hit_ratio` from the merged hit and miss counters. */
async function addHitRatio(registry: ReturnType<typeof AggregatorRegistry.aggregate>): Promise<void> {
  const read = async (name: string): Promise<Map<string, number>> => {
    const metric = registry.getSingleMetric(name);
    if (metric === undefined) return new Map();
    const { values } = await metric.get();
    return new Map(values.map((v) => [String(v.labels.cache), v.value]));
  };
  const hits = await read('carebox_cache_hits_total');
  const misses = await read('carebox_cache_misses_total');
  const gauge = new Gauge<'cache'>({
    name: CACHE_HIT_RATIO_METRIC,
    help: "hits / (hits + misses) since the container's workers started.",
    labelNames: ['cache'],
    registers: [registry],
  });
  for (const name of new Set([...hits.keys(), ...misses.keys()])) {
    const h = hits.get(name) ?? 0;
    const m = misses.get(name) ?? 0;
    if (h + m > 0) gauge.set({ cache: name }, h / (h + m));
  }
}
