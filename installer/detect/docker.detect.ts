/**
 * Docker engine facts through its API socket (dockerode): versions, API versions, data root,
 * cgroup driver and version, Swarm state, and why the engine cannot be used when it cannot.
 *
 * Version negotiation, as the Docker CLI does it: `/version` is asked without a version prefix
 * (every engine answers that), then the client is pinned to min(engine `ApiVersion`, the newest
 * version Carebox knows), so an older distro engine never answers "client version is too new".
 */
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import type { DockerFact } from './host-facts.js';
import { malformed, parsed, type Parsed } from './parse-result.js';
import { DetectTimeoutError } from './timeout.js';

/** Newest Docker API version Carebox has been written against (Docker 27). Never sent to an older engine. */
export const CLIENT_MAX_API_VERSION = '1.47';

/** Where the engine listens, from `DOCKER_HOST` or the default socket. */
export interface DockerEndpoint {
  /** For messages and `DockerFact.endpoint`: a socket path or `tcp://host:port`. */
  endpoint: string;
  socketPath?: string;
  host?: string;
  port?: string;
  protocol?: 'http' | 'https';
  /** Directory with ca.pem, cert.pem and key.pem (`DOCKER_CERT_PATH`) when TLS is on. */
  certPath?: string;
}

/**
 * Reads `DOCKER_HOST` the way the Docker CLI does: unset → `/var/run/docker.sock`;
 * `unix:///path`; `tcp://host:port` (https when `DOCKER_TLS_VERIFY=1` or port 2376, with
 * certificates from `DOCKER_CERT_PATH`). Pure.
 *
 * @returns the endpoint, or `ok: false` for schemes Carebox does not drive (ssh://, npipe://)
 *   and unparseable values.
 */
export function dockerEndpoint(env: NodeJS.ProcessEnv = process.env): Parsed<DockerEndpoint> {
  const raw = (env.DOCKER_HOST ?? '').trim();
  if (raw === '') return parsed({ endpoint: '/var/run/docker.sock', socketPath: '/var/run/docker.sock' });
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length) || '/var/run/docker.sock';
    return parsed({ endpoint: socketPath, socketPath });
  }
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `tcp://${raw}`);
  } catch {
    return malformed(`DOCKER_HOST '${raw}' is not a URL; use unix:///var/run/docker.sock or tcp://HOST:PORT`);
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    return malformed(`DOCKER_HOST '${raw}' uses ${url.protocol}//, which Carebox does not support; use a unix socket or tcp://`);
  }
  const port = url.port || (env.DOCKER_TLS_VERIFY === '1' ? '2376' : '2375');
  const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || port === '2376';
  const ep: DockerEndpoint = { endpoint: `tcp://${url.hostname}:${port}`, host: url.hostname, port, protocol: tls ? 'https' : 'http' };
  if (tls && env.DOCKER_CERT_PATH) ep.certPath = env.DOCKER_CERT_PATH;
  return parsed(ep);
}

/** Compares dotted API versions numerically: `1.9` < `1.41` < `1.43`. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * Picks the API version to talk to an engine with: min(engine max, client max), raised to the
 * engine's minimum when the engine no longer accepts anything that old (engines from Docker 25
 * on refuse versions below their `MinAPIVersion`).
 *
 * @param engineMax the engine's `ApiVersion`, e.g. `1.41`.
 * @param engineMin the engine's `MinAPIVersion`, e.g. `1.12`, or null when unknown.
 * @param clientMax the newest version the client knows (default {@link CLIENT_MAX_API_VERSION}).
 */
export function negotiateApiVersion(engineMax: string, engineMin: string | null, clientMax: string = CLIENT_MAX_API_VERSION): string {
  const v = compareApiVersions(engineMax, clientMax) < 0 ? engineMax : clientMax;
  return engineMin !== null && compareApiVersions(v, engineMin) < 0 ? engineMin : v;
}

