import type { ComposeFact } from '../detect/host-facts.js';
import { OperationError } from '../errors.js';
import { exec, type ExecResult } from '../apply/exec.js';

/**
 * The Docker Compose CLI for one project and install root. Every call passes `-p project` and
 * `-f compose.yml` explicitly (Compose v1 does not read a top-level `name:`), and runs in the
 * install root so `.env` is read for interpolation.
 */
export class ComposeCli {
  constructor(
    readonly fact: ComposeFact,
    readonly project: string,
    readonly root: string,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    if (!fact.flavour || fact.command.length === 0) {
      throw new OperationError(
        `Docker Compose is not available: ${fact.error ?? 'not found'}`,
        'install the Compose v2 plugin (docker compose) or docker-compose ≥ 1.29',
      );
    }
  }

  private argv(args: string[]): string[] {
    return [...this.fact.command, '-p', this.project, '--project-directory', this.root, '-f', `${this.root}/compose.yml`, ...args];
  }

  /** Run a compose subcommand; output chunks go to `onOutput`. @throws ExternalCommandError on failure. */
  run(args: string[], opts: { onOutput?: (s: string) => void; timeoutMs?: number; allowFailure?: boolean; input?: string } = {}): Promise<ExecResult> {
    return exec(this.argv(args), {
      cwd: this.root,
      env: { ...this.env, COMPOSE_ANSI: 'never', COMPOSE_PROGRESS: 'plain', COMPOSE_STATUS_STDOUT: '1' },
      ...opts,
    });
  }

  /** `config --quiet`: validate compose.yml with the real Compose. @throws ExternalCommandError with Compose's message. */
  async validate(): Promise<void> {
    await this.run(['config', '--quiet'], { timeoutMs: 60_000 });
  }

  /**
   * `up -d` for the given services (all when empty) with explicit replica counts (v1 ignores
   * deploy.replicas). No `--force-recreate`: Compose recreates only containers whose config changed.
   */
  async up(services: string[], scale: Record<string, number>, opts: { onOutput?: (s: string) => void; noDeps?: boolean; wait?: boolean } = {}): Promise<void> {
    const args = ['up', '-d', '--remove-orphans'];
    if (opts.noDeps) args.push('--no-deps');
    for (const [svc, n] of Object.entries(scale)) args.push('--scale', `${svc}=${n}`);
    await this.run([...args, ...services], { onOutput: opts.onOutput, timeoutMs: 15 * 60_000 });
  }

  /**
   * `run --rm --no-deps` a one-off command in a service's image (migrations, the first admin, demo
   * data). `env` values reach the container through Compose's environment, never its command line;
   * `opts.input` is written to the command's stdin.
   */
  async runOnce(
    service: string,
    command: string[],
    env: Record<string, string> = {},
    onOutput?: (s: string) => void,
    opts: { input?: string } = {},
  ): Promise<ExecResult> {
    // `-e KEY` without a value: Compose takes it from its own environment, so a value (the owner
    // role's password for migrations) never shows on a command line (`ps`, audit logs).
    const envArgs = Object.keys(env).flatMap((k) => ['-e', k]);
    return exec(this.argv(['run', '--rm', '--no-deps', '-T', ...envArgs, service, ...command]), {
      cwd: this.root,
      env: { ...this.env, COMPOSE_ANSI: 'never', COMPOSE_PROGRESS: 'plain', COMPOSE_STATUS_STDOUT: '1', ...env },
      onOutput,
      timeoutMs: 10 * 60_000,
      ...(opts.input === undefined ? {} : { input: opts.input }),
    });
  }

  /** `down`: stop and remove containers and networks; volumes too when `volumes`. */
  async down(opts: { volumes: boolean; onOutput?: (s: string) => void }): Promise<void> {
    const args = ['down', '--remove-orphans', '--timeout', '30'];
    if (opts.volumes) args.push('--volumes');
    await this.run(args, { onOutput: opts.onOutput, timeoutMs: 10 * 60_000 });
  }
}
