/**
 * `StackRuntime`: what install and the console ops need from the engine that runs a stack, in the
 * stack's own terms (services and their tasks), so that Compose today and a Swarm implementation
 * later sit side by side without changing their callers.
 *
 * A *service* is a name from compose.yml (`backend`, `db`, …). A *task* is one running unit of a
 * service: a Compose container today (its replica number is the container number), a Swarm task's
 * container tomorrow (its slot). Every method that changes something either finishes with every
 * touched task healthy, or throws with the stack as it found it where the method says so.
 *
 * The Compose implementation is {@link ComposeRuntime} (compose.runtime.ts); tests use fakes.
 */
import type { FileChange } from '../apply/files.write.js';
import type { Plan } from '../plan/plan.types.js';
import type { ExecInOptions, ExecOutput } from './container.exec.js';
import type { NginxReloadResult } from './nginx.reload.js';
import type { RestartedContainer, RollingReplaceResult } from './rolling.js';
import type { ExecResult } from '../apply/exec.js';
import type { SERVER_SCRIPTS } from './server.cli.js';
import type { StackContainer } from './stack.containers.js';

/** One task of a service (id, service, replica number, state, health, config hash). */
export type ServiceTask = StackContainer;

/** Progress lines for the step reporter. */
export type OnProgress = (message: string) => void;

/** Redis limits set live. */
export interface RedisLimits {
  maxClients: number;
  maxMemoryBytes: number;
  maxMemoryPolicy: string;
}

/** How {@link StackRuntime.roll} replaces a service's tasks. */
export interface RollOptions {
  /** Tasks of the service wanted at the end, all with the current configuration on disk. */
  target: number;
  /** Replace every task that exists now, even those already up to date (a surge restart). */
  replaceAll?: boolean;
  /** Whether `stale` old and `fresh` new tasks may run at once (the DB connection budget). Default: always. */
  fits?: (stale: number, fresh: number) => boolean;
  /** Health wait for each batch of new tasks, ms. */
  timeoutMs: number;
  onProgress?: OnProgress;
}

/** The engine under one installed stack. */
export interface StackRuntime {
  /** Absolute install root. */
  readonly root: string;
  /** The project (Compose) or stack (Swarm) name. */
  readonly project: string;

  /**
   * Run `fn` holding the install root's operation lock (taken once per call chain: nested calls
   * run under the outer one's).
   * @throws OperationError when another live operation holds it.
   */
  withLock<T>(op: string, fn: () => Promise<T>): Promise<T>;

  /** The tasks of `service` (all services when omitted), one-off runs excluded, by service then replica number. */
  tasks(service?: string): Promise<ServiceTask[]>;
  /** The configuration hash of every service as the engine computes it from the files on disk now. */
  configHashes(): Promise<Record<string, string>>;
  /** Seconds a task of `service` gets after SIGTERM to drain (its stop_grace_period; default 10). */
  stopGraceSeconds(service: string): number;
  /** How long the edge may skip a new task of `service` after it refused a connection, ms (0: not proxied). */
  edgeSettleMs(service: string): number;

