/**
 * The HTTP error hierarchy. Every error the API answers with is an {@link HttpError}: an HTTP
 * status, a stable machine `code`, a message safe to show to the caller, and a `hint` saying what
 * the caller can do. Anything else thrown in a handler is mapped by `toHttpError` (a known driver
 * or parser failure) or becomes a 500 whose details stay in the log.
 */

/** Options shared by every HttpError. */
export interface HttpErrorOptions {
  /** What the caller can do next, or null. */
  hint?: string | null;
  /** Seconds after which a retry may succeed; sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** The underlying error, kept for the log. */
  cause?: unknown;
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string>;
}

/** Base class: `{ error: { code, message, hint? } }` with the given HTTP status. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint: string | null;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, options: HttpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.hint = options.hint ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }

  /** The response body. */
  toJSON(): { error: { code: string; message: string; hint?: string; fields?: FieldProblem[] } } {
    return { error: { code: this.code, message: this.message, ...(this.hint === null ? {} : { hint: this.hint }) } };
  }
}

/** One invalid input field: a dotted path (`birthDate`, `contact.phone`) and what is wrong. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** 400: the request is malformed (bad JSON, bad query string). */
export class BadRequestError extends HttpError {
  constructor(message: string, code = 'BAD_REQUEST', options: HttpErrorOptions = {}) {
    super(400, code, message, options);
  }
}

/** 400: the input failed validation; `fields` names each bad field. */
export class ValidationError extends HttpError {
  constructor(readonly fields: readonly FieldProblem[]) {
    super(400, 'VALIDATION_FAILED', `invalid input: ${fields.map((f) => f.path || '(body)').join(', ')}`);
  }

  override toJSON(): ReturnType<HttpError['toJSON']> {
    const body = super.toJSON();
    return { error: { ...body.error, fields: [...this.fields] } };
  }
}

/** 401: no valid session. Sends `WWW-Authenticate: Bearer`. */
export class UnauthorizedError extends HttpError {
  constructor(message: string, code = 'UNAUTHENTICATED', options: HttpErrorOptions = {}) {
    super(401, code, message, {
      hint: 'Sign in with POST /api/v1/auth/login and send the token as "Authorization: Bearer <token>".',
      ...options,
      headers: { 'WWW-Authenticate': 'Bearer realm="carebox"', ...options.headers },
    });
  }
}

/** 403: signed in, but this role (or this state of the account) may not do this. */
export class ForbiddenError extends HttpError {
  constructor(message: string, code = 'FORBIDDEN', options: HttpErrorOptions = {}) {
    super(403, code, message, options);
  }
}

/** 404: no such route or record. */
export class NotFoundError extends HttpError {
  constructor(message: string, options: HttpErrorOptions = {}) {
    super(404, 'NOT_FOUND', message, options);
  }
}

/** 409: the request conflicts with the current state (a duplicate MRN, a double booking). */
export class ConflictError extends HttpError {
  constructor(message: string, code = 'CONFLICT', options: HttpErrorOptions = {}) {
    super(409, code, message, options);
  }
}

/** 410: the resource existed but is gone for good (an expired export). */
export class GoneError extends HttpError {
  constructor(message: string, code = 'GONE', options: HttpErrorOptions = {}) {
    super(410, code, message, options);
  }
}

/** 422: well-formed, but refers to something that does not exist or breaks a rule of the data. */
export class UnprocessableError extends HttpError {
  constructor(message: string, code = 'UNPROCESSABLE', options: HttpErrorOptions = {}) {
    super(422, code, message, options);
  }
}

/** 423: the account is locked after repeated failed sign-ins; `retryAfterSeconds` says until when. */
export class LockedError extends HttpError {
  constructor(message: string, code: string, options: HttpErrorOptions & { retryAfterSeconds: number }) {
    super(423, code, message, options);
  }
}

/** 429: the client sent too many requests; retry after `retryAfterSeconds`. */
export class TooManyRequestsError extends HttpError {
  constructor(message: string, code: string, options: HttpErrorOptions & { retryAfterSeconds: number }) {
    super(429, code, message, options);
  }
}

/** 413: the body is larger than the route's limit (at most BODY_LIMIT_BYTES). */
export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'PAYLOAD_TOO_LARGE', `request body exceeds ${limitBytes} bytes`, {
      hint: 'Send a smaller body: each route accepts what it needs, and never more than BODY_LIMIT_BYTES.',
    });
  }
}

/** 503: a dependency is busy or down; the caller should retry after `retryAfterSeconds`. */
export class ServiceUnavailableError extends HttpError {
  constructor(code: string, message: string, options: HttpErrorOptions & { retryAfterSeconds: number }) {
    super(503, code, message, options);
  }
}

/** 500: an error we did not anticipate. The message never reveals internals. */
export class InternalError extends HttpError {
  constructor(cause: unknown) {
    super(500, 'INTERNAL', 'internal server error', { cause, hint: 'Report the X-Request-Id of this response to the operator.' });
  }
}

/**
 * Narrows a lookup result: throws NotFoundError when `value` is null or undefined.
 * @param what what was looked up, e.g. `patient`; used in the message.
 * @throws NotFoundError
 */
export function assertFound<T>(value: T | null | undefined, what: string): asserts value is T {
  if (value === null || value === undefined) throw new NotFoundError(`${what} not found`);
}
