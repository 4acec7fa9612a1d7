/**
 * Maps anything a handler can throw to an {@link HttpError}. Pure: no I/O, no logging.
 */
import knex from 'knex';
import { ZodError } from 'zod';
import {
  BadRequestError,
  ConflictError,
  HttpError,
  InternalError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnprocessableError,
  ValidationError,
} from './http-error.js';

/** Options of {@link toHttpError}. */
export interface ErrorMappingOptions {
  /** BODY_LIMIT_BYTES, named in the 413 message when the parser does not say the route's limit. */
  bodyLimitBytes: number;
}

/** Node/libpq network failures: the dependency is unreachable, not our bug. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE']);

/**
 * Redis error replies that mean it refuses writes for now, not that the request is wrong: MISCONF
 * (the last background save failed: a full disk, or a fork refused under a strict
 * vm.overcommit_memory; Redis then stops writes, redis.conf `stop-writes-on-bgsave-error`), OOM
 * (maxmemory reached with nothing evictable), READONLY, LOADING, BUSY, MASTERDOWN (Redis docs,
 * error replies). ioredis raises them as `ReplyError` with the reply as message.
 */
const REDIS_REFUSALS = /^(MISCONF|OOM|READONLY|LOADING|BUSY|MASTERDOWN|NOREPLICAS)\b/;

/** True for a Redis error reply saying it refuses writes for now (see {@link REDIS_REFUSALS}). */
export function isRedisRefusal(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError' && REDIS_REFUSALS.test(err.message);
}

/** SQLSTATEs meaning PostgreSQL cannot take the work now (class 08: connection exception). */
const PG_UNAVAILABLE = new Set(['53300', '57P01', '57P02', '57P03', '53000', '53100', '53200']);

/**
 * Converts a thrown value to the HttpError the client receives.
 *
 * - HttpError: as is.
 * - ZodError: 400 VALIDATION_FAILED naming each field.
 * - body parser errors: 413 PAYLOAD_TOO_LARGE, 400 INVALID_JSON, or their own 4xx.
 * - knex pool acquire timeout (KnexTimeoutError): 503 DATABASE_BUSY, Retry-After 1.
 * - PostgreSQL unavailable / too many clients / network failure: 503, Retry-After 5.
 * - Redis refusing writes (MISCONF after a failed save on a full disk, OOM, READONLY, …):
 *   503 STORE_REFUSES_WRITES, Retry-After 30.
 * - PostgreSQL statement timeout (57014): 503 QUERY_TIMEOUT; serialization failure or deadlock
 *   (40001, 40P01): 503 TRANSACTION_CONFLICT, Retry-After 1.
 * - PostgreSQL unique or exclusion violation (23505, 23P01): 409 CONFLICT naming the constraint,
 *   never the values.
 * - PostgreSQL foreign key violation (23503): 422 REFERENCE_NOT_FOUND; check violation (23514):
 *   422 CONSTRAINT_VIOLATED; both naming the constraint.
 * - PostgreSQL data exception (class 22, e.g. a malformed uuid or date that got past validation):
 *   400 INVALID_VALUE. The driver's message echoes the value, so it is not passed on.
 * - other 4xx errors of the HTTP stack (a path segment that is not valid percent-encoding):
 *   their status, with a generic message unless the error is marked safe to expose.
 * - anything else: 500 INTERNAL, with the original as `cause` for the log.
 */
export function toHttpError(err: unknown, options: ErrorMappingOptions): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ZodError) return validationError(err);
  if (isKnexTimeout(err)) {
    return new ServiceUnavailableError('DATABASE_BUSY', 'timed out waiting for a database connection', {
      retryAfterSeconds: 1,
      hint: 'The server is at its database pool limit; retry shortly.',
      cause: err,
    });
  }
  if (typeof err !== 'object' || err === null) return new InternalError(err);
  if (isRedisRefusal(err)) {
    // Sessions, sign-in throttling and the job queue live in Redis: nothing useful works until it
    // writes again, and nothing was stored, so the client may retry. The 5xx is logged and counted.
    return new ServiceUnavailableError('STORE_REFUSES_WRITES', 'the session and queue store refuses writes (full disk or out of memory); retry later', {
      retryAfterSeconds: 30,
      hint: 'An administrator must free disk space or memory on the server (see `carebox status`).',
      cause: err,
    });
  }
  const e = err as ErrorFields;
  const mapped = httpStackError(e, err, options) ?? (typeof e.code === 'string' ? postgresError(e.code, e, err) : null);
  return mapped ?? new InternalError(err);
}

