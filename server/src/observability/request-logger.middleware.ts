/**
 * One log line per request, with a request id that is echoed as `X-Request-Id`.
 *
 * What is logged: id, method, path (the query string is dropped: searches by name or MRN would
 * put patient data in the log), route-independent status and duration, client address, user
 * agent. Never bodies, never headers other than the user agent; `redact` in the logger is the
 * second line of defence.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';

/** Incoming ids (from nginx `$request_id`, say) are kept only when they look like one. */
const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** The request id for `req`: a sane incoming `X-Request-Id`, else a new UUID. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The logged shape of a request. */
export function serializeRequest(req: IncomingMessage & { id?: unknown; ip?: string; originalUrl?: string }): Record<string, unknown> {
  // Express's originalUrl: a mounted router strips its prefix from `url` while it runs.
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  return {
    id: req.id,
    method: req.method,
    path: q === -1 ? url : url.slice(0, q),
    remoteAddress: (req as Partial<Request>).ip ?? req.socket?.remoteAddress,
    userAgent: req.headers['user-agent'],
  };
}

/**
 * Paths the request logger still redacts. Its lines are built from a whitelist (the fields of
 * {@link serializeRequest}, the status, the duration and the safely serialized error), so the
 * process logger's wildcard paths (`*.password`, `*.*.mrn`, …) would never match anything there;
 * evaluating them on every request cost about as much as writing the line. These header paths stay
 * as a guard should the line ever carry headers.
 */
export const REQUEST_LOG_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
];

/** Which requests {@link requestLogger} writes a line for. */
export interface RequestLogOptions {
  /** `all`: every request; `errors`: status ≥ 400, failed, aborted, or slower than `slowMs`. */
  mode: 'all' | 'errors';
  /** Duration from which a request counts as slow in `errors` mode, ms. */
  slowMs: number;
}

/**
 * A successful `GET /metrics`: the console scrapes every backend every few seconds, and those lines
 * would drown the log, so they are written at `debug` level only. Failed scrapes (status ≥ 400) are still logged; the HTTP metrics still count
 * them either way.
 */
export function isMetricsScrape(req: IncomingMessage & { originalUrl?: string }, statusCode: number): boolean {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  return req.method === 'GET' && statusCode < 400 && (q === -1 ? url : url.slice(0, q)) === '/metrics';
}

/**
 * Middleware writing one line per request when its response finished (or the client went away):
 * `{ req: {id, method, path, remoteAddress, userAgent}, res: {statusCode}, responseTime, err? }`,
 * message `"<METHOD> <status>"`, level `error` when the request failed server-side (status ≥ 500 or
 * an error attached as `res.err` by the error handler), else `info`. Sets `req.id` and echoes it as
 * `X-Request-Id`. In `errors` mode only requests with status ≥ 400, an error, an aborted response
 * (`aborted: true`) or a duration ≥ `slowMs` get a line; the rest cost no serialization or write.
 * Successful `/metrics` scrapes are logged at `debug` only, so not at the default `info` ({@link isMetricsScrape}).
 *
 * A plain middleware instead of pino-http: pino-http builds a child logger (serializing and
 * redacting the request) for every request; here nothing is built until the line is written.
 */
export function requestLogger(logger: Logger<string>, options: RequestLogOptions = { mode: 'all', slowMs: 1000 }): RequestHandler {
  const everyRequest = options.mode === 'all';
  const log = logger.child({}, { redact: { paths: [...REQUEST_LOG_REDACT_PATHS], censor: '[redacted]' } });
  return (req, res, next) => {
    const started = Date.now();
    const id = requestId(req);
    (req as { id?: string }).id = id;
    res.setHeader('X-Request-Id', id);
    let logged = false;
    const done = (finished: boolean): void => {
      if (logged) return;
      logged = true;
      res.removeListener('finish', onFinish);
      res.removeListener('close', onClose);
      const err = (res as { err?: unknown }).err;
      const scrape = err === undefined && isMetricsScrape(req, res.statusCode);
      if (scrape && !log.isLevelEnabled('debug')) return;
      const responseTime = Date.now() - started;
      // 'close' before 'finish': the client went away before the response was complete.
      const aborted = !finished && !res.writableEnded;
      if (!everyRequest && err === undefined && res.statusCode < 400 && !aborted && responseTime < options.slowMs) return;
      const line: Record<string, unknown> = { req: serializeRequest(req), res: { statusCode: res.statusCode }, responseTime };
      if (aborted) line.aborted = true;
      const message = `${req.method} ${res.statusCode}`;
      if (err !== undefined || res.statusCode >= 500) {
        line.err = err ?? new Error(`failed with status code ${res.statusCode}`);
        log.error(line, message);
      } else if (scrape) {
        log.debug(line, message);
      } else {
        log.info(line, message);
      }
    };
    const onFinish = (): void => done(true);
    const onClose = (): void => done(false);
    res.on('finish', onFinish);
    res.on('close', onClose);
    next();
  };
}
