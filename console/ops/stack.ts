/**
 * What every console operation works on: the install root, its manifest, a Docker client
 * (negotiated API version) and the Compose CLI bound to the project. The dashboard opens one
 * Stack and passes it to each op; the CLI verbs open one per run.
 */
import { ComposeCli } from '../../installer/runtime/compose.cli.js';
import type { Stack } from '../../installer/runtime/compose.stack.js';
import { connectDocker } from '../../installer/runtime/docker.connect.js';
import { detectCompose } from '../../installer/detect/compose.detect.js';
import { UsageError } from '../../installer/errors.js';
import { requireManifest, type Manifest } from '../../installer/manifest/manifest.js';
import { expectedReplicas } from '../../installer/plan/stack.services.js';

/**
 * Open the stack installed at `root`.
 * @throws OperationError when there is no install there, or Docker/Compose cannot be used (with
 *   an actionable message: permission denied → docker group; not running → start it).
 */
export async function openStack(root: string, env: NodeJS.ProcessEnv = process.env): Promise<Stack> {
  const manifest = await requireManifest(root);
  const { docker } = await connectDocker(env);
  const compose = new ComposeCli(await detectCompose({ env }), manifest.project, root, env);
  return { root, manifest, docker, compose, env };
}

/** The services of a stack, in start order (installer/plan/stack.services.ts). */
export function stackServices(m: Manifest): string[] {
  return Object.keys(expectedReplicas(m.plan, m.images));
}

/**
 * Validate a service name against the stack.
 * @throws UsageError naming the services there are.
 */
export function assertService(m: Manifest, service: string): void {
  const all = stackServices(m);
  if (!all.includes(service)) throw new UsageError(`unknown service '${service}'`, `services of this stack: ${all.join(', ')}`);
}

// Moved below the console (installer/runtime, installer/apply/steps.ts); re-exported so the ops keep one import.
export { serviceContainers, type Stack } from '../../installer/runtime/compose.stack.js';
export { LOCK_FILE, withStackLock } from '../../installer/runtime/stack.lock.js';
export { silentReporter, step } from '../../installer/apply/steps.js';