/**
 * Turns a connection or API error into one actionable sentence for the operator (no stack trace).
 *
 * @param err whatever dockerode or the socket threw.
 * @param endpoint socket path or tcp URL, for the message.
 * @param timeoutMs the bound that applied, for timeout messages.
 */
export function describeDockerError(err: unknown, endpoint: string, timeoutMs: number): string {
  const e = (err ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown; json?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const isSocket = endpoint.startsWith('/');
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied on the Docker socket ${endpoint}: add your user to the docker group (sudo usermod -aG docker "$USER", then log in again) or run as root`;
    case 'ENOENT':
      return `no Docker socket at ${endpoint}: Docker is not installed or not running; install it (apt-get install docker.io) and start it (sudo systemctl start docker), or set DOCKER_HOST`;
    case 'ECONNREFUSED':
      return isSocket
        ? `the Docker socket ${endpoint} refuses connections: the engine is not running; start it (sudo systemctl start docker)`
        : `the Docker engine at ${endpoint} refuses connections: check that dockerd listens there, or unset DOCKER_HOST`;
    case 'ETIMEDOUT':
    case 'ABORT_ERR':
      return `the Docker engine at ${endpoint} did not answer within ${timeoutMs} ms: check that dockerd is healthy (sudo systemctl status docker)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
      return `cannot reach the Docker engine at ${endpoint} (${code}): check DOCKER_HOST`;
    default:
      break;
  }
  const firstLine = String(typeof e.message === 'string' ? e.message : err).split('\n')[0] ?? '';
  if (typeof e.statusCode === 'number') {
    return `the Docker engine at ${endpoint} answered HTTP ${e.statusCode}: ${firstLine}`;
  }
  return `cannot use the Docker engine at ${endpoint}: ${firstLine}${code ? ` (${code})` : ''}`;
}

/**
 * Builds dockerode options for an endpoint. Reads the TLS certificates when the endpoint has a
 * cert path (the only I/O here); `version` is the API version without the `v` (e.g. `1.41`).
 *
 * @throws Error when the TLS certificate files cannot be read.
 */
export function dockerOptions(ep: DockerEndpoint, version: string | null, timeoutMs: number): Docker.DockerOptions {
  // `host: undefined` matters: docker-modem merges its own reading of process.env.DOCKER_HOST
  // under these options, and a host there would win over our socket path.
  const opts: Docker.DockerOptions =
    ep.socketPath !== undefined ? { socketPath: ep.socketPath, host: undefined } : { host: ep.host, port: ep.port, protocol: ep.protocol ?? 'http' };
  if (ep.certPath !== undefined) {
    opts.ca = readFileSync(`${ep.certPath}/ca.pem`);
    opts.cert = readFileSync(`${ep.certPath}/cert.pem`);
    opts.key = readFileSync(`${ep.certPath}/key.pem`);
  }
  // A backstop: the abort signal below normally ends the request first.
  opts.timeout = timeoutMs + 1000;
  if (version !== null) opts.version = `v${version}`;
  return opts;
}

/**
 * Runs one Docker API call with an abort signal that fires after `ms`; a fired signal becomes a
 * {@link DetectTimeoutError} (code ETIMEDOUT) and the socket is closed at once.
 */
