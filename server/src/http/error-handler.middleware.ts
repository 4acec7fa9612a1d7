/**
 * The one error-handling middleware, and the final 404 handler.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { NotFoundError } from './http-error.js';
import { toHttpError, type ErrorMappingOptions } from './error-mapping.js';

/**
 * Answers every error as JSON `{ error: { code, message, hint?, fields? } }` with the mapped
 * status and, for 503, `Retry-After`. Server-side failures (≥ 500) are attached to `res.err`, so
 * the request log line carries the (safely serialized) error once; 4xx are the caller's mistakes
 * and are not logged as errors.
 */
export function errorHandler(options: ErrorMappingOptions): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) {
      // Too late to answer: let Express abort the connection.
      next(err);
      return;
    }
    const httpError = toHttpError(err, options);
    if (httpError.status >= 500) (res as { err?: unknown }).err = err;
    if (httpError.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(httpError.retryAfterSeconds));
    for (const [name, value] of Object.entries(httpError.headers)) res.setHeader(name, value);
    res.status(httpError.status).json(httpError.toJSON());
  };
}

/** Last in the chain: any request no route answered is a 404 JSON error. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`no route for ${req.method} ${req.path}`, { hint: 'See the API documentation for the routes.' }));
};
