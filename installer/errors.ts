/**
 * One error hierarchy for the CLI. Each error says who must act (the user, an external command,
 * or us) and maps to the exit code of the CLI contract:
 *   0 ok · 1 operation failed · 2 usage error · 3 preflight failed · 4 stack not healthy ·
 *   5 untrusted backup (its signature does not verify) ·
 *   130 interrupted (SIGINT/SIGTERM; the shell convention 128 + signal 2).
 */

export const ExitCode = {
  Ok: 0,
  Failed: 1,
  Usage: 2,
  Preflight: 3,
  Unhealthy: 4,
  /** A backup whose backup.json signature does not verify (edited, unsigned, or another key). */
  UntrustedBackup: 5,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message for the operator, an exit code, a stable machine code and a hint. */
export class CareboxError extends Error {
  /** Exit code of the CLI contract. */
  readonly exitCode: ExitCode;
  /** Stable identifier for scripts, e.g. `USAGE`, `PREFLIGHT_FAILED`. */
  readonly code: string;
  /** What the operator should do next, or null. */
  readonly hint: string | null;

  constructor(message: string, opts: { exitCode: ExitCode; code: string; hint?: string | null; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode;
    this.code = opts.code;
    this.hint = opts.hint ?? null;
  }

  /** JSON shape printed under `--json`: `{ error: { code, message, hint, exitCode } }`. */
  toJSON(): { code: string; message: string; hint: string | null; exitCode: number } {
    return { code: this.code, message: this.message, hint: this.hint, exitCode: this.exitCode };
  }
}

/** Bad flags, bad config files, a missing answer without a TTY. The user must act. Exit 2. */
export class UsageError extends CareboxError {
  constructor(message: string, hint: string | null = null) {
    super(message, { exitCode: ExitCode.Usage, code: 'USAGE', hint });
  }
}

/** The host cannot run what was asked (too small, ports taken, Docker too old). Exit 3. */
export class PreflightError extends CareboxError {
  constructor(
    message: string,
    hint: string | null = null,
    readonly details: unknown = null,
  ) {
    super(message, { exitCode: ExitCode.Preflight, code: 'PREFLIGHT_FAILED', hint });
  }
}

/** The stack came up but did not become healthy in time. Exit 4. */
export class UnhealthyError extends CareboxError {
  constructor(
    message: string,
    hint: string | null = null,
    readonly details: unknown = null,
  ) {
    super(message, { exitCode: ExitCode.Unhealthy, code: 'UNHEALTHY', hint });
  }
}

/** An external command failed; keeps argv and output so the operator can rerun it. Exit 1. */
export class ExternalCommandError extends CareboxError {
  constructor(
    readonly argv: string[],
    readonly exitStatus: number | null,
    readonly stderr: string,
    hint: string | null = null,
  ) {
    const tail = stderr.trim().split('\n').slice(-8).join('\n');
    super(`command failed (exit ${exitStatus ?? 'signal'}): ${argv.join(' ')}${tail ? `\n${tail}` : ''}`, {
      exitCode: ExitCode.Failed,
      code: 'EXTERNAL_COMMAND',
      hint,
    });
  }
}

/** An operation failed for a reason outside the user's input (Docker API error, I/O). Exit 1. */
export class OperationError extends CareboxError {
  constructor(message: string, hint: string | null = null, cause?: unknown) {
    super(message, { exitCode: ExitCode.Failed, code: 'OPERATION_FAILED', hint, cause });
  }
}

/**
 * A backup that cannot be trusted: backup.json is unsigned, or its signature does not verify with
 * the backup key (the manifest was edited, or the backup was signed by another install's key).
 * Nothing was changed. Exit 5.
 */
export class UntrustedBackupError extends CareboxError {
  constructor(message: string, hint: string | null = null) {
    super(message, { exitCode: ExitCode.UntrustedBackup, code: 'BACKUP_UNTRUSTED', hint });
  }
}

/** Narrowing helper: throws OperationError when `value` is null or undefined. */
export function assertFound<T>(value: T | null | undefined, what: string): asserts value is T {
  if (value === null || value === undefined) throw new OperationError(`${what} not found`);
}

/** The operator interrupted a long operation (Ctrl-C); what it cleaned up is in the message. */
export class InterruptedError extends CareboxError {
  constructor(message: string, hint: string | null = null) {
    super(message, { exitCode: ExitCode.Interrupted, code: 'INTERRUPTED', hint });
  }
}
