/**
 * The Compose implementation of {@link StackRuntime}: the Docker API (dockerode) for tasks,
 * health, exec and logs; the Compose CLI (v2 `docker compose` or v1 `docker-compose`) for
 * scaling and converging; the install root's lock file for serializing operations.
 */
import type { FileChange } from '../apply/files.write.js';
import type { ExecResult } from '../apply/exec.js';
import { verifyLimits } from '../apply/limits.verify.js';
import { OperationError } from '../errors.js';
import type { Plan } from '../plan/plan.types.js';
import { configHashes } from './compose.drift.js';
import { serviceContainers, type Stack } from './compose.stack.js';
import { execIn, type ExecInOptions, type ExecOutput } from './container.exec.js';
import { containerLogTail } from './container.logs.js';
import { applyLiveConfig, reloadPostgresConf, runningMaxConnections, runningRedisMaxClients, setRedisLimits } from './live.config.js';
import { reloadNginx, reloadNginxOrRevert, type NginxReloadResult } from './nginx.reload.js';
import {
  edgeSettleMs,
  rollingReplace,
  rollingRestart,
  stopAndRemove,
  stopGraceSeconds,
  waitContainersHealthy,
  type RestartedContainer,
  type RollingReplaceResult,
} from './rolling.js';
import { DIRECT_DB_ENV, serverCommand, type SERVER_SCRIPTS } from './server.cli.js';
import { listStackContainers } from './stack.containers.js';
import { withStackLock } from './stack.lock.js';
import type { OnProgress, RedisLimits, RollOptions, ServiceTask, StackRuntime } from './stack.runtime.js';

/** Compose's own timeout for `up` and `run`, ms. */
const COMPOSE_UP_TIMEOUT_MS = 10 * 60_000;

/** A stack run by Docker Compose on one host. Cheap to build: it holds the {@link Stack} and nothing else. */
export class ComposeRuntime implements StackRuntime {
  constructor(readonly stack: Stack) {}

  get root(): string {
    return this.stack.root;
  }

  get project(): string {
    return this.stack.manifest.project;
  }

  withLock<T>(op: string, fn: () => Promise<T>): Promise<T> {
    return withStackLock(this.stack.root, op, fn);
  }

  async tasks(service?: string): Promise<ServiceTask[]> {
    return service === undefined ? listStackContainers(this.stack.docker, this.project) : serviceContainers(this.stack, service);
  }

  configHashes(): Promise<Record<string, string>> {
    return configHashes(this.stack.compose);
  }

  stopGraceSeconds(service: string): number {
    return stopGraceSeconds(this.stack.root, service);
  }

  edgeSettleMs(service: string): number {
    return edgeSettleMs(this.stack, service);
  }

  async scale(service: string, replicas: number, opts: { onProgress?: OnProgress } = {}): Promise<void> {
    const progress = opts.onProgress;
    await this.stack.compose.run(['up', '-d', '--no-recreate', '--scale', `${service}=${replicas}`, service], {
      timeoutMs: COMPOSE_UP_TIMEOUT_MS,
      ...(progress
        ? {
            onOutput: (s: string) =>
              s
                .split('\n')
                .filter((l) => l.trim())
                .forEach((l) => progress(l.trim())),
          }
        : {}),
    });
  }

  async start(service: string): Promise<void> {
    await this.stack.compose.run(['up', '-d', '--no-recreate', service], { timeoutMs: COMPOSE_UP_TIMEOUT_MS });
  }

  async recreate(service: string, opts: { deps: boolean }): Promise<void> {
    await this.stack.compose.run(['up', '-d', ...(opts.deps ? [] : ['--no-deps']), service], { timeoutMs: COMPOSE_UP_TIMEOUT_MS });
  }

  async signal(service: string, signal: string): Promise<void> {
    for (const c of await this.tasks(service)) await this.stack.docker.getContainer(c.id).kill({ signal });
  }

  async settle(replicas: Record<string, number>): Promise<void> {
    const scale = Object.entries(replicas).flatMap(([svc, n]) => ['--scale', `${svc}=${n}`]);
    await this.stack.compose.run(['up', '-d', '--no-recreate', '--remove-orphans', ...scale], { timeoutMs: COMPOSE_UP_TIMEOUT_MS });
  }

  removeTask(id: string, graceS: number): Promise<void> {
    return stopAndRemove(this.stack.docker, id, graceS);
  }

  waitHealthy(ids: string[], opts: { timeoutMs: number; what: string; onProgress?: OnProgress }): Promise<void> {
    return waitContainersHealthy(this.stack.docker, ids, opts);
  }

  roll(service: string, opts: RollOptions): Promise<RollingReplaceResult> {
    return rollingReplace(this.stack, service, opts);
  }

  restartTasks(service: string, opts: { timeoutMs: number; onProgress?: OnProgress }): Promise<RestartedContainer[]> {
    return rollingRestart(this.stack, service, opts);
  }

  async exec(service: string, argv: string[], opts: ExecInOptions = {}): Promise<ExecOutput> {
    const [task] = (await this.tasks(service)).filter((c) => c.state === 'running');
    if (!task) throw new OperationError(`${service} is not running`, 'run `carebox status`; `carebox install` starts it again');
    return execIn(this.stack.docker, task.id, argv, opts);
  }

  logTail(taskId: string, tail: number): Promise<string> {
    return containerLogTail(this.stack.docker, taskId, tail);
  }

  runServer(
    script: keyof typeof SERVER_SCRIPTS,
    args: readonly string[],
    opts: { env?: Record<string, string>; onOutput?: (s: string) => void; input?: string } = {},
  ): Promise<ExecResult> {
    return this.stack.compose.runOnce(
      'backend',
      serverCommand(script, args),
      { ...DIRECT_DB_ENV, ...opts.env },
      opts.onOutput,
      opts.input === undefined ? {} : { input: opts.input },
    );
  }

  async reloadPostgres(): Promise<string[]> {
    const [db] = (await this.tasks('db')).filter((c) => c.state === 'running');
    if (!db) throw new OperationError('db is not running', 'run `carebox status`; `carebox install` starts it');
    return reloadPostgresConf(this.stack.docker, db.id);
  }

  async postgresMaxConnections(): Promise<number> {
    const [db] = (await this.tasks('db')).filter((c) => c.state === 'running');
    if (!db) throw new OperationError('db is not running', 'run `carebox status`; `carebox install` starts it');
    return runningMaxConnections(this.stack.docker, db.id);
  }

  redisMaxClients(): Promise<number | null> {
    return runningRedisMaxClients(this.stack);
  }

  setRedisLimits(limits: RedisLimits): Promise<void> {
    return setRedisLimits(this.stack, limits);
  }

  verifyLimits(plan: Plan): Promise<number> {
    return verifyLimits(this.stack.docker, this.project, plan);
  }

  reloadNginx(onProgress: OnProgress = () => undefined, changes?: readonly FileChange[]): Promise<NginxReloadResult> {
    return changes
      ? reloadNginxOrRevert(this.stack.docker, { root: this.root, project: this.project }, changes, onProgress)
      : reloadNginx(this.stack.docker, this.project, onProgress);
  }

  applyLiveConfig(plan: Plan, changes: FileChange[], onProgress: OnProgress): Promise<{ postgresPendingRestart: string[] }> {
    return applyLiveConfig(this.stack, plan, changes, onProgress);
  }
}

/** The runtime of an opened stack: the Compose one (the only one so far). */
export function runtimeOf(stack: Stack): StackRuntime {
  return new ComposeRuntime(stack);
}
