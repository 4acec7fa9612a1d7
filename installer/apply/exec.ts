import { spawn } from 'node:child_process';
import { ExternalCommandError } from '../errors.js';

/** Result of a finished command. Output is UTF-8 text. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the command after this many ms (default 10 minutes). */
  timeoutMs?: number;
  /** Text written to stdin. */
  input?: string;
  /** Called with each chunk of stderr+stdout as it arrives (progress display). */
  onOutput?: (chunk: string) => void;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  /** What to tell the operator when it fails. */
  hint?: string;
}

/**
 * Run an external command without a shell (argv form, so no quoting bugs or injection).
 * @returns stdout, stderr and the exit code.
 * @throws ExternalCommandError (exit 1) on a non-zero exit (unless allowFailure), on a timeout, or
 *   when the binary is missing; the error keeps argv and the tail of stderr.
 */
export function exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('exec: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n(killed after ${opts.timeoutMs ?? 600_000} ms)`;
    }, opts.timeoutMs ?? 600_000);
    child.stdout!.on('data', (d: Buffer) => {
      const s = d.toString('utf8');
      stdout += s;
      opts.onOutput?.(s);
    });
    child.stderr!.on('data', (d: Buffer) => {
      const s = d.toString('utf8');
      stderr += s;
      opts.onOutput?.(s);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ENOENT' ? `${cmd}: command not found` : err.message;
      reject(new ExternalCommandError(argv, null, why, opts.hint ?? null));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { stdout, stderr, code: code ?? -1 };
      if (code === 0 || opts.allowFailure) resolve(result);
      else reject(new ExternalCommandError(argv, code, stderr || stdout, opts.hint ?? null));
    });
  });
}
