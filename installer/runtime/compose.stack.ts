/**
 * A stack as the Compose runtime drives it: the install root, its manifest, a Docker client
 * (negotiated API version) and the Compose CLI bound to the project. The console opens one
 * (console/ops/stack.ts `openStack`) and passes it to each op.
 */
import type Docker from 'dockerode';
import type { Manifest } from '../manifest/manifest.js';
import type { ComposeCli } from './compose.cli.js';
import { listStackContainers, type StackContainer } from './stack.containers.js';

/** An installed stack, ready for operations. */
export interface Stack {
  /** Absolute install root. */
  root: string;
  /** carebox.json as read when the stack was opened (ops that change it return the new one). */
  manifest: Manifest;
  docker: Docker;
  compose: ComposeCli;
  /** Environment for child processes (Compose) and DOCKER_HOST. */
  env: NodeJS.ProcessEnv;
}

/** The containers of one service (one-off `run` containers excluded), by replica number. */
export async function serviceContainers(stack: Pick<Stack, 'docker' | 'manifest'>, service: string): Promise<StackContainer[]> {
  return (await listStackContainers(stack.docker, stack.manifest.project)).filter((c) => c.service === service);
}