/** The fields of a thrown object the mapping looks at (body-parser, http-errors, node-postgres, Node's network errors). */
interface ErrorFields {
  type?: unknown;
  limit?: unknown;
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

/** 400 VALIDATION_FAILED naming each field of a ZodError (an unknown field by its own path). */
function validationError(err: ZodError): ValidationError {
  return new ValidationError(
    err.issues.flatMap((i) => {
      const base = i.path.map(String).join('.');
      // An unknown field is named by its own path, so the client sees which one to drop.
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => ({ path: base === '' ? k : `${base}.${k}`, message: 'is not a known field' }));
      }
      return [{ path: base, message: i.message }];
    }),
  );
}

/** body-parser's errors (they carry `type` and a 4xx `status`) and other 4xx errors of the HTTP stack; null for anything else. */
function httpStackError(e: ErrorFields, err: unknown, options: ErrorMappingOptions): HttpError | null {
  if (e.type === 'entity.too.large') return new PayloadTooLargeError(typeof e.limit === 'number' ? e.limit : options.bodyLimitBytes);
  if (e.type === 'entity.parse.failed') {
    return new BadRequestError('request body is not valid JSON', 'INVALID_JSON', { cause: err });
  }
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    const code = typeof e.type === 'string' ? e.type.replace(/[^a-z]+/gi, '_').toUpperCase() : 'BAD_REQUEST';
    const message = e.expose === true && typeof e.message === 'string' ? e.message : 'malformed request';
    return new HttpError(status, code, message, { cause: err });
  }
  return null;
}

/** PostgreSQL's SQLSTATEs and Node's network error codes (see toHttpError); null for a code not mapped. */
function postgresError(code: string, e: ErrorFields, err: unknown): HttpError | null {
  if (PG_UNAVAILABLE.has(code) || code.startsWith('08') || NETWORK_CODES.has(code)) {
    return new ServiceUnavailableError('DEPENDENCY_UNAVAILABLE', 'a backing service is unavailable', {
      retryAfterSeconds: 5,
      cause: err,
    });
  }
  if (code === '57014') {
    return new ServiceUnavailableError('QUERY_TIMEOUT', 'the database query took too long', { retryAfterSeconds: 5, cause: err });
  }
  if (code === '40001' || code === '40P01') {
    return new ServiceUnavailableError('TRANSACTION_CONFLICT', 'a concurrent change conflicted; retry', {
      retryAfterSeconds: 1,
      cause: err,
    });
  }
  const constraint = typeof e.constraint === 'string' ? ` (${e.constraint})` : '';
  if (code === '23505' || code === '23P01') {
    return new ConflictError(`a record with the same unique value already exists${constraint}`, 'CONFLICT', { cause: err });
  }
  if (code === '23503') {
    return new UnprocessableError(`a referenced record does not exist${constraint}`, 'REFERENCE_NOT_FOUND', { cause: err });
  }
  if (code === '23514') {
    return new UnprocessableError(`a value breaks a rule of the data${constraint}`, 'CONSTRAINT_VIOLATED', { cause: err });
  }
  if (code.startsWith('22') && code.length === 5) {
    return new BadRequestError('a value has an invalid format or is out of range', 'INVALID_VALUE', { cause: err });
  }
  return null;
}

/** True for knex's pool acquire timeout, by class or by name (the class is per knex copy). */
export function isKnexTimeout(err: unknown): boolean {
  return err instanceof knex.KnexTimeoutError || (err instanceof Error && err.name === 'KnexTimeoutError');
}