export async function callWithTimeout<T>(call: (signal: AbortSignal) => Promise<T>, ms: number, what: string): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  timer.unref();
  try {
    return await call(ac.signal);
  } catch (err) {
    if (ac.signal.aborted) throw new DetectTimeoutError(what, ms);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** dockerode's typings omit the options argument that carries `abortSignal`; its code accepts it. */
type WithSignal<T> = (opts: { abortSignal: AbortSignal }) => Promise<T>;

/** The fields of `/info` that detect reads. */
interface EngineInfo {
  DockerRootDir?: unknown;
  CgroupDriver?: unknown;
  CgroupVersion?: unknown;
  Swarm?: { LocalNodeState?: unknown; ControlAvailable?: unknown };
}

/** Options for {@link detectDocker}. */
export interface DockerDetectOptions {
  /** Environment to read `DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH` from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Bound for each API call, ms (default 3000); the whole detection takes at most twice this. */
  timeoutMs?: number;
}

/**
 * Asks the engine for `/version`, negotiates the API version, then asks `/info`.
 *
 * @returns the engine facts; when the engine cannot be used, `reachable: false` (or true with
 *   `/info` failing) and `error` says why and what to do. Never throws.
 */
export async function detectDocker(opts: DockerDetectOptions = {}): Promise<DockerFact> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const ep = dockerEndpoint(opts.env ?? process.env);
  const fact: DockerFact = {
    reachable: false,
    endpoint: ep.ok ? ep.value.endpoint : ((opts.env ?? process.env).DOCKER_HOST ?? ''),
    engineVersion: null,
    apiVersion: null,
    minApiVersion: null,
    dataRoot: null,
    cgroupDriver: null,
    cgroupVersion: null,
    swarmActive: false,
    error: null,
    negotiatedApiVersion: null,
    swarmNodeState: null,
  };
  if (!ep.ok) return { ...fact, error: ep.reason };
  const endpoint = ep.value.endpoint;

  let version: Docker.DockerVersion;
  try {
    const unversioned = new Docker(dockerOptions(ep.value, null, timeoutMs));
    version = await callWithTimeout(
      (signal) => (unversioned.version as unknown as WithSignal<Docker.DockerVersion>).call(unversioned, { abortSignal: signal }),
      timeoutMs,
      `Docker /version at ${endpoint}`,
    );
  } catch (err) {
    return { ...fact, error: describeDockerError(err, endpoint, timeoutMs) };
  }
  if (typeof version?.ApiVersion !== 'string' || typeof version.Version !== 'string') {
    return { ...fact, error: `the service at ${endpoint} answered /version without Version/ApiVersion: it does not look like a Docker engine` };
  }
  const minApi = typeof version.MinAPIVersion === 'string' ? version.MinAPIVersion : null;
  const negotiated = negotiateApiVersion(version.ApiVersion, minApi);
  const reached: DockerFact = {
    ...fact,
    reachable: true,
    engineVersion: version.Version,
    apiVersion: version.ApiVersion,
    minApiVersion: minApi,
    negotiatedApiVersion: negotiated,
  };

  let info: EngineInfo;
  try {
    const client = new Docker(dockerOptions(ep.value, negotiated, timeoutMs));
    info = await callWithTimeout(
      (signal) => (client.info as unknown as WithSignal<EngineInfo>).call(client, { abortSignal: signal }),
      timeoutMs,
      `Docker /info at ${endpoint}`,
    );
  } catch (err) {
    return { ...reached, error: `/version answered but /info failed: ${describeDockerError(err, endpoint, timeoutMs)}` };
  }
  const cgroupVersion = String(info.CgroupVersion ?? '');
  const nodeState = typeof info.Swarm?.LocalNodeState === 'string' ? info.Swarm.LocalNodeState : null;
  return {
    ...reached,
    dataRoot: typeof info.DockerRootDir === 'string' ? info.DockerRootDir : null,
    cgroupDriver: typeof info.CgroupDriver === 'string' ? info.CgroupDriver : null,
    // Engines before API 1.40 do not report it; they only ran cgroup v1.
    cgroupVersion: cgroupVersion === '2' ? 2 : cgroupVersion === '1' ? 1 : null,
    swarmActive: nodeState === 'active' && info.Swarm?.ControlAvailable === true,
    swarmNodeState: nodeState,
  };
}

/**
 * A dockerode client pinned to the API version detect negotiated, for later reads (ports,
 * console). Null when the engine was not reachable or the endpoint cannot be built.
 */
export function dockerClient(fact: DockerFact, env: NodeJS.ProcessEnv = process.env, timeoutMs = 3000): Docker | null {
  if (!fact.reachable || !fact.negotiatedApiVersion) return null;
  const ep = dockerEndpoint(env);
  if (!ep.ok) return null;
  try {
    return new Docker(dockerOptions(ep.value, fact.negotiatedApiVersion, timeoutMs));
  } catch {
    return null;
  }
}
