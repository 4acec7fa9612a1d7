/**
 * `carebox restart SERVICE`: rolling when the service has more than one replica (one container at
 * a time, each healthy again before the next; the others keep serving); a single backend or
 * worker is replaced new-before-old (surge); other single containers get a plain restart.
 * nginx keeps running throughout and is not reloaded for backend restarts: it re-resolves `backend`
 * in the background (`resolve` in its upstream), skips a draining replica after its first refused
 * connection, and a reload would close idle client keep-alive connections a client may be writing
 * on. `restart nginx` restarts nginx itself.
 */
import type { StepReporter } from '../../installer/apply/steps.js';
import { rollingReplace, rollingRestart, type RestartedContainer } from './rolling.js';
import { assertService, serviceContainers, step, withStackLock, type Stack } from './stack.js';

/** Stateless app services a single replica of which is restarted new-before-old (surge). */
export const SURGE_SERVICES: ReadonlySet<string> = new Set(['backend', 'worker']);
import { reloadNginx } from '../../installer/apply/nginx.reload.js';

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
 * Restart a service's containers, gated on health.
 * @throws UsageError for an unknown service; UnhealthyError (exit 4) when a restarted container
 *   does not become healthy (later containers are not touched); OperationError when another
 *   operation holds the stack lock.
 */
export async function restartService(stack: Stack, opts: RestartOptions, reporter: StepReporter): Promise<RestartResult> {
  assertService(stack.manifest, opts.service);
  return withStackLock(stack.root, `restart ${opts.service}`, async () => {
    const t0 = Date.now();
    const current = await serviceContainers(stack, opts.service);
    if (current.length === 1 && SURGE_SERVICES.has(opts.service)) {
      // One replica: start a second one, healthy first, then drain and remove the old one, so
      // nginx always has a backend to send to (no 503 window). The overlap's DB pool fits because
      // max_connections is the host's cap, sized above every tier's demand.
      const r = await step(
        reporter,
        'restart',
        `Restart ${opts.service} (surge: a new container before the old one stops)`,
        (progress) =>
          rollingReplace(stack, opts.service, {
            target: 1,
            replaceAll: true,
            timeoutMs: opts.timeoutMs,
            onProgress: progress,
          }),
        (x) => `replaced by a new healthy container in ${(x.tookMs / 1000).toFixed(1)} s`,
      );
      const fresh = await serviceContainers(stack, opts.service);
      return {
        service: opts.service,
        strategy: 'surge',
        containers: fresh.filter((c) => r.started.includes(c.id)).map((c) => ({ id: c.id, number: c.number, tookMs: r.tookMs })),
        tookMs: Date.now() - t0,
      };
    }
    const containers = await step(
      reporter,
      'restart',
      `Restart ${opts.service}`,
      (progress) => rollingRestart(stack, opts.service, { timeoutMs: opts.timeoutMs, onProgress: progress }),
      (r) => `${r.length} container(s) restarted and healthy${r.length > 1 ? ', one at a time' : ''}`,
    );
    if (opts.service === 'nginx') {
      await step(
        reporter,
        'nginx',
        'Reload nginx',
        (progress) => reloadNginx(stack.docker, stack.manifest.project, progress),
        () => 'nginx -t passed; reloaded',
      );
    }
    return { service: opts.service, strategy: containers.length > 1 ? 'rolling' : 'plain', containers, tookMs: Date.now() - t0 };
  });
}
