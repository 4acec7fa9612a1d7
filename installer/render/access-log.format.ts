/**
 * nginx's access-log line, defined once: the renderer puts {@link ACCESS_LOG_FORMAT} into
 * nginx.conf (`log_format carebox`), and everything that reads those lines back (the status
 * headroom, the support bundle's record-id hashing, tests) parses them with
 * {@link parseAccessLine}. Change the format here and the parser with it. Pure.
 *
 * No query string and no body: search terms can be patient names. `$uri` is the decoded path.
 */
import { NGINX_ACCESS_LOG_FLUSH_S } from '../plan/sizing.constants.js';

/**
 * The `log_format carebox` string (nginx variables; one line per request), e.g.
 * `172.18.0.1 [2026-12-07T13:00:00+00:00] "GET /api/v1/patients" 200 512 0.004 0.004 id=ab12 upstream=172.18.0.5:3000`.
 * `$upstream_response_time` and `$upstream_addr` are `-` when nginx answered itself, and list
 * every replica tried (`, `-separated) when a request was passed on.
 */
export const ACCESS_LOG_FORMAT =
  '$remote_addr [$time_iso8601] "$request_method $uri" $status $body_bytes_sent $request_time $upstream_response_time id=$request_id upstream=$upstream_addr';

/** One parsed access-log line. */
export interface AccessLogLine {
  remoteAddr: string;
  /** Request end, ms since the epoch ($time_iso8601: whole seconds). */
  timeMs: number;
  method: string;
  /** Decoded path, no query string. */
  path: string;
  status: number;
  bodyBytes: number;
  /** Seconds. */
  requestTimeS: number;
  /** nginx's $request_id (32 hex digits), also sent to the backend as X-Request-Id. */
  requestId: string;
  /** `ip:port` of every backend tried, in order (empty when nginx answered itself). */
  upstreams: string[];
}

const LINE =
  /^(\S+) \[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))\] "([A-Z]+) ([^"\s]*)" (\d{3}) (\d+) ([\d.]+) (\S+(?:, \S+)*) id=([0-9a-f]+)(?: upstream=(.*))?$/;

/**
 * Parses one line written with {@link ACCESS_LOG_FORMAT}, or with the format before it (no
 * `upstream=`, logs of a container from before an upgrade); null for any other line (nginx's
 * notices). Pure.
 */
export function parseAccessLine(line: string): AccessLogLine | null {
  const m = LINE.exec(line.trimEnd());
  if (!m) return null;
  // $upstream_addr separates the replicas tried with `, ` (and internal redirects with ` : `).
  const upstreams = (m[10] ?? '').split(/, | : /).filter((x) => x !== '' && x !== '-');
  return {
    remoteAddr: m[1]!,
    timeMs: Date.parse(m[2]!),
    method: m[3]!,
    path: m[4]!,
    status: Number(m[5]),
    bodyBytes: Number(m[6]),
    requestTimeS: Number(m[7]),
    requestId: m[9]!,
    upstreams,
  };
}

/**
 * How long after a request its line can reach the container log at the latest, in ms: nginx
 * buffers access-log lines per worker and flushes at least every NGINX_ACCESS_LOG_FLUSH_S, plus
 * 250 ms for the timer and Docker's log pipe. A reader that needs the lines of requests it just
 * made (a support bundle, a test) waits this long first.
 */
export const ACCESS_LOG_FLUSH_WAIT_MS = NGINX_ACCESS_LOG_FLUSH_S * 1000 + 250;
