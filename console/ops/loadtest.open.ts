/**
 * Load in the hospital's unit: an open model (actions arrive at a fixed rate, as k6's
 * constant-arrival-rate executor does) and a closed model of virtual staff who pause between
 * actions. Over node:http with one keep-alive agent, on loopback only, bounded in time.
 *
 * Coordinated omission: a closed-loop generator sends its next request only when the previous one
 * came back, so a server that stalls also stalls the load, and the requests that *would* have
 * been sent meanwhile are never measured. Here every action has an intended start (its arrival
 * time, or the end of its person's think time) fixed in advance, and each request's latency runs
 * from its intended start: the first request of an action from the action's, the next ones from the
 * end of the previous request (the person clicks on what the screen showed). Time spent waiting
 * for a socket, in the server's queue or in a stall all counts.
 *
 * Autocannon's `overallRate` paces connections but measures from the actual send, so it cannot
 * be used for this (ECOSYSTEM.md: "your own arrival-rate scheduler … from each request's
 * intended start").
 */
import http from 'node:http';
import { LatencyRecorder, round2 } from './loadtest.latency.js';
import { isLoopbackHost } from './loadtest.load.js';

/** One HTTP request of an action. */
export interface HttpStep {
  method: 'GET' | 'POST';
  /** Path with query, e.g. `/api/v1/patients?q=…`. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A response as an action sees it. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * One action: sends its requests one after another through `send` and may read each answer (e.g.
 * the record a search found). `send` rejects on a socket error or timeout, and on a non-2xx answer
 * when the action continues past it (the engine counts the error and ends the action).
 */
export type Action = (send: (step: HttpStep) => Promise<HttpAnswer>) => Promise<void>;

/** What a run measured. Times in ms unless named otherwise. */
export interface OpenStats {
  /** Target rate, actions/s (open model) or null (closed model). */
  targetRatePerS: number | null;
  /** Virtual staff (closed model) or null. */
  staff: number | null;
  durationS: number;
  actionsStarted: number;
  actionsCompleted: number;
  /** Completed actions per second over the run. */
  actionsPerSecond: number;
  requests: number;
  requestsPerSecond: number;
  /** Latency of 2xx requests, measured from each request's intended start. */
  latency: { p50: number; p95: number; p99: number; mean: number; max: number };
  /** R: mean time from an action's intended start to its last answer, s (completed actions only). */
  actionResponseTimeS: number;
  /** Actions that started later than 100 ms after their intended start (the generator fell behind). */
  lateStarts: number;
  errors: { total: number; rate: number; socket: number; timeouts: number; non2xx: number; statusCodes: Record<string, number> };
}

/** Common options of both runs. */
interface RunBase {
  /** Origin, e.g. `http://127.0.0.1:8080`; must be a loopback address. */
  url: string;
  durationS: number;
  /** Seconds before a request counts as timed out (default 10). */
  timeoutS?: number;
  /** Sockets the agent opens at most (default 512): beyond, requests wait, and that wait counts. */
  maxSockets?: number;
  /** About once a second: seconds elapsed and requests answered so far. */
  onTick?: (elapsedS: number, responses: number) => void;
  signal?: AbortSignal;
}

/** Options of {@link runOpenLoad}. */
export interface OpenLoadOptions extends RunBase {
  /** Actions per second (> 0). */
  ratePerS: number;
  /**
   * How arrivals spread over the run (default `even`): `even` spaces them 1 / rate apart (k6's
   * constant-arrival-rate); `random` is a Poisson process with exactly rate × duration arrivals
   * (see {@link arrivalOffsetsMs}): people at desks do not click in step, and the bursts of a
   * random arrival stream are what queues build from.
   */
  arrivals?: 'even' | 'random';
  /** The next action to start (called once per arrival). */
  nextAction: () => Action;
}

/** Options of {@link runStaffLoad}. */
export interface StaffLoadOptions extends RunBase {
  /** Virtual staff (≥ 1). */
  staff: number;
  /** The next action of person `index`. */
  nextAction: (index: number) => Action;
  /** A think time in seconds (drawn per pause). */
  thinkTimeS: () => number;
}

class NotOk extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** Shared bookkeeping of one run. */
class Meter {
  readonly latency = new LatencyRecorder();
  readonly actionLatency = new LatencyRecorder();
  requests = 0;
  socket = 0;
  timeouts = 0;
  non2xx = 0;
  started = 0;
  completed = 0;
  lateStarts = 0;
  readonly statusCodes: Record<string, number> = {};
  readonly t0 = performance.now();

