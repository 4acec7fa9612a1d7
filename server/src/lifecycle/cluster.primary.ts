/**
 * The cluster primary: forks WEB_CONCURRENCY web workers, replaces crashed ones with a backoff,
 * and on SIGTERM/SIGINT forwards SIGTERM to every worker and exits once they have exited.
 *
 * `docker stop` signals only PID 1 (this process, thanks to the exec-form CMD), so forwarding is
 * what lets the workers drain. The primary opens no database or Redis connection (apart from the
 * one-off PgBouncer self-check in main.ts); it merges the workers' metrics for /metrics over IPC.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { Config } from '../config/env.config.js';
import { startClusterMetricsAggregator } from '../observability/cluster-metrics.js';
import { installFatalHandlers, onTerminationSignal } from './process-guards.js';
import { nextCrashCount, restartDelayMs } from './restart-backoff.js';

/** The primary force-kills workers this long after SHUTDOWN_TIMEOUT_MS, in ms. */
export const PRIMARY_GRACE_MS = 5_000;

interface Slot {
  worker: Worker | null;
  startedAt: number;
  crashes: number;
  restartTimer: NodeJS.Timeout | null;
}

/** The primary's state: one slot per web worker, and whether it is shutting down. */
interface Primary {
  logger: Logger<string>;
  slots: Slot[];
  slotByWorkerId: Map<number, number>;
  shuttingDown: boolean;
  /** False once a worker exited non-zero during shutdown. */
  allClean: boolean;
}

/** Runs the primary until shutdown; then exits the process (0 if every worker exited 0). */
export function runClusterPrimary(config: Config, logger: Logger<string>): void {
  installFatalHandlers(logger);
  const registry = startClusterMetricsAggregator(logger);
  // A worker that dies outside shutdown (crash, heap limit, kill) is counted here, in the primary,
  // because the dead worker's own counters die with it.
  const restarts = new Counter<'reason'>({
    name: 'carebox_web_worker_restarts_total',
    help: 'Web workers that died outside shutdown and were replaced, by reason (exit code or signal).',
    labelNames: ['reason'],
    registers: [registry],
  });
  restarts.inc({ reason: 'signal' }, 0);
  restarts.inc({ reason: 'exit' }, 0);
  const primary: Primary = { logger, slots: [], slotByWorkerId: new Map(), shuttingDown: false, allClean: true };

  cluster.on('exit', (worker, code, signal) => onWorkerExit(primary, restarts, worker, code, signal));

  for (let i = 0; i < config.WEB_CONCURRENCY; i += 1) {
    primary.slots.push({ worker: null, startedAt: 0, crashes: 0, restartTimer: null });
    fork(primary, i);
  }
  logger.info({ workers: config.WEB_CONCURRENCY }, 'cluster primary started');

  onTerminationSignal(logger, (signal) => shutDown(primary, signal, config.SHUTDOWN_TIMEOUT_MS + PRIMARY_GRACE_MS));
}

/** Fork the web worker of slot `index`. */
function fork(primary: Primary, index: number): void {
  const slot = primary.slots[index]!;
  slot.restartTimer = null;
  const worker = cluster.fork();
  slot.worker = worker;
  slot.startedAt = Date.now();
  primary.slotByWorkerId.set(worker.id, index);
  primary.logger.info({ workerPid: worker.process.pid, slot: index }, 'web worker started');
}

function liveWorkers(primary: Primary): Worker[] {
  return primary.slots.flatMap((s) => (s.worker === null ? [] : [s.worker]));
}

/** Every worker exited during shutdown: exit 0 when each exited 0, else 1. */
function finish(primary: Primary): void {
  primary.logger.info({ clean: primary.allClean }, 'all web workers exited');
  process.exit(primary.allClean ? 0 : 1);
}

/** A worker exited: during shutdown, finish after the last; otherwise count it and restart its slot with a backoff. */
function onWorkerExit(primary: Primary, restarts: Counter<'reason'>, worker: Worker, code: number, signal: string): void {
  const { logger } = primary;
  const index = primary.slotByWorkerId.get(worker.id);
  primary.slotByWorkerId.delete(worker.id);
  if (index === undefined) return;
  const slot = primary.slots[index]!;
  slot.worker = null;
  if (primary.shuttingDown) {
    if (code !== 0) primary.allClean = false;
    logger.info({ workerPid: worker.process.pid, code, signal }, 'web worker exited');
    if (liveWorkers(primary).length === 0) finish(primary);
    return;
  }
  restarts.inc({ reason: signal ? 'signal' : 'exit' });
  const uptimeMs = Date.now() - slot.startedAt;
  slot.crashes = nextCrashCount(slot.crashes, uptimeMs);
  const delayMs = restartDelayMs(slot.crashes);
  logger.error(
    { workerPid: worker.process.pid, code, signal, uptimeMs, consecutiveCrashes: slot.crashes, restartInMs: delayMs },
    'web worker died; restarting',
  );
  slot.restartTimer = setTimeout(() => fork(primary, index), delayMs);
}

/** Cancel pending restarts, forward SIGTERM to every worker, and SIGKILL those still alive after `deadlineMs` (then exit 1). */
function shutDown(primary: Primary, signal: string, deadlineMs: number): void {
  const { logger } = primary;
  primary.shuttingDown = true;
  for (const slot of primary.slots) {
    if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
  }
  const workers = liveWorkers(primary);
  logger.info({ signal, workers: workers.length }, 'shutting down: forwarding SIGTERM to web workers');
  if (workers.length === 0) finish(primary);
  for (const worker of workers) worker.process.kill('SIGTERM');
  setTimeout(() => {
    const stragglers = liveWorkers(primary);
    logger.error({ workers: stragglers.map((w) => w.process.pid) }, 'web workers did not exit in time; killing them');
    for (const worker of stragglers) worker.process.kill('SIGKILL');
    process.exit(1);
  }, deadlineMs).unref();
}
