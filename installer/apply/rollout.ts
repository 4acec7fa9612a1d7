/**
 * A rollout: what a change does to the running services, as plain data. Each verb computes its
 * rollout with a pure function (console/ops/*.ops.ts, unit-tested); {@link runAction} carries
 * one action out on a {@link StackRuntime}, and applyChange (change.apply.ts) runs the whole
 * transaction around it.
 */
import type { Plan } from '../plan/plan.types.js';
import type { RestartedContainer, RollingReplaceResult } from '../runtime/rolling.js';
import type { FileChange } from './files.write.js';
import type { OnProgress, RedisLimits, StackRuntime } from '../runtime/stack.runtime.js';
import { OperationError } from '../errors.js';
import { findDrift, formatDrift } from '../runtime/compose.drift.js';

/** One thing done to the running services. */
export type RolloutAction =
  /**
   * Add tasks up to `replicas` without recreating the running ones: the tasks in `removeFirst`
   * (stopped leftovers, which `scale` would restart) are removed first; if the new tasks do not
   * become healthy they are removed again and the running ones keep serving. When the edge proxies
   * the service, waits until it routes to the new tasks.
   */
  | { kind: 'scale-up'; service: string; replicas: number; removeFirst: string[] }
  /** Stop (SIGTERM, the service's grace) and remove `remove`, then hold the service at `replicas`, healthy. */
  | { kind: 'scale-down'; service: string; replicas: number; remove: { id: string; number: number }[] }
  /** Replace every task of the service new-before-old and end at `target` tasks (a surge restart). */
  | { kind: 'surge'; service: string; target: number }
  /** Restart every task of the service in place, one at a time, each healthy before the next. */
  | { kind: 'restart'; service: string }
  /** `nginx -t` and a graceful reload (no file to put back). */
  | { kind: 'reload-nginx' }
  /** Start a service new in the plan (recreating nothing) and wait until it is healthy. */
  | { kind: 'start'; service: string }
  /** Recreate a service whose container configuration changed, alone (no dependencies), and wait healthy. */
  | { kind: 'recreate'; service: string }
  /** Bring a service in line with the files (its dependencies are current by then); no health wait. */
  | { kind: 'converge'; service: string }
  /** Stop and remove every task of a service the plan no longer has. */
  | { kind: 'remove'; service: string }
  /** Send a signal to every task of a service (`HUP`: PgBouncer re-reads its ini). */
  | { kind: 'signal'; service: string; signal: string }
  /**
   * pg_reload_conf(); the settings still pending a restart are observed for `db-restart`. With
   * `unlessRestarted`, nothing happens when this change already restarted PostgreSQL (a restore).
   */
  | { kind: 'pg-reload'; unlessRestarted?: boolean }
  /**
   * Restart PostgreSQL (or recreate it, `recreate`) when it needs it — a recreate, or settings
   * pending a restart after `pg-reload` — at the one point where the pools never exceed the running
   * max_connections: `before-roll` when the plan's `maxConnections` does not shrink, else `after-roll`.
   * A step with this action whose moment it is not is not run (nor reported).
   */
  | { kind: 'db-restart'; when: 'before-roll' | 'after-roll'; recreate: boolean; maxConnections: number }
  /** Set Redis maxclients for old and new clients at once: the most of what runs, the plan's, and both demands + 10. */
  | { kind: 'redis-overlap'; limits: RedisLimits; oldMaxClients: number; demandOld: number; demandNew: number }
  /** Set Redis limits live (CONFIG SET). */
  | { kind: 'redis-limits'; limits: RedisLimits }
  /** Replace the outdated tasks of a service new before old, ending at `target`, within `budget` while they overlap. */
  | { kind: 'roll'; service: string; target: number; budget: OverlapBudget | null }
  /**
   * Converge every service at these replica counts, wait until the whole stack is healthy, and
   * check that the engine sees no drift and every task has the plan's limits.
   */
  | { kind: 'settle'; replicas: Record<string, number>; expected: Record<string, number>; what: string }
  /** Apply the changed files live (nginx reload with revert, pg_reload_conf, Redis CONFIG SET, Prometheus). */
  | { kind: 'live-config' };