  constructor(
    private readonly base: URL,
    private readonly agent: http.Agent,
    private readonly timeoutMs: number,
    private readonly stopped: () => boolean,
  ) {}

  /** Runs `action` whose intended start is `intendedMs` (performance.now() clock). */
  async run(action: Action, intendedMs: number): Promise<void> {
    this.started += 1;
    if (performance.now() - intendedMs > 100) this.lateStarts += 1;
    let nextIntended: number | null = intendedMs;
    const send = async (step: HttpStep): Promise<HttpAnswer> => {
      const intended = nextIntended ?? performance.now();
      nextIntended = null;
      const answer = await this.request(step);
      const end = performance.now();
      this.requests += 1;
      const key = String(answer.status);
      this.statusCodes[key] = (this.statusCodes[key] ?? 0) + 1;
      if (answer.status < 200 || answer.status >= 300) {
        this.non2xx += 1;
        throw new NotOk(answer.status);
      }
      this.latency.record(end - intended);
      return answer;
    };
    try {
      await action(send);
      if (!this.stopped()) {
        this.completed += 1;
        this.actionLatency.record(performance.now() - intendedMs);
      }
    } catch (err) {
      if (err instanceof NotOk) return;
      if ((err as { code?: string }).code === 'ETIMEDOUT') this.timeouts += 1;
      else this.socket += 1;
    }
  }

  private request(step: HttpStep): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method: step.method,
          path: step.path,
          headers: step.headers ?? {},
          agent: this.agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(step.body);
    });
  }

  /** Figures of the run; rates are over the longer of the wall time and the scheduled duration. */
  stats(target: { ratePerS: number | null; staff: number | null }, measuredS: number, scheduledS: number): OpenStats {
    const wallS = Math.max(measuredS, scheduledS);
    const total = this.socket + this.timeouts + this.non2xx;
    const attempts = this.requests + this.socket + this.timeouts;
    return {
      targetRatePerS: target.ratePerS,
      staff: target.staff,
      durationS: round2(wallS),
      actionsStarted: this.started,
      actionsCompleted: this.completed,
      actionsPerSecond: round2(this.completed / Math.max(wallS, 1e-9)),
      requests: this.requests,
      requestsPerSecond: Math.round(this.requests / Math.max(wallS, 1e-9)),
      latency: {
        p50: round2(this.latency.percentile(50)),
        p95: round2(this.latency.percentile(95)),
        p99: round2(this.latency.percentile(99)),
        mean: round2(this.latency.meanMs),
        max: round2(this.latency.max),
      },
      actionResponseTimeS: Math.round(this.actionLatency.meanMs) / 1000,
      lateStarts: this.lateStarts,
      errors: {
        total,
        rate: attempts === 0 ? 0 : total / attempts,
        socket: this.socket,
        timeouts: this.timeouts,
        non2xx: this.non2xx,
        statusCodes: this.statusCodes,
      },
    };
  }
}

function check(o: RunBase): URL {
  const target = new URL(o.url);
  if (!isLoopbackHost(target.hostname)) throw new Error(`load runs target loopback only, not ${target.hostname}`);
  if (target.protocol !== 'http:') throw new Error('load runs use plain HTTP on loopback');
  if (!(o.durationS > 0 && o.durationS <= 3600)) throw new Error('durationS must be in (0, 3600]');
  return target;
}

/**
 * Timers of one run that an abort (or the end of the run) wakes all at once: one abort listener
 * per run, not one per sleeping person, and no timer left pending after the run.
 */
class Sleeper {
  private readonly pending = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  private readonly onAbort = () => this.wakeAll();

  constructor(private readonly signal?: AbortSignal) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Wakes every sleeper and takes the abort listener off the signal (the run's signal outlives the run). */
  dispose(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.wakeAll();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.signal?.aborted) return resolve();
      const entry = {
        timer: setTimeout(
          () => {
            this.pending.delete(entry);
            resolve();
          },
          Math.max(0, ms),
        ),
        wake: resolve,
      };
      this.pending.add(entry);
    });
  }

  wakeAll(): void {
    for (const e of this.pending) {
      clearTimeout(e.timer);
      e.wake();
    }
    this.pending.clear();
  }
}

/**
 * When each of `count` arrivals is intended, ms after the start of a run of `durationMs`, ascending.
 * `even`: k × duration / count. `random`: `count` points drawn uniformly over the run and sorted,
 * which is a Poisson process conditioned on its count (the order-statistics property of the
 * Poisson process; e.g. Ross, *Introduction to Probability Models*, §5.3.5): exponential gaps
 * between arrivals, and exactly `count` of them. Pure apart from `random` (default Math.random).
 */
