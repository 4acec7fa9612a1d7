/**
 * One log line per request (pino-http), with a request id that is echoed as `X-Request-Id`.
 *
 * What is logged: id, method, path (the query string is dropped: searches by name or MRN would
 * put patient data in the log), route-independent status and duration, client address, user
 * agent. Never bodies, never headers other than the user agent; `redact` in the logger is the
 * second line of defence.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

/** Incoming ids (from nginx `$request_id`, say) are kept only when they look like one. */
const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** The request id for `req`: a sane incoming `X-Request-Id`, else a new UUID. */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The logged shape of a request. */
export function serializeRequest(req: IncomingMessage & { id?: unknown; ip?: string }): Record<string, unknown> {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return {
    id: req.id,
    method: req.method,
    path: q === -1 ? url : url.slice(0, q),
    remoteAddress: (req as Partial<Request>).ip ?? req.socket?.remoteAddress,
    userAgent: req.headers['user-agent'],
  };
}

/** pino-http middleware over `logger`. */
export function requestLogger(logger: Logger<string>): RequestHandler {
  const middleware = pinoHttp({
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestId(req);
      res.setHeader('X-Request-Id', id);
      return id;
    },
    wrapSerializers: false,
    serializers: {
      req: serializeRequest,
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, err) => (err !== undefined || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${res.statusCode}`,
  });
  return middleware as unknown as RequestHandler;
}
