/**
 * nginx reloads, CapRover style: the rendered config is already swapped in on the host (atomic
 * rename, previous copy under backups/); here it is checked with `nginx -t` *inside the running
 * nginx container* (same binary, same paths, same DNS) and only then reloaded with
 * `nginx -s reload` (graceful: old workers finish their requests). Every reload in this process
 * goes through one queue, so two operations never interleave test and reload.
 */
import type Docker from 'dockerode';
import { join } from 'node:path';
import { OperationError } from '../errors.js';
import { CONTAINER_PATHS, INSTALL_FILES } from '../paths.js';
import type { FileChange } from '../apply/files.write.js';
import { readIfExists, writeFileAtomic } from '../apply/fs.atomic.js';
import { listStackContainers } from './stack.containers.js';
import { execIn } from './container.exec.js';

/** Where the nginx container sees nginx.conf (installer/paths.ts). */
export const NGINX_CONF_IN_CONTAINER = CONTAINER_PATHS.nginxConf;

/** What a reload did. */
export interface NginxReloadResult {
  /** nginx containers tested and reloaded (normally 1). */
  containers: number;
}

/**
 * `nginx -t` rejected the config: the message carries nginx's own words. nginx was not reloaded, so
 * it keeps serving what it loaded before; `reverted` says whether the previous nginx.conf is back on
 * disk too (else the rejected file stays there, and an nginx restart would fail on it).
 */
export class NginxConfigError extends OperationError {
  constructor(
    readonly output: string,
    readonly reverted = false,
  ) {
    super(
      `nginx -t rejected the new configuration:\n${output.trim().split('\n').slice(-8).join('\n')}`,
      reverted
        ? 'the previous nginx.conf was put back and nginx keeps serving it; this is a Carebox bug if the file was rendered by Carebox'
        : 'nginx keeps serving the configuration it loaded before, but the rejected file is on disk: rerun the operation that wrote it (or put back nginx/nginx.conf from backups/config-*/) before nginx restarts',
    );
  }
}

/** The previous content of nginx.conf, to put back when `nginx -t` rejects the new one. */
export interface NginxRevert {
  /** The install root. */
  root: string;
  /** nginx.conf as it was before the change. */
  content: string;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Test and reload nginx in every running nginx container of the project, through the process-wide
 * reload queue. With `revert`, a config that `nginx -t` rejects is replaced by the previous one on
 * disk before the error is thrown.
 * @throws NginxConfigError when `nginx -t` fails (nothing is reloaded; `reverted` says whether the
 *   old file is back); OperationError when nginx is not running or the reload signal fails.
 */
export function reloadNginx(
  docker: Docker,
  project: string,
  onProgress: (m: string) => void = () => undefined,
  revert?: NginxRevert,
): Promise<NginxReloadResult> {
  const run = queue.then(() =>
    testAndReload(docker, project, onProgress).catch(async (err: unknown) => {
      if (!(err instanceof NginxConfigError) || !revert) throw err;
      await writeFileAtomic(join(revert.root, INSTALL_FILES.nginx), revert.content, 0o644);
      throw new NginxConfigError(err.output, true);
    }),
  );
  queue = run.catch(() => undefined);
  return run;
}

/**
 * Test and reload nginx after `changes` were written; when `nginx -t` rejects the new nginx.conf,
 * the previous version is put back from its backup (the FileChange says where) before the error.
 * @throws as {@link reloadNginx}.
 */
export async function reloadNginxOrRevert(
  docker: Docker,
  stack: { root: string; project: string },
  changes: readonly FileChange[],
  onProgress: (m: string) => void = () => undefined,
): Promise<NginxReloadResult> {
  const backup = changes.find((x) => x.path === INSTALL_FILES.nginx && x.status === 'updated')?.backup;
  const content = backup ? await readIfExists(join(stack.root, backup)) : null;
  return reloadNginx(docker, stack.project, onProgress, content === null ? undefined : { root: stack.root, content });
}

async function testAndReload(docker: Docker, project: string, onProgress: (m: string) => void): Promise<NginxReloadResult> {
  const nginx = (await listStackContainers(docker, project)).filter((c) => c.service === 'nginx' && c.state === 'running');
  if (nginx.length === 0) throw new OperationError('nginx is not running, so it cannot be reloaded', 'run `carebox status`; `carebox install` starts it again');
  for (const c of nginx) {
    const t = await execIn(docker, c.id, ['nginx', '-t', '-q', '-c', NGINX_CONF_IN_CONTAINER], { timeoutMs: 30_000 });
    if (t.code !== 0) throw new NginxConfigError(t.stderr || t.stdout);
    const r = await execIn(docker, c.id, ['nginx', '-s', 'reload', '-c', NGINX_CONF_IN_CONTAINER], { timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new OperationError(
        `nginx -s reload failed in nginx #${c.number} (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`,
        'check `carebox logs nginx`',
      );
    onProgress(`nginx #${c.number}: config test passed, reloaded`);
  }
  return { containers: nginx.length };
}
