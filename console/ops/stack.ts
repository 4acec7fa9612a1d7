/**
 * What every console operation works on: the install root, its manifest, a Docker client
 * (negotiated API version) and the Compose CLI bound to the project. The dashboard opens one
 * Stack and passes it to each op; the CLI verbs open one per run.
 */
import type Docker from 'dockerode';
import { ComposeCli } from '../../installer/apply/compose.cli.js';
import { connectDocker } from '../../installer/apply/docker.connect.js';
import { listStackContainers, type StackContainer } from '../../installer/apply/stack.containers.js';
import type { StepReporter } from '../../installer/apply/steps.js';
import { detectCompose } from '../../installer/detect/compose.detect.js';
import { UsageError } from '../../installer/errors.js';
import { requireManifest, type Manifest } from '../../installer/manifest/manifest.js';
import { expectedReplicas } from '../../installer/plan/stack.services.js';

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

/** A StepReporter that reports nothing (tests, callers that only want the result). */
export const silentReporter: StepReporter = {
  start: () => undefined,
  progress: () => undefined,
  succeed: () => undefined,
  fail: () => undefined,
  skip: () => undefined,
};

/**
 * Run one step through a reporter: start, progress, succeed with the returned summary, or fail and
 * rethrow. For ops whose steps depend on earlier results (so a fixed step list does not fit).
 */
export async function step<T>(
  reporter: StepReporter,
  id: string,
  title: string,
  fn: (progress: (m: string) => void) => Promise<T>,
  summary?: (r: T) => string,
): Promise<T> {
  reporter.start(id, title);
  try {
    const r = await fn((m) => reporter.progress(id, m));
    reporter.succeed(id, summary ? summary(r) : typeof r === 'string' ? r : null);
    return r;
  } catch (err) {
    reporter.fail(id, err);
    throw err;
  }
}

/** The containers of one service (one-off `run` containers excluded), by replica number. */
export async function serviceContainers(stack: Pick<Stack, 'docker' | 'manifest'>, service: string): Promise<StackContainer[]> {
  return (await listStackContainers(stack.docker, stack.manifest.project)).filter((c) => c.service === service);
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

export { LOCK_FILE, withStackLock } from '../../installer/apply/stack.lock.js';
