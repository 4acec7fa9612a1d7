/**
 * `carebox restart SERVICE`: rolling when the service has more than one replica (one container at
 * a time, each healthy again before the next; the others keep serving); a single backend or
 * worker is replaced new-before-old (surge); other single containers get a plain restart.
 * nginx keeps running throughout and is not reloaded for backend restarts: it re-resolves `backend`
 * in the background (`resolve` in its upstream), skips a draining replica after its first refused
 * connection, and a reload would close idle client keep-alive connections a client may be writing
 * on. `restart nginx` restarts nginx itself.
 */
import { applyChange, type ChangeTarget } from '../../installer/apply/change.apply.js';
import type { Rollout } from '../../installer/apply/rollout.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { runtimeOf } from '../../installer/runtime/compose.runtime.js';
import type { RestartedContainer } from '../../installer/runtime/rolling.js';
import { assertService, type Stack } from './stack.js';

/** Stateless app services a single replica of which is restarted new-before-old (surge). */
export const SURGE_SERVICES: ReadonlySet<string> = new Set(['backend', 'worker']);

/** Options of {@link restartService}. */
export interface RestartOptions {
  service: string;
  /** Health wait per container, ms. */
  timeoutMs: number;
}

/** What a restart did. */
export interface RestartResult {
  service: string;
  /** rolling: one at a time; surge: a single replica replaced new-before-old; plain: a single container restarted in place. */
  strategy: 'rolling' | 'surge' | 'plain';
  containers: RestartedContainer[];
  tookMs: number;
}

/**
 * The rollout of a restart, from how many tasks the service has. Pure.
 * One backend or worker: a surge (a second task healthy first, then the old one drains and goes,
 * so nginx always has a backend to send to; the overlap's DB pool fits because max_connections is
 * the host's cap, sized above every tier's demand). Otherwise each task in place, one at a time;
 * nginx is then reloaded when it was nginx that restarted.
 */
export function restartRollout(service: string, tasks: number): Rollout {
  if (tasks === 1 && SURGE_SERVICES.has(service))
    return {
      steps: [{ id: 'restart', title: `Restart ${service} (surge: a new container before the old one stops)`, action: { kind: 'surge', service, target: 1 } }],
      restore: [],
      after: [],
    };
  return {
    steps: [{ id: 'restart', title: `Restart ${service}`, action: { kind: 'restart', service } }],
    restore: [],
    after: service === 'nginx' ? [{ id: 'nginx', title: 'Reload nginx', action: { kind: 'reload-nginx' } }] : [],
  };
}

/**
 * Restart a service's containers, gated on health. Runs through applyChange with
 * {@link restartRollout} (no files written, nothing recorded).
 * @throws UsageError for an unknown service; UnhealthyError (exit 4) when a restarted container
 *   does not become healthy (later containers are not touched); OperationError when another
 *   operation holds the stack lock.
 */
export async function restartService(stack: Stack, opts: RestartOptions, reporter: StepReporter): Promise<RestartResult> {
  assertService(stack.manifest, opts.service);
  const rt = runtimeOf(stack);
  const op = `restart ${opts.service}`;
  return rt.withLock(op, async () => {
    const t0 = Date.now();
    const rollout = restartRollout(opts.service, (await rt.tasks(opts.service)).length);
    const target: ChangeTarget = { op, plan: stack.manifest.plan, files: [], record: null, timeoutMs: opts.timeoutMs };
    const { outcomes } = await applyChange(rt, target, rollout, reporter);
    const done = outcomes.restart!;
    if (done.roll) {
      const r = done.roll;
      const fresh = await rt.tasks(opts.service);
      return {
        service: opts.service,
        strategy: 'surge',
        containers: fresh.filter((c) => r.started.includes(c.id)).map((c) => ({ id: c.id, number: c.number, tookMs: r.tookMs })),
        tookMs: Date.now() - t0,
      };
    }
    const containers = done.restarted ?? [];
    return { service: opts.service, strategy: containers.length > 1 ? 'rolling' : 'plain', containers, tookMs: Date.now() - t0 };
  });
}
