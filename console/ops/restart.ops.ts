/**
 * `carebox restart SERVICE`: rolling when the service has more than one replica (one container at
 * a time, each healthy again before the next; the others keep serving), otherwise a plain restart.
 * nginx keeps running throughout; after backends restart it is reloaded so it drops any address
 * it cached for them (it also re-resolves every 5 s on its own).
 */
import type { StepReporter } from '../../installer/apply/steps.js';
import { rollingRestart, type RestartedContainer } from './rolling.js';
import { assertService, step, withStackLock, type Stack } from './stack.js';
import { reloadNginx } from '../docker/nginx.reload.js';

/** Options of {@link restartService}. */
export interface RestartOptions {
  service: string;
  /** Health wait per container, ms. */
  timeoutMs: number;
}

/** What a restart did. */
export interface RestartResult {
  service: string;
  strategy: 'rolling' | 'plain';
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
    const containers = await step(
      reporter,
      'restart',
      `Restart ${opts.service}`,
      (progress) => rollingRestart(stack, opts.service, { timeoutMs: opts.timeoutMs, onProgress: progress }),
      (r) => `${r.length} container(s) restarted and healthy${r.length > 1 ? ', one at a time' : ''}`,
    );
    if (opts.service === 'backend' || opts.service === 'nginx') {
      await step(reporter, 'nginx', 'Reload nginx', (progress) => reloadNginx(stack.docker, stack.manifest.project, progress), () => 'nginx -t passed; reloaded');
    }
    return { service: opts.service, strategy: containers.length > 1 ? 'rolling' : 'plain', containers, tookMs: Date.now() - t0 };
  });
}