  /**
   * Bring `service` to `replicas` tasks without recreating the ones that run (new tasks get the
   * configuration on disk).
   * @throws ExternalCommandError when the engine refuses.
   */
  scale(service: string, replicas: number, opts?: { onProgress?: OnProgress }): Promise<void>;
  /**
   * Create and start the tasks of `service` that do not exist yet, recreating nothing (a service
   * new in the plan).
   */
  start(service: string): Promise<void>;
  /**
   * Recreate the tasks of `service` whose configuration differs from the files on disk. With
   * `deps: false` the services it depends on are left alone.
   */
  recreate(service: string, opts: { deps: boolean }): Promise<void>;
  /** Send `signal` (e.g. `HUP`: re-read configuration) to every task of `service`. */
  signal(service: string, signal: string): Promise<void>;
  /** Converge every service to the files on disk and these replica counts, recreating nothing that matches. */
  settle(replicas: Record<string, number>): Promise<void>;
  /** Stop one task gracefully (SIGTERM, up to `graceS` s, then SIGKILL) and remove it. A task already gone is fine. */
  removeTask(id: string, graceS: number): Promise<void>;
  /**
   * Wait until every task in `ids` runs and is healthy; gives up early on a crash loop.
   * @throws UnhealthyError (exit 4) with the last log lines of each task that is not ready.
   */
  waitHealthy(ids: string[], opts: { timeoutMs: number; what: string; onProgress?: OnProgress }): Promise<void>;
  /**
   * Replace the tasks of `service` whose configuration differs from the files on disk, new before
   * old, and settle at `opts.target`. On a failed health wait the new tasks are removed again and
   * the old ones keep serving.
   * @throws UnhealthyError; OperationError when the roll makes no progress.
   */
  roll(service: string, opts: RollOptions): Promise<RollingReplaceResult>;
  /**
   * Restart every task of `service` in place, one at a time, each healthy before the next.
   * @throws UnhealthyError when one does not become healthy (the rest are left untouched).
   */
  restartTasks(service: string, opts: { timeoutMs: number; onProgress?: OnProgress }): Promise<RestartedContainer[]>;

  /**
   * Run `argv` in one running task of `service` (the first by replica number).
   * @throws OperationError when no task of the service runs.
   */
  exec(service: string, argv: string[], opts?: ExecInOptions): Promise<ExecOutput>;
  /** The last `tail` log lines of one task, stdout and stderr interleaved. */
  logTail(taskId: string, tail: number): Promise<string>;

  /**
   * Run one of the server image's scripts in a one-off task of `backend`, straight to PostgreSQL
   * (server.cli.ts `DIRECT_DB_ENV`, then `env` on top); `env` values never reach a command line.
   * @throws ExternalCommandError when the script exits non-zero.
   */
  runServer(
    script: keyof typeof SERVER_SCRIPTS,
    args: readonly string[],
    opts?: { env?: Record<string, string>; onOutput?: (s: string) => void; input?: string },
  ): Promise<ExecResult>;

  /**
   * Ask PostgreSQL to re-read postgresql.conf (the running server keeps its old values when the
   * file has errors).
   * @returns the settings still pending a restart.
   * @throws OperationError naming the rejected settings; OperationError when db is not running.
   */
  reloadPostgres(): Promise<string[]>;

  /**
   * The running PostgreSQL's max_connections.
   * @throws OperationError when db is not running.
   */
  postgresMaxConnections(): Promise<number>;
  /** The running Redis's maxclients, or null when Redis is not running. */
  redisMaxClients(): Promise<number | null>;
  /**
   * Set Redis limits live (CONFIG SET); the file is what a later restart reads.
   * @throws OperationError when Redis is not running or refuses a value.
   */
  setRedisLimits(limits: RedisLimits): Promise<void>;
  /**
   * Check that every running task got the plan's CPU and memory limits.
   * @returns the number of tasks checked. @throws OperationError listing those that differ.
   */
  verifyLimits(plan: Plan): Promise<number>;

  /**
   * `nginx -t` then a graceful reload in every nginx task, through one queue. With `changes`, an
   * nginx.conf that the test rejects is put back from its backup first.
   * @throws NginxConfigError when the test fails; OperationError when nginx is not running.
   */
  reloadNginx(onProgress?: OnProgress, changes?: readonly FileChange[]): Promise<NginxReloadResult>;
  /**
   * Apply every changed file that can be applied live (nginx reload with revert, pg_reload_conf,
   * Redis CONFIG SET, Prometheus SIGHUP). Returns the PostgreSQL settings that still need a restart.
   */
  applyLiveConfig(plan: Plan, changes: FileChange[], onProgress: OnProgress): Promise<{ postgresPendingRestart: string[] }>;
}
