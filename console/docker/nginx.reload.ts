/**
 * nginx reloads, CapRover style: the rendered config is already swapped in on the host (atomic
 * rename, previous copy under backups/); here it is checked with `nginx -t` *inside the running
 * nginx container* (same binary, same paths, same DNS) and only then reloaded with
 * `nginx -s reload` (graceful: old workers finish their requests). Every reload in this process
 * goes through one queue, so two operations never interleave test and reload.
 */
import type Docker from 'dockerode';
import { OperationError } from '../../installer/errors.js';
import { listStackContainers } from '../../installer/apply/stack.containers.js';
import { execIn } from './container.exec.js';

/** Where the compose template mounts the install root's nginx/ directory. */
export const NGINX_CONF_IN_CONTAINER = '/etc/nginx/carebox/nginx.conf';

/** What a reload did. */
export interface NginxReloadResult {
  /** nginx containers tested and reloaded (normally 1). */
  containers: number;
}

/** `nginx -t` rejected the config: the message carries nginx's own words. */
export class NginxConfigError extends OperationError {
  constructor(readonly output: string) {
    super(`nginx -t rejected the new configuration:\n${output.trim().split('\n').slice(-8).join('\n')}`, 'the previous nginx.conf was put back and nginx keeps serving it; this is a Carebox bug if the file was rendered by Carebox');
  }
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Test and reload nginx in every running nginx container of the project, through the process-wide
 * reload queue.
 * @throws NginxConfigError when `nginx -t` fails (nothing is reloaded); OperationError when nginx
 *   is not running or the reload signal fails.
 */
export function reloadNginx(docker: Docker, project: string, onProgress: (m: string) => void = () => undefined): Promise<NginxReloadResult> {
  const run = queue.then(() => testAndReload(docker, project, onProgress));
  queue = run.catch(() => undefined);
  return run;
}

async function testAndReload(docker: Docker, project: string, onProgress: (m: string) => void): Promise<NginxReloadResult> {
  const nginx = (await listStackContainers(docker, project)).filter((c) => c.service === 'nginx' && c.state === 'running');
  if (nginx.length === 0) throw new OperationError('nginx is not running, so it cannot be reloaded', 'run `carebox status`; `carebox install` starts it again');
  for (const c of nginx) {
    const t = await execIn(docker, c.id, ['nginx', '-t', '-q', '-c', NGINX_CONF_IN_CONTAINER], { timeoutMs: 30_000 });
    if (t.code !== 0) throw new NginxConfigError(t.stderr || t.stdout);
    const r = await execIn(docker, c.id, ['nginx', '-s', 'reload', '-c', NGINX_CONF_IN_CONTAINER], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new OperationError(`nginx -s reload failed in nginx #${c.number} (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`, 'check `carebox logs nginx`');
    onProgress(`nginx #${c.number}: config test passed, reloaded`);
  }
  return { containers: nginx.length };
}
