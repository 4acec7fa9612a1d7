/**
 * The process logger (pino, JSON lines on stdout).
 *
 * Logs never carry secrets or patient data:
 * - `redact` censors credentials and the fields that patient records and login bodies use, wherever
 *   they appear one or two levels deep (a defence in depth: request and job bodies are never logged);
 * - errors are serialized by {@link safeErrorSerializer}, which keeps only type, code, message and
 *   stack (PostgreSQL's `detail`/`where` would echo row values, e.g. a duplicate MRN).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Paths pino censors. Header names are lower case in Node. */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  // credentials, wherever they are logged by mistake
  ...['password', 'passwordHash', 'token', 'secret', 'authorization', 'cookie', 'connectionString'].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
  // patient fields (issue 4's domain): never in logs, even by mistake
  ...['mrn', 'givenName', 'familyName', 'given_name', 'family_name', 'birthDate', 'birth_date', 'contact'].flatMap((k) => [`*.${k}`, `*.*.${k}`]),
];

/** Shape of a serialized error in the logs. */
export interface SafeSerializedError {
  type: string;
  message: string;
  code?: string;
  stack?: string;
}

/**
 * pino error serializer that drops every property except type, code, message and stack, and
 * follows `cause` one level. Driver errors carry row values in extra properties; those stay out.
 */
export function safeErrorSerializer(err: unknown): SafeSerializedError | unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  const out: SafeSerializedError & { cause?: SafeSerializedError | unknown } = {
    type: err.name,
    message: err.message,
  };
  if (typeof code === 'string' || typeof code === 'number') out.code = String(code);
  if (err.stack !== undefined) out.stack = err.stack;
  if (err.cause instanceof Error) out.cause = safeErrorSerializer(err.cause);
  return out;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** pino level name, e.g. `info`. */
  level: string;
  /** Process role, logged on every line: `web`, `primary`, `worker`, `migrate`. */
  role: string;
  /** Where to write (default stdout, asynchronously). Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

/**
 * Creates the process logger.
 *
 * Stdout is written asynchronously (pino's SonicBoom with `sync: false`, no minimum length): a
 * line is handed to the kernel at once when no write is pending, and lines that arrive while one
 * is pending go together in the next write. One synchronous write(2) per request line was the
 * largest single cost of a simple request under load. Lines still buffered when the process exits
 * (`process.exit`, a fatal error) are flushed synchronously by pino's exit hook; only a SIGKILL can
 * lose them.
 * @returns a pino `Logger<string>` with redaction and the safe error serializer installed.
 */
export function createLogger(options: LoggerOptions): Logger<string> {
  return pino(
    {
      level: options.level,
      base: { service: 'carebox-server', role: options.role, pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { err: safeErrorSerializer, error: safeErrorSerializer },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  ) as Logger<string>;
}
