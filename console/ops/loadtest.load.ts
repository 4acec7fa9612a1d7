/**
 * One bounded, closed-loop load run with autocannon (programmatic API), on loopback only.
 *
 * Each autocannon connection is one virtual user: it sends a request, waits for the answer, sends
 * the next (no think time, pipelining 1). Response times are recorded here (autocannon's summary
 * has no p95), errors are socket errors, timeouts and every non-2xx answer.
 * Shared by `carebox loadtest` and `npm run bench`.
 */
import autocannon from 'autocannon';
import { isIP } from 'node:net';
import { LatencyRecorder, round2 } from './loadtest.latency.js';

/** A request of a virtual user's sequence (autocannon's request shape). */
export type LoadRequest = autocannon.Request;

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** Origin of the target, e.g. `http://127.0.0.1:8080`; must be a loopback address. */
  url: string;
  /** Concurrent connections (virtual users), ≥ 1. */
  connections: number;
  /** Length of the run, in seconds (> 0). */
  durationS: number;
  /** Sequence every connection cycles through; default one `GET path`. */
  requests?: LoadRequest[];
  /** Path of the default request (without `requests`). Default `/`. */
  path?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /**
   * Gives connection `index` (0-based, in creation order) its own request sequence: the
   * returned array replaces `requests` for that connection (a virtual user with its own session).
   */
  perConnection?: (index: number) => LoadRequest[];
  /** Seconds before a request counts as timed out. Default 10. */
  timeoutS?: number;
  /** Called about once a second with the seconds elapsed and the responses so far. */
  onTick?: (elapsedS: number, responses: number) => void;
  /** Stops the run early (the figures so far are returned). */
  signal?: AbortSignal;
  /**
   * Non-loopback addresses this caller may target besides loopback: only addresses of containers
   * the caller itself created on its own Docker network (`npm run bench` against the stack it
   * installed). `carebox loadtest` never sets it.
   */
  allowedHosts?: readonly string[];
}

/** What one run measured. */
export interface LoadStats {
  connections: number;
  /** Wall time of the run, in s. */
  durationS: number;
  /** Responses received (any status). */
  requests: number;
  /** Responses per second over the run. */
  requestsPerSecond: number;
  /** Latency of 2xx responses, in ms. */
  latency: { p50: number; p95: number; p99: number; mean: number; max: number };
  errors: {
    /** Socket errors + timeouts + non-2xx responses. */
    total: number;
    /** total / (responses + socket errors + timeouts); 0 when nothing was sent. */
    rate: number;
    socket: number;
    timeouts: number;
    non2xx: number;
    /** Responses per HTTP status, e.g. `{ "200": 9000, "503": 2 }`. */
    statusCodes: Record<string, number>;
  };
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Runs one bounded load against `options.url`.
 * @returns the measured figures.
 * @throws Error when the target is not a loopback address or the options are out of range.
 */
export function runLoad(options: LoadOptions): Promise<LoadStats> {
  const target = new URL(options.url);
  if (!isLoopbackHost(target.hostname) && !(options.allowedHosts ?? []).includes(target.hostname))
    throw new Error(`load runs target loopback only, not ${target.hostname}`);
  if (!Number.isInteger(options.connections) || options.connections < 1) throw new Error('connections must be a whole number ≥ 1');
  if (!(options.durationS > 0)) throw new Error('durationS must be > 0');
  const latency = new LatencyRecorder();
  const statusCodes: Record<string, number> = {};
  let responses = 0;
  let non2xx = 0;
  let connectionIndex = 0;
  const started = process.hrtime.bigint();

  return new Promise<LoadStats>((resolve, reject) => {
    // Declared before the instance: the completion callback takes it off the (longer-lived) signal.
    const stop = (): void => void instance.stop();
    const instance: autocannon.Instance = autocannon(
      {
        url: target.origin,
        connections: options.connections,
        duration: options.durationS,
        timeout: options.timeoutS ?? 10,
        pipelining: 1,
        ...(options.requests ? { requests: options.requests } : { requests: [{ method: 'GET', path: options.path ?? '/' }] }),
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.perConnection
          ? {
              setupClient: (client: autocannon.Client) => {
                client.setRequests(options.perConnection!(connectionIndex++));
              },
            }
          : {}),
      },
      (err, result) => {
        options.signal?.removeEventListener('abort', stop);
        if (err) {
          reject(err);
          return;
        }
        const wallS = Number(process.hrtime.bigint() - started) / 1e9;
        const socket = Math.max(0, (result.errors ?? 0) - (result.timeouts ?? 0));
        const timeouts = result.timeouts ?? 0;
        const total = socket + timeouts + non2xx;
        const attempts = responses + socket + timeouts;
        resolve({
          connections: options.connections,
          durationS: round2(wallS),
          requests: responses,
          requestsPerSecond: Math.round(responses / Math.max(wallS, 1e-9)),
          latency: {
            p50: latency.percentile(50),
            p95: latency.percentile(95),
            p99: latency.percentile(99),
            mean: round2(latency.meanMs),
            max: round2(latency.max),
          },
          errors: { total, rate: attempts === 0 ? 0 : total / attempts, socket, timeouts, non2xx, statusCodes },
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      responses += 1;
      const key = String(statusCode);
      statusCodes[key] = (statusCodes[key] ?? 0) + 1;
      if (statusCode >= 200 && statusCode < 300) latency.record(responseTime);
      else non2xx += 1;
    });
    if (options.signal) {
      if (options.signal.aborted) stop();
      else options.signal.addEventListener('abort', stop, { once: true });
    }
    if (options.onTick) {
      const onTick = options.onTick;
      instance.on('tick', () => onTick(Number(process.hrtime.bigint() - started) / 1e9, responses));
    }
  });
}
