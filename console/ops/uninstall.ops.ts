import { rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { ComposeCli } from '../../installer/apply/compose.cli.js';
import { LABEL_PROJECT } from '../../installer/apply/stack.containers.js';
import type { ComposeFact } from '../../installer/detect/host-facts.js';

/** What uninstall removed. */
export interface UninstallResult {
  containers: number;
  networks: number;
  volumes: number;
  rootRemoved: boolean;
}

/**
 * Stop and remove the stack: `compose down` when compose.yml is there, then a sweep by the
 * project label for anything left (a hand-deleted compose.yml, one-off containers).
 * Data volumes and the install root are kept unless `purge`.
 */
export async function uninstallStack(
  docker: Docker,
  compose: ComposeFact,
  project: string,
  root: string,
  opts: { purge: boolean; env?: NodeJS.ProcessEnv; onProgress?: (m: string) => void },
): Promise<UninstallResult> {
  const label = `${LABEL_PROJECT}=${project}`;
  const result: UninstallResult = { containers: 0, networks: 0, volumes: 0, rootRemoved: false };
  const before = await docker.listContainers({ all: true, filters: { label: [label] } });
  const networksBefore = await docker.listNetworks({ filters: { label: [label] } });
  const volumesBefore = opts.purge ? ((await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []) : [];
  if (existsSync(join(root, 'compose.yml')) && existsSync(join(root, '.env'))) {
    opts.onProgress?.('docker compose down');
    await new ComposeCli(compose, project, root, opts.env).down({ volumes: opts.purge, onOutput: (s) => s.split('\n').filter(Boolean).forEach((l) => opts.onProgress?.(l.trim())) });
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
    await rm(root, { recursive: true, force: true });
    result.rootRemoved = true;
  }
  return result;
}