/**
 * The database connections while old and new tasks of one service overlap, checked against the
 * max_connections PostgreSQL runs with at that moment: fixed + PgBouncer's pool (when it runs) +
 * each task of `other` × its share + stale × perStale + fresh × perFresh ≤ max_connections.
 */
export interface OverlapBudget {
  /** Connections every plan reserves besides the app pools (console, migrations, superuser). */
  fixed: number;
  /** PgBouncer's server pool, counted while PgBouncer runs. */
  pgbouncerPool: number;
  /** The other app service, whose tasks hold their connections throughout. */
  other: { service: string; perTask: number };
  /** Direct connections of one old task and of one new task of the rolled service. */
  perStale: number;
  perFresh: number;
}

/** Whether `stale` old and `fresh` new tasks fit the budget. Pure. */
export function overlapFits(b: OverlapBudget, running: { pgbouncer: boolean; other: number; maxConnections: number }, stale: number, fresh: number): boolean {
  return (
    b.fixed + (running.pgbouncer ? b.pgbouncerPool : 0) + running.other * b.other.perTask + stale * b.perStale + fresh * b.perFresh <= running.maxConnections
  );
}

/** One reported step of a rollout. */
export interface RolloutStep {
  /** Step id for the reporter (and the key of its outcome). */
  id: string;
  /** `{liveMaxConnections}` is replaced by the running max_connections observed before the step. */
  title: string;
  action: RolloutAction;
  /** Run without reporting a step (a signal or a converge that is part of a larger move). */
  quiet?: boolean;
}

/** What a change does to the running services. */
export interface Rollout {
  /** In order; the first failure stops the rollout, and applyChange puts the files back and runs `restore`. */
  steps: RolloutStep[];
  /** Run after the files are put back when a step failed, best effort (errors ignored), in order. */
  restore: RolloutAction[];
  /** Run after the rollout succeeded; a failure here does not undo it (the new state is in place). */
  after: RolloutStep[];
}

/** What one action did: the reporter's summary line and, per kind, what callers report. */
export interface ActionOutcome {
  summary: string;
  /** `surge`: the roll's result. */
  roll?: RollingReplaceResult;
  /** `restart`: each restarted task. */
  restarted?: RestartedContainer[];
}

/** What a rollout learns while it runs, for later steps, the restore and the caller. */
export interface Observed {
  /** PostgreSQL settings pending a restart after `pg-reload`. */
  pgPending: string[];
  /** The max_connections PostgreSQL ran with when the restart was decided. */
  liveMaxConnections: number | null;
  /** When PostgreSQL is restarted in this change (decided at the first `db-restart`), or null. */
  dbRestartAt: 'before-roll' | 'after-roll' | null;
  /** The restart that happened: when, and how long the database was unavailable, ms. */
  dbRestarted: { when: 'before-roll' | 'after-roll'; downtimeMs: number } | null;
}

/** A fresh {@link Observed}. */
export function observedNothing(): Observed {
  return { pgPending: [], liveMaxConnections: null, dbRestartAt: null, dbRestarted: null };
}

