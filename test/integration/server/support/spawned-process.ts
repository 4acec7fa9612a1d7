/**
 * Runs a server entry (`main`, `worker`, `migrate`, `healthcheck`) as a real child process with
 * `node --import=tsx`, and reads its JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** One parsed log line. */
export type LogLine = Record<string, unknown> & { msg?: string; pid?: number; role?: string };

/** A spawned entry process. */
export class SpawnedProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  stdoutText = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.stdoutText += text;
      buffer += text;
      let newline = buffer.indexOf('\n');
      while (newline !== -1) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('{')) {
          try {
            this.logs.push(JSON.parse(line) as LogLine);
          } catch {
            // not a log line
          }
        }
        newline = buffer.indexOf('\n');
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Starts `server/src/<entry>.ts` with exactly `env` (plus PATH and HOME).
   * @param args extra command-line arguments.
   */
  static start(
    entry: 'main' | 'worker' | 'migrate' | 'healthcheck' | 'create-admin' | 'demo-data',
    env: Record<string, string>,
    args: string[] = [],
  ): SpawnedProcess {
    const child = spawn(process.execPath, ['--import=tsx', `server/src/${entry}.ts`, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new SpawnedProcess(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits for a log line matching `predicate`; fails with the logs so far after `timeoutMs`. */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(predicate);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}\n${this.describe()}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sends a signal to the process (by its pid). */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Kills the process if it still runs and waits for it (test cleanup). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** The last log lines and stderr, for failure messages. */
  describe(): string {
    const tail = this.logs
      .slice(-15)
      .map((l) => JSON.stringify(l))
      .join('\n');
    return `--- last logs ---\n${tail}\n--- stderr ---\n${this.stderr.slice(-2000)}`;
  }
}
