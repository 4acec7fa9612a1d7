/**
 * A fake StackRuntime for unit tests of applyChange and the rollouts. It is a fake, not Docker:
 * tasks live in memory, every call is recorded in order, and any method can be made to fail on its
 * n-th call. That is the point: the transaction's promise is that a failure at *any* step puts
 * everything back, and only a fake can fail each step on demand in milliseconds. The e2e suite
 * (test/e2e/scale, retier) proves the same verbs on the real engine.
 */
import type { ServiceTask, StackRuntime } from '../../../installer/runtime/stack.runtime.js';
import { UnhealthyError } from '../../../installer/errors.js';

type Method = keyof StackRuntime;

/** One task as the fake holds it. */
export function task(service: string, number: number, state = 'running', id = `${service}-${number}`): ServiceTask {
  return {
    id,
    name: `p-${service}-${number}`,
    service,
    number,
    state,
    health: 'healthy',
    image: 'x',
    created: 0,
    status: state === 'running' ? 'Up (healthy)' : 'Exited (0)',
    oneoff: false,
    configHash: 'h',
  };
}

/** A fake runtime: in-memory tasks, a call log, and failures injected by method and call number. */
export class FakeRuntime implements StackRuntime {
  readonly project = 'fake';
  /** `method args…` per call, in order. */
  readonly calls: string[] = [];
  private readonly failures = new Map<string, { at: number; error: Error }>();
  private readonly counts = new Map<string, number>();
  private nextId = 100;
  lockTaken = 0;

  constructor(
    readonly root: string,
    public taskList: ServiceTask[] = [],
  ) {}

  /** Make the `at`-th call (1-based) of `method` throw `error`. */
  failOn(method: Method, at = 1, error: Error = new UnhealthyError(`${String(method)} failed (injected)`)): this {
    this.failures.set(method, { at, error });
    return this;
  }

  private hit(method: Method, ...args: unknown[]): void {
    const n = (this.counts.get(method) ?? 0) + 1;
    this.counts.set(method, n);
    this.calls.push([method, ...args.map((a) => (typeof a === 'object' ? JSON.stringify(a) : String(a)))].join(' '));
    const f = this.failures.get(method);
    if (f && f.at === n) throw f.error;
  }

  async withLock<T>(op: string, fn: () => Promise<T>): Promise<T> {
    this.lockTaken++;
    this.calls.push(`withLock ${op}`);
    return fn();
  }
  async tasks(service?: string): Promise<ServiceTask[]> {
    return this.taskList.filter((t) => service === undefined || t.service === service);
  }
  async configHashes(): Promise<Record<string, string>> {
    this.hit('configHashes');
    return {};
  }
  stopGraceSeconds(): number {
    return 7;
  }
  edgeSettleMs(): number {
    return 0;
  }
  async scale(service: string, replicas: number): Promise<void> {
    this.hit('scale', service, replicas);
    const mine = this.taskList.filter((t) => t.service === service);
    for (let i = mine.length; i < replicas; i++) {
      const number = Math.max(0, ...mine.map((t) => t.number)) + 1 + (i - mine.length);
      this.taskList.push(task(service, number, 'running', `${service}-new-${this.nextId++}`));
    }
  }
  async start(service: string): Promise<void> {
    this.hit('start', service);
    if (!this.taskList.some((t) => t.service === service)) this.taskList.push(task(service, 1));
  }
  async recreate(service: string, opts: { deps: boolean }): Promise<void> {
    this.hit('recreate', service, opts.deps ? 'deps' : 'no-deps');
  }
  async signal(service: string, signal: string): Promise<void> {
    this.hit('signal', service, signal);
  }
  /** What postgresMaxConnections answers (the running max_connections). */
  maxConnections = 100;
  /** What reloadPostgres answers (settings pending a restart). */
  pending: string[] = [];
  async postgresMaxConnections(): Promise<number> {
    this.hit('postgresMaxConnections');
    return this.maxConnections;
  }
  async redisMaxClients(): Promise<number | null> {
    return 50;
  }
  async setRedisLimits(limits: { maxClients: number }): Promise<void> {
    this.hit('setRedisLimits', limits.maxClients);
  }
  async verifyLimits(): Promise<number> {
    this.hit('verifyLimits');
    return this.taskList.length;
  }
  async settle(replicas: Record<string, number>): Promise<void> {
    this.hit('settle', replicas);
  }
  async removeTask(id: string, graceS: number): Promise<void> {
    this.hit('removeTask', id, graceS);
    this.taskList = this.taskList.filter((t) => t.id !== id);
  }
  async waitHealthy(ids: string[]): Promise<void> {
    this.hit('waitHealthy', ids.length);
  }
  async roll(service: string, opts: { target: number }) {
    this.hit('roll', service, opts.target);
    return { service, started: [`${service}-rolled`], removed: [], tookMs: 1500 };
  }
  async restartTasks(service: string) {
    this.hit('restartTasks', service);
    return this.taskList.filter((t) => t.service === service).map((t) => ({ id: t.id, number: t.number, tookMs: 1 }));
  }
  async exec(service: string, argv: string[]) {
    this.hit('exec', service, argv.join(' '));
    return { code: 0, stdout: '', stderr: '' };
  }
  async logTail(): Promise<string> {
    return '';
  }
  async runServer(script: string) {
    this.hit('runServer', script);
    return { code: 0, stdout: '', stderr: '' };
  }
  async reloadPostgres(): Promise<string[]> {
    this.hit('reloadPostgres');
    return this.pending;
  }
  async reloadNginx() {
    this.hit('reloadNginx');
    return { containers: 1 };
  }
  async applyLiveConfig() {
    this.hit('applyLiveConfig');
    return { postgresPendingRestart: [] };
  }
}