/** What an action needs besides the runtime. */
export interface ActionContext {
  /** Filled in as the rollout runs. */
  observed: Observed;
  /** Health wait for new or restarted tasks, ms. */
  timeoutMs: number;
  /** The plan being applied (live config reads its Redis limits). */
  plan: Plan;
  /** The files written for this change (live config applies the changed ones). */
  changes: FileChange[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Carry out one action on `rt`.
 * @throws what the runtime throws (UnhealthyError, NginxConfigError, OperationError,
 *   ExternalCommandError); a failed `scale-up` has removed its new tasks first.
 */
export async function runAction(rt: StackRuntime, action: RolloutAction, ctx: ActionContext, progress: OnProgress): Promise<ActionOutcome> {
  switch (action.kind) {
    case 'scale-up':
      return scaleUp(rt, action, ctx, progress);
    case 'scale-down': {
      const grace = rt.stopGraceSeconds(action.service);
      for (const v of action.remove) {
        progress(`${action.service} #${v.number}: stopping (SIGTERM, drain up to ${grace} s) and removing`);
        await rt.removeTask(v.id, grace);
      }
      await rt.scale(action.service, action.replicas);
      const ids = (await rt.tasks(action.service)).map((c) => c.id);
      await rt.waitHealthy(ids, { timeoutMs: ctx.timeoutMs, what: `${action.service} ×${action.replicas}`, onProgress: progress });
      return { summary: `${action.remove.length} container(s) stopped and removed; ${action.replicas} healthy` };
    }
    case 'surge': {
      const roll = await rt.roll(action.service, { target: action.target, replaceAll: true, timeoutMs: ctx.timeoutMs, onProgress: progress });
      return { summary: `replaced by a new healthy container in ${(roll.tookMs / 1000).toFixed(1)} s`, roll };
    }
    case 'restart': {
      const restarted = await rt.restartTasks(action.service, { timeoutMs: ctx.timeoutMs, onProgress: progress });
      return { summary: `${restarted.length} container(s) restarted and healthy${restarted.length > 1 ? ', one at a time' : ''}`, restarted };
    }
    case 'reload-nginx':
      await rt.reloadNginx(progress);
      return { summary: 'nginx -t passed; reloaded' };
    case 'live-config':
      // No reload for the backends themselves: nginx re-resolves `backend` in the background
      // (`resolve`, every few seconds), and a reload would close idle client keep-alive connections
      // a client may be writing on. applyLiveConfig reloads when nginx.conf itself changed.
      await rt.applyLiveConfig(ctx.plan, ctx.changes, progress);
      return { summary: 'applied' };
    case 'start':
      await rt.start(action.service);
      await rt.waitHealthy(
        (await rt.tasks(action.service)).map((c) => c.id),
        { timeoutMs: ctx.timeoutMs, what: action.service, onProgress: progress },
      );
      return { summary: `${action.service} healthy` };
    case 'recreate':
      await rt.recreate(action.service, { deps: false });
      await rt.waitHealthy(
        (await rt.tasks(action.service)).map((c) => c.id),
        { timeoutMs: ctx.timeoutMs, what: action.service, onProgress: progress },
      );
      return { summary: action.service === 'nginx' ? 'nginx recreated and healthy' : `${action.service} healthy` };
    case 'converge':
      await rt.recreate(action.service, { deps: true });
      return { summary: `${action.service} converged` };
    case 'remove': {
      const grace = rt.stopGraceSeconds(action.service);
      for (const c of await rt.tasks(action.service)) await rt.removeTask(c.id, grace);
      return { summary: 'removed' };
    }
    case 'signal':
      await rt.signal(action.service, action.signal);
      return { summary: `${action.service}: ${action.signal} sent` };
    case 'pg-reload': {
      if (action.unlessRestarted && ctx.observed.dbRestarted) return { summary: 'PostgreSQL already runs the new settings' };
      const pending = await rt.reloadPostgres();
      ctx.observed.pgPending = pending;
      return { summary: pending.length ? `reloaded; restart needed for ${pending.join(', ')}` : 'all settings applied live' };
    }
    case 'db-restart':
      return restartDb(rt, action, ctx, progress);
    case 'redis-overlap': {
      const running = (await rt.redisMaxClients()) ?? action.oldMaxClients;
      const overlap = Math.max(running, action.limits.maxClients, action.demandOld + action.demandNew + 10);
      await rt.setRedisLimits({ ...action.limits, maxClients: overlap });
      return { summary: `maxclients ${overlap} while old and new clients overlap` };
    }
    case 'redis-limits':
      await rt.setRedisLimits(action.limits);
      return { summary: `maxclients ${action.limits.maxClients}` };
    case 'roll':
      return roll(rt, action, ctx, progress);
    case 'settle': {
      await rt.settle(action.replicas);
      await rt.waitHealthy(
        (await rt.tasks()).map((c) => c.id),
        { timeoutMs: ctx.timeoutMs, what: 'the stack', onProgress: progress },
      );
      const drift = findDrift(await rt.tasks(), await rt.configHashes(), action.expected);
      if (drift.length > 0)
        throw new OperationError(
          `after the ${action.what} Compose still sees drift: ${formatDrift(drift)}`,
          'run `carebox install --yes` to converge (it recreates what differs)',
        );
      const n = await rt.verifyLimits(ctx.plan);
      return { summary: `no drift; ${n} containers run with the planned limits` };
    }
  }
}

/**
 * Whether a step runs now: a `db-restart` runs only at its moment (decided, once, at the first
 * one: PostgreSQL needs a restart, and max_connections grows → before the roll, shrinks → after);
 * every other step always runs. Reads the running max_connections the first time.
 */
export async function stepIsDue(rt: StackRuntime, action: RolloutAction, ctx: ActionContext): Promise<boolean> {
  if (action.kind !== 'db-restart') return true;
  const o = ctx.observed;
  if (o.liveMaxConnections === null) {
    o.liveMaxConnections = await rt.postgresMaxConnections();
    const needs = action.recreate || o.pgPending.length > 0;
    o.dbRestartAt = needs ? (action.maxConnections >= o.liveMaxConnections ? 'before-roll' : 'after-roll') : null;
  }
  return o.dbRestartAt === action.when && o.dbRestarted === null;
}

async function restartDb(
  rt: StackRuntime,
  action: Extract<RolloutAction, { kind: 'db-restart' }>,
  ctx: ActionContext,
  progress: OnProgress,
): Promise<ActionOutcome> {
  const t = Date.now();
  const [db] = await rt.tasks('db');
  if (action.recreate || !db) {
    progress('recreating db with its new container config (PostgreSQL fast shutdown, same data volume)');
    await rt.recreate('db', { deps: false });
    await rt.waitHealthy(
      (await rt.tasks('db')).map((c) => c.id),
      { timeoutMs: ctx.timeoutMs, what: 'db', onProgress: progress },
    );
  } else {
    progress('restarting PostgreSQL (fast shutdown) to apply postmaster settings');
    await rt.restartTasks('db', { timeoutMs: ctx.timeoutMs, onProgress: progress });
  }
  const downtimeMs = Date.now() - t;
  ctx.observed.dbRestarted = { when: action.when, downtimeMs };
  return { summary: `PostgreSQL back in ${(downtimeMs / 1000).toFixed(1)} s` };
}

async function roll(rt: StackRuntime, action: Extract<RolloutAction, { kind: 'roll' }>, ctx: ActionContext, progress: OnProgress): Promise<ActionOutcome> {
  const b = action.budget;
  let fits: ((stale: number, fresh: number) => boolean) | undefined;
  if (b) {
    // What runs now bounds how many old and new tasks may run at once.
    const running = {
      maxConnections: await rt.postgresMaxConnections(),
      pgbouncer: (await rt.tasks('pgbouncer')).length > 0,
      other: (await rt.tasks(b.other.service)).length,
    };
    fits = (stale, fresh) => overlapFits(b, running, stale, fresh);
  }
  const r = await rt.roll(action.service, { target: action.target, timeoutMs: ctx.timeoutMs, onProgress: progress, ...(fits ? { fits } : {}) });
  return { summary: `${r.started.length} started, ${r.removed.length} stopped, ${(r.tookMs / 1000).toFixed(1)} s`, roll: r };
}

async function scaleUp(
  rt: StackRuntime,
  action: Extract<RolloutAction, { kind: 'scale-up' }>,
  ctx: ActionContext,
  progress: OnProgress,
): Promise<ActionOutcome> {
  const { service, replicas } = action;
  const before = new Set((await rt.tasks(service)).map((c) => c.id));
  for (const id of action.removeFirst) await rt.removeTask(id, 0);
  const serving = before.size - action.removeFirst.length;
  await rt.scale(service, replicas, { onProgress: progress });
  const all = await rt.tasks(service);
  const added = all.filter((c) => !before.has(c.id)).map((c) => c.id);
  try {
    await rt.waitHealthy(
      all.map((c) => c.id),
      { timeoutMs: ctx.timeoutMs, what: `${service} ×${replicas}`, onProgress: progress },
    );
  } catch (err) {
    progress(`removing the ${added.length} new container(s); ${serving} keep serving`);
    for (const id of added) await rt.removeTask(id, 0).catch(() => undefined);
    throw err;
  }
  // The edge may have tried a new task before it listened (it is in Docker's DNS from its start)
  // and skips it for fail_timeout; nginx is not reloaded for a scale, so wait that out: when this
  // returns, every task gets traffic.
  const settle = rt.edgeSettleMs(service);
  if (added.length > 0 && settle > 0) {
    progress(`waiting ${(settle / 1000).toFixed(0)} s until nginx routes to the new replica(s)`);
    await sleep(settle);
  }
  return { summary: `${added.length} container(s) added; ${replicas} healthy` };
}