export function arrivalOffsetsMs(count: number, durationMs: number, mode: 'even' | 'random', random: () => number = Math.random): Float64Array {
  const out = new Float64Array(Math.max(0, Math.floor(count)));
  for (let k = 0; k < out.length; k++) out[k] = mode === 'even' ? (k * durationMs) / out.length : random() * durationMs;
  if (mode === 'random') out.sort();
  return out;
}

/**
 * Runs actions arriving at `ratePerS` for `durationS` (open model): each arrival has its intended
 * start ({@link arrivalOffsetsMs}) and starts then, whatever happened to the earlier ones. After the last arrival it waits for the
 * actions in flight (at most the request timeout, then counts them as timeouts).
 * @throws Error when the target is not loopback HTTP or the rate or duration is out of range.
 */
export async function runOpenLoad(o: OpenLoadOptions): Promise<OpenStats> {
  const base = check(o);
  if (!(o.ratePerS > 0 && o.ratePerS <= 100_000)) throw new Error('ratePerS must be in (0, 100000]');
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 512 });
  let stopped = false;
  const timeoutMs = (o.timeoutS ?? 10) * 1000;
  const m = new Meter(base, agent, timeoutMs, () => stopped);
  const total = Math.floor(o.ratePerS * o.durationS);
  const inFlight = new Set<Promise<void>>();
  const sleeper = new Sleeper(o.signal);
  const at = arrivalOffsetsMs(total, o.durationS * 1000, o.arrivals ?? 'even');
  let lastTick = 0;
  try {
    for (let k = 0; k < total && !o.signal?.aborted; ) {
      const now = performance.now();
      // Start every arrival that is due, each with its own intended time.
      while (k < total && m.t0 + at[k]! <= now) {
        const p = m.run(o.nextAction(), m.t0 + at[k]!);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        k += 1;
      }
      if (o.onTick && now - m.t0 - lastTick >= 1000) {
        lastTick = now - m.t0;
        o.onTick(lastTick / 1000, m.requests);
      }
      if (k < total) await sleeper.sleep(Math.min(5, m.t0 + at[k]! - performance.now()));
    }
    await Promise.race([Promise.allSettled([...inFlight]), sleeper.sleep(timeoutMs + 1000)]);
    return m.stats({ ratePerS: o.ratePerS, staff: null }, (performance.now() - m.t0) / 1000, o.durationS);
  } finally {
    stopped = true;
    sleeper.dispose();
    agent.destroy();
  }
}

/**
 * Runs `staff` virtual staff for `durationS` (closed model with think time): each waits a think
 * time (the first one spreads the starts), acts, waits a think time, acts again. The intended
 * start of an action is the end of its think time, so a slow answer delays only that person.
 * Actions still running at the end are awaited (at most the request timeout).
 * @throws Error when the target is not loopback HTTP or staff or duration is out of range.
 */
export async function runStaffLoad(o: StaffLoadOptions): Promise<OpenStats> {
  const base = check(o);
  if (!(Number.isInteger(o.staff) && o.staff >= 1 && o.staff <= 1_000_000)) throw new Error('staff must be a whole number from 1 to 1000000');
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 512 });
  let stopped = false;
  const timeoutMs = (o.timeoutS ?? 10) * 1000;
  const m = new Meter(base, agent, timeoutMs, () => stopped);
  const end = m.t0 + o.durationS * 1000;
  const sleeper = new Sleeper(o.signal);
  const ticker = o.onTick ? setInterval(() => o.onTick!((performance.now() - m.t0) / 1000, m.requests), 1000) : null;
  const person = async (index: number): Promise<void> => {
    let intended = m.t0 + o.thinkTimeS() * 1000;
    while (intended < end && !o.signal?.aborted) {
      await sleeper.sleep(intended - performance.now());
      if (o.signal?.aborted || stopped) return;
      await m.run(o.nextAction(index), intended);
      intended = performance.now() + o.thinkTimeS() * 1000;
    }
  };
  try {
    const all = Promise.allSettled(Array.from({ length: o.staff }, (_, i) => person(i)));
    await Promise.race([all, sleeper.sleep(o.durationS * 1000 + timeoutMs + 1000)]);
    stopped = true;
    return m.stats({ ratePerS: null, staff: o.staff }, Math.min(performance.now() - m.t0, o.durationS * 1000 + timeoutMs) / 1000, o.durationS);
  } finally {
    stopped = true;
    sleeper.dispose();
    if (ticker) clearInterval(ticker);
    agent.destroy();
  }
}
