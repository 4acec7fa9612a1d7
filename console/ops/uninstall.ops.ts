import { rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { ComposeCli } from '../../installer/runtime/compose.cli.js';
import { LABEL_PROJECT } from '../../installer/runtime/stack.containers.js';
import type { ComposeFact } from '../../installer/detect/host-facts.js';

/** What uninstall removed. */
export interface UninstallResult {
  containers: number;
  networks: number;
  volumes: number;
  rootRemoved: boolean;
}

/** Containers (any state), networks and volumes that carry the Compose project label `project`. */
export async function projectResources(docker: Docker, project: string): Promise<{ containers: number; networks: number; volumes: number }> {
  const label = `${LABEL_PROJECT}=${project}`;
  const [c, n, v] = await Promise.all([
    docker.listContainers({ all: true, filters: { label: [label] } }),
    docker.listNetworks({ filters: { label: [label] } }),
    docker.listVolumes({ filters: { label: [label] } }),
  ]);
  return { containers: c.length, networks: n.length, volumes: (v.Volumes ?? []).length };
}

/**
 * Whether `root` holds the files `carebox install` renders before anything else (compose.yml that
 * names Carebox's services and .env), i.e. an install that failed before writing carebox.json.
 */
export function looksLikeCareboxRoot(root: string): boolean {
  const composeFile = join(root, 'compose.yml');
  if (!existsSync(composeFile) || !existsSync(join(root, '.env'))) return false;
  try {
    return /carebox/i.test(readFileSync(composeFile, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Stop and remove the stack: `compose down` when compose.yml is there, then a sweep by the
 * project label for anything left (a hand-deleted compose.yml, one-off containers).
 * Data volumes are kept unless `purge`; the install root is deleted only with `purge` and
 * `removeRoot` (default true; the command passes false for a directory that is not a Carebox root).
 */
export async function uninstallStack(
  docker: Docker,
  compose: ComposeFact,
  project: string,
  root: string,
  opts: { purge: boolean; removeRoot?: boolean; env?: NodeJS.ProcessEnv; onProgress?: (m: string) => void },
): Promise<UninstallResult> {
  const label = `${LABEL_PROJECT}=${project}`;
  const result: UninstallResult = { containers: 0, networks: 0, volumes: 0, rootRemoved: false };
  const before = await docker.listContainers({ all: true, filters: { label: [label] } });
  const networksBefore = await docker.listNetworks({ filters: { label: [label] } });
  const volumesBefore = opts.purge ? ((await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []) : [];
  if (existsSync(join(root, 'compose.yml')) && existsSync(join(root, '.env'))) {
    opts.onProgress?.('docker compose down');
    await new ComposeCli(compose, project, root, opts.env).down({
      volumes: opts.purge,
      onOutput: (s) =>
        s
          .split('\n')
          .filter(Boolean)
          .forEach((l) => opts.onProgress?.(l.trim())),
    });
  }
  for (const c of await docker.listContainers({ all: true, filters: { label: [label] } })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
  result.containers = before.length;
  for (const n of await docker.listNetworks({ filters: { label: [label] } })) await docker.getNetwork(n.Id).remove();
  result.networks = networksBefore.length;
  if (opts.purge) {
    for (const v of (await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []) await docker.getVolume(v.Name).remove({ force: true });
    result.volumes = volumesBefore.length;
    if (opts.removeRoot ?? true) {
      await rm(root, { recursive: true, force: true });
      result.rootRemoved = true;
    }
  }
  return result;
}
