import Docker from 'dockerode';
import { detectDocker, dockerEndpoint, dockerOptions } from '../detect/docker.detect.js';
import type { DockerFact } from '../detect/host-facts.js';
import { OperationError } from '../errors.js';

/** A dockerode client pinned to the negotiated API version, plus what detect learned. */
export interface DockerConnection {
  docker: Docker;
  fact: DockerFact;
}

/**
 * Connect to the Docker engine for operations (apply, console): detect it, negotiate the API
 * version, and build a client without a socket timeout (image loads and log streams run long;
 * callers bound their own waits).
 * @throws OperationError with an actionable message (permission denied → docker group; not running
 *   → start it) when the engine cannot be used. Never a stack trace.
 */
export async function connectDocker(env: NodeJS.ProcessEnv = process.env, fact?: DockerFact): Promise<DockerConnection> {
  const f = fact ?? (await detectDocker({ env }));
  if (!f.reachable || !f.negotiatedApiVersion || f.error) {
    throw new OperationError(
      `Docker engine unavailable: ${f.error ?? 'not reachable'}`,
      'Carebox needs a running Docker engine it may use (root or the docker group)',
    );
  }
  const ep = dockerEndpoint(env);
  if (!ep.ok) throw new OperationError(ep.reason);
  const opts = dockerOptions(ep.value, f.negotiatedApiVersion, 0);
  delete opts.timeout;
  return { docker: new Docker(opts), fact: f };
}
